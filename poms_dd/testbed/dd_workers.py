"""Data Dispatcher worker-side endpoints: ``next_file`` and ``release`` (PROTOCOLS §1.2, §1.4).

``next_file`` takes the lowest-attempts ``initial`` handle that has a replica on an enabled and available RSE
(any handle for a virtual project) from the project's per-attempts buckets; ``release`` finds its handle through
the did index, so neither scans every handle of a large project.
"""
from __future__ import annotations

from flask import Blueprint, Response, request

from .dd_common import DDError, caller_of, is_admin, js, project_of, yes
from .dd_json import handle_json, replica_json
from .errors import ServerError
from .store import Account, Handle, Project, Store, current_store

bp = Blueprint("workers", __name__)


def _may_reserve(store: Store, p: Project, user: str) -> bool:
    acc: Account | None = store.accounts.get(user)
    if acc is None:
        return False
    return acc.admin or user == p.owner or user in p.users or bool(set(acc.roles) & set(p.roles))


def _eligible(store: Store, h: Handle) -> bool:
    """2.0.3: some replica on an enabled and available RSE; the replica's own availability is not checked."""
    for rse_name in store.replicas.get(h.did, ()):
        rse = store.rses.get(rse_name)
        if rse is not None and rse.is_enabled and rse.is_available:
            return True
    return False


def _pick(store: Store, p: Project) -> int | None:
    virtual = bool(p.attributes.get("virtual"))
    for attempts in sorted(p.initial_by_attempts):
        for i in p.initial_by_attempts[attempts]:
            if virtual or _eligible(store, p.handles[i]):
                return i
    return None


def _proximity(store: Store, cpu_site: str, rse: str) -> int | None:
    prox = store.proximity.get((cpu_site, rse))
    return prox if prox is not None else store.proximity.get(("DEFAULT", rse))


@bp.route("/next_file")
def next_file() -> Response:
    store = current_store()
    user = caller_of(store)
    worker_id = request.args.get("worker_id")
    cpu_site = request.args.get("cpu_site") or "DEFAULT"
    with store.lock:
        p = project_of(store, request.args.get("project_id"))
        if p.state == "abandoned":
            p.state = "active"
        if p.state != "active":
            raise DDError(400, f"Inactive project. State={p.state}")
        if not _may_reserve(store, p, user):
            raise DDError(403, "Not authorized")
        i = _pick(store, p)
        if i is None:
            if p.all_final():
                return js({"handle": None, "reason": "project inactive", "retry": False})
            return js({"handle": None, "reason": "retry", "retry": True})
        now = store.now()
        h = p.set_handle_state(i, "reserved")
        h.attempts += 1
        h.worker_id, h.reserved_since = worker_id, now
        p.last_activity = now
        store.touch()
        out = handle_json(store, p.project_id, h)
        replicas = {}
        if not p.attributes.get("virtual"):
            for rse_name, rep in store.replicas.get(h.did, {}).items():
                rse = store.rses.get(rse_name)
                if rse is None or not rse.is_enabled:
                    continue
                r = replica_json(store, rep, rse, h.namespace)
                if r["available"] and r["rse_available"]:
                    r["proximity"] = r["preference"] = _proximity(store, cpu_site, rse_name)
                    replicas[rse_name] = r
        out["replicas"] = replicas
        out["project_attributes"] = p.attributes
        return js({"handle": out, "reason": "reserved", "retry": False})


@bp.route("/release")
def release() -> Response:
    store = current_store()
    handle_id = request.args.get("handle_id", "")
    parts = handle_id.split(":", 2)
    if len(parts) != 3:
        raise DDError(400, "Handle id must be specified as <project_id>:<namespace>:<name>")
    user = caller_of(store)
    with store.lock:
        p = project_of(store, parts[0])
        if user != p.owner and not is_admin(store, user):
            raise DDError(403, "Not authorized")
        if p.state == "abandoned":
            p.state = "active"
        i = p.handle_index.get(f"{parts[1]}:{parts[2]}")
        if i is None:
            # 2.0.3 dereferences None here and answers 500 (mirrored, PROTOCOLS §7/§8)
            raise ServerError("AttributeError: 'NoneType' object has no attribute 'WorkerID'")
        h = p.handles[i]
        worker_id = request.args.get("worker_id")
        if worker_id and h.worker_id != worker_id:     # before the state: a released handle has no worker (403)
            raise DDError(403, "Not authorized: wrong worker_id")
        if h.state != "reserved":
            raise DDError(404, "Handle not found or was not reserved")
        if not yes("failed"):
            p.set_handle_state(i, "done")
        elif yes("retry", "yes"):
            p.set_handle_state(i, "initial")
        else:
            p.set_handle_state(i, "failed")
        h.worker_id = None                # 2.0.3 DBFileHandle.done()/failed() clear the worker; reserved_since stays
        now = store.now()
        p.last_activity = now
        if p.all_final() and p.state == "active":
            p.state = "failed" if any(x.state == "failed" for x in p.handles) else "done"
            p.ended_timestamp = now
        store.touch()
        return js(handle_json(store, p.project_id, h))
