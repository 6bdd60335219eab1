"""Test hooks under ``/_testbed`` (not part of any upstream protocol).

* ``POST seed?name=demo&files=N`` — forget everything and seed again; ``POST reset`` — back to the seed the
  server started with;
* ``POST rse?name=X[&available=yes|no][&enabled=yes|no][&type=DISK|TAPE]`` — create or change an RSE;
* ``POST tick?seconds=N`` — advance the clock by N seconds, then run the DD daemon's timeout rules once;
* ``GET state`` — a JSON summary; ``POST fault?service=dd|mc|rucio&status=500&delay=S&count=N&message=TEXT`` /
  ``DELETE fault`` (a 500 on mc/dd is webpie's Application error page with TEXT as the exception).
Parameters may come as query arguments or as a JSON body.
"""
from __future__ import annotations

import json

from flask import Blueprint, Response, current_app, request

from .seed import seed
from .store import RSE, Store, current_store

bp = Blueprint("testbed_hooks", __name__)
SERVICES = ("dd", "mc", "rucio")


def _params() -> dict:
    params = dict(request.args)
    if request.get_data():
        try:
            body = json.loads(request.get_data())
        except ValueError:
            body = None
        if isinstance(body, dict):
            params.update(body)
    return params


def _json(obj, status: int = 200) -> Response:
    return Response(json.dumps(obj), status=status, content_type="application/json")


def _flag(value) -> bool:
    return str(value).lower() in ("yes", "true", "1", "on")


def reseed(store: Store, name: str = "demo", files: int | None = None) -> None:
    """Forget all state and apply the named seed."""
    with store.lock:
        store.clear()
        seed(store, name, files)


def apply_timeouts(store: Store) -> dict:
    """One pass of the DD daemon: worker timeouts, then idle timeouts (PROTOCOLS §1.4); returns counts."""
    now = store.now()
    released = failed = abandoned = 0
    with store.lock:
        for p in store.projects.values():
            if p.state != "active":
                continue
            if p.worker_timeout is not None:
                retry = p.attributes.get("retry_on_timeout", "True") == "True"
                for i, h in enumerate(p.handles):
                    if h.state == "reserved" and h.reserved_since is not None \
                            and h.reserved_since + p.worker_timeout < now:
                        p.set_handle_state(i, "initial" if retry else "failed")
                        h.worker_id = None
                        h.attributes = {**h.attributes, "timeouts": h.attributes.get("timeouts", 0) + 1}
                        released += retry
                        failed += not retry
            if p.idle_timeout is not None and p.created_timestamp + p.idle_timeout < now \
                    and p.last_activity + p.idle_timeout < now:
                p.state = "abandoned"
                abandoned += 1
        store.touch()
    return {"released": released, "failed": failed, "abandoned": abandoned}


@bp.route("/seed", methods=["POST"])
def seed_hook() -> Response:
    p = _params()
    files = int(p["files"]) if p.get("files") not in (None, "") else None
    try:
        reseed(current_store(), p.get("name", "demo"), files)
    except ValueError as err:
        return Response(str(err), status=400, content_type="text/plain")
    return state()


@bp.route("/reset", methods=["POST"])
def reset() -> Response:
    name, files = current_app.config.get("TESTBED_SEED", ("demo", None))
    reseed(current_store(), name, files)
    return state()


@bp.route("/rse", methods=["POST"])
def rse_hook() -> Response:
    p = _params()
    store = current_store()
    name = p.get("name")
    if not name:
        return Response("name is required", status=400, content_type="text/plain")
    with store.lock:
        rse = store.rses.get(name)
        if rse is None:
            rse = store.rses[name] = RSE(name, str(p.get("type", "DISK")).upper(),
                                         url_prefix=f"root://{name.lower()}.example.org:1094/data")
        if "available" in p:
            rse.is_available = _flag(p["available"])
        if "enabled" in p:
            rse.is_enabled = _flag(p["enabled"])
        store.touch()
        return _json({"name": rse.name, "type": rse.rse_type, "available": rse.is_available,
                      "enabled": rse.is_enabled})


@bp.route("/tick", methods=["POST"])
def tick() -> Response:
    store = current_store()
    seconds = float(_params().get("seconds", 0))
    with store.lock:
        store.clock_offset += seconds
    result = apply_timeouts(store)
    return _json({"now": store.now(), **result})


@bp.route("/state")
def state() -> Response:
    store = current_store()
    with store.lock:
        return _json({
            "now": store.now(), "clock_offset": store.clock_offset, "accounts": sorted(store.accounts),
            "files": len(store.files_by_fid), "datasets": {k: len(d.fids) for k, d in store.datasets.items()},
            "named_queries": sorted(store.named_queries), "rses": {
                n: {"type": r.rse_type, "available": r.is_available, "enabled": r.is_enabled}
                for n, r in store.rses.items()},
            "replicated_files": len(store.replicas), "scopes": sorted(store.scopes),
            "projects": {p.project_id: {"state": p.state, "handles": len(p.handles), "final": p.n_final}
                         for p in store.projects.values()},
            "faults": store.faults})


@bp.route("/fault", methods=["POST", "DELETE"])
def fault() -> Response:
    store = current_store()
    p = _params()
    service = p.get("service")
    if service not in SERVICES and not (request.method == "DELETE" and not service):
        return Response(f"service must be one of {', '.join(SERVICES)}", status=400, content_type="text/plain")
    with store.lock:
        if request.method == "DELETE":
            if service:
                store.faults.pop(service, None)
            else:
                store.faults.clear()
        else:
            store.faults[service] = {"status": int(p["status"]) if p.get("status") else None,
                                     "delay": float(p.get("delay") or 0),
                                     "count": int(p["count"]) if p.get("count") else None,
                                     "message": p.get("message") or None}
        return _json(store.faults)
