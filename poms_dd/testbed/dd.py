"""The Data Dispatcher 2.0.3 data server as its client sees it (PROTOCOLS §1.2–§1.5, §6, §7).

Every JSON answer is ``Content-Type: text/json`` (anything else reaches the DD client as a raw string);
errors are short plain-text bodies.  Quirk decisions are listed in ``poms_dd/testbed/README.md``.
"""
from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlparse

from flask import Blueprint, Response, request

from . import dd_query, tokens
from .store import FINAL_HANDLE_STATES, RSE, Handle, Project, Replica, Store, current_store

bp = Blueprint("testbed_dd", __name__)
VERSION = "2.0.3"


class DDError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@bp.errorhandler(DDError)
def _dd_error(err: DDError) -> Response:
    return Response(err.message, status=err.status, content_type="text/plain")


def _js(obj: Any) -> Response:
    return Response(json.dumps(obj), status=200, headers={"Content-Type": "text/json"})


def _yes(name: str, default: str = "no") -> bool:
    return request.args.get(name, default).lower() in ("yes", "true", "1", "on")


def _body() -> dict:
    try:
        data = json.loads(request.get_data() or b"{}")
    except ValueError:
        raise DDError(400, "Request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise DDError(400, "Request body must be a JSON object")
    return data


def _user(store: Store) -> str:
    user = tokens.caller(store)
    if user is None:
        raise DDError(401, "Authentication required")
    return user


def _is_admin(store: Store, user: str) -> bool:
    acc = store.accounts.get(user)
    return bool(acc and acc.admin)


def _project(store: Store, pid: Any) -> Project:
    if pid in (None, ""):
        raise DDError(400, "Project id must be specified")
    try:
        p = store.projects.get(int(pid))
    except (TypeError, ValueError):
        raise DDError(400, f"Invalid project id {pid!r}") from None
    if p is None:
        raise DDError(404, "Project not found")
    return p


def _owner_or_admin(store: Store, p: Project, user: str) -> None:
    if user != p.owner and not _is_admin(store, user):
        raise DDError(403, "Not authorized")


# ---------------------------------------------------------------- JSON shapes (§1.3)

def rse_json(r: RSE) -> dict:
    return {"name": r.name, "description": r.description, "is_available": r.is_available, "is_tape": r.is_tape,
            "pin_url": r.pin_url, "poll_url": r.poll_url, "remove_prefix": r.remove_prefix,
            "add_prefix": r.add_prefix, "pin_prefix": r.pin_prefix, "preference": r.preference,
            "is_enabled": r.is_enabled, "type": r.rse_type.lower()}


def replica_json(store: Store, rep: Replica, rse: RSE, namespace: str) -> dict:
    url = store.pfn(rep)
    return {"name": rep.name, "namespace": namespace, "path": urlparse(url).path, "rse": rep.rse, "url": url,
            "urls": [url], "preference": rse.preference,
            "available": rep.state == "AVAILABLE" and not rse.is_tape,   # tape: unavailable until pinned
            "rse_available": rse.is_available}


def replicas_of(store: Store, h: Handle) -> dict[str, dict]:
    out = {}
    for rse_name, rep in store.replicas.get(h.did, {}).items():
        rse = store.rses.get(rse_name)
        if rse is not None and rse.is_enabled:
            out[rse_name] = replica_json(store, rep, rse, h.namespace)
    return out


def handle_json(store: Store, pid: int, h: Handle, with_replicas: bool = False) -> dict:
    d = {"project_id": pid, "namespace": h.namespace, "name": h.name, "state": h.state, "worker_id": h.worker_id,
         "attempts": h.attempts, "attributes": h.attributes, "reserved_since": h.reserved_since}
    if with_replicas:
        d["replicas"] = replicas_of(store, h)
    return d


def project_json(store: Store, p: Project, with_handles: bool = False, with_replicas: bool = False) -> dict:
    d = {"project_id": p.project_id, "owner": p.owner, "state": p.state, "retry_count": None,
         "attributes": p.attributes, "created_timestamp": p.created_timestamp, "ended_timestamp": p.ended_timestamp,
         "active": p.state == "active" and not p.all_final(), "query": p.query,
         "worker_timeout": p.worker_timeout, "idle_timeout": p.idle_timeout, "users": p.users, "roles": p.roles}
    if with_handles or with_replicas:
        d["file_handles"] = [handle_json(store, p.project_id, h, with_replicas) for h in p.handles]
    return d


# ---------------------------------------------------------------- projects

def _timeout(value: Any, default: float | None) -> float | None:
    if value in (None, "default"):
        return default
    if value == "no timeout":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise DDError(400, f"Invalid timeout {value!r}") from None


def _handles_from(files: Any) -> list[Handle]:
    if not isinstance(files, list):
        raise DDError(400, "files must be a list")
    handles, seen = [], set()
    for f in files:
        if isinstance(f, str) and ":" in f:
            ns, name = f.split(":", 1)
            attrs: dict = {}
        elif isinstance(f, dict) and f.get("namespace") and f.get("name"):
            ns, name, attrs = f["namespace"], f["name"], dict(f.get("attributes") or {})
        else:
            raise DDError(400, f"Invalid file specification: {f!r}")
        did = f"{ns}:{name}"
        if did in seen:
            raise DDError(400, f"Duplicate file in the project: {did}")
        seen.add(did)
        handles.append(Handle(ns, name, attributes=attrs))
    return handles


def new_project(store: Store, owner: str, handles: list[Handle], *, attributes: dict, query: str | None,
                worker_timeout: float | None, idle_timeout: float | None, users: list, roles: list) -> Project:
    now = store.now()
    p = Project(store.next_project_id, owner, attributes=attributes, created_timestamp=now, query=query,
                worker_timeout=worker_timeout, idle_timeout=idle_timeout, users=list(users or []),
                roles=list(roles or []), handles=handles, last_activity=now)
    p.index_handles()
    store.next_project_id += 1
    store.projects[p.project_id] = p
    store.touch()
    return p


@bp.route("/version")
def version() -> Response:
    return Response(VERSION, content_type="text/plain")


@bp.route("/create_project", methods=["POST"])
def create_project() -> Response:
    store = current_store()
    user = _user(store)
    data = _body()
    handles = _handles_from(data.get("files", []))
    attrs = data.get("project_attributes") or {}
    if not isinstance(attrs, dict):
        raise DDError(400, "project_attributes must be a dictionary")
    with store.lock:
        p = new_project(store, user, handles, attributes=attrs, query=data.get("query"),
                        worker_timeout=_timeout(data.get("worker_timeout"), None),
                        idle_timeout=_timeout(data.get("idle_timeout"), None),
                        users=data.get("users") or [], roles=data.get("roles") or [])
        return _js(project_json(store, p, with_handles=True))


@bp.route("/copy_project", methods=["POST"])
def copy_project() -> Response:
    store = current_store()
    user = _user(store)
    data = _body()
    with store.lock:
        orig = _project(store, data.get("project_id"))
        extra = data.get("file_attributes") or {}
        handles = [Handle(h.namespace, h.name, attributes={**h.attributes, **extra}) for h in orig.handles]
        p = new_project(store, user, handles, attributes={**orig.attributes, **(data.get("project_attributes") or {})},
                        query=orig.query, worker_timeout=_timeout(data.get("worker_timeout"), orig.worker_timeout),
                        idle_timeout=_timeout(data.get("idle_timeout"), orig.idle_timeout),
                        users=[], roles=[])                   # 2.0.3 drops users and roles (mirrored)
        return _js(project_json(store, p, with_handles=True))


@bp.route("/project")
def project() -> Response:
    store = current_store()
    with store.lock:
        p = _project(store, request.args.get("project_id"))
        return _js(project_json(store, p, _yes("with_files", "yes"), _yes("with_replicas", "yes")))


def json_contains(have: Any, want: Any) -> bool:
    """JSONB ``@>`` containment, type-exact (``"12"`` does not contain ``12``; ``true`` is not ``1``)."""
    if isinstance(want, dict):
        return isinstance(have, dict) and all(k in have and json_contains(have[k], v) for k, v in want.items())
    if isinstance(want, list):
        return isinstance(have, list) and all(any(json_contains(h, w) for h in have) for w in want)
    if isinstance(have, list) and not isinstance(want, (dict, list)):
        return any(json_contains(h, want) for h in have if not isinstance(h, (dict, list)))
    if isinstance(want, bool) or isinstance(have, bool):
        return isinstance(want, bool) and isinstance(have, bool) and want == have
    if isinstance(want, (int, float)):
        return isinstance(have, (int, float)) and have == want
    return type(have) is type(want) and have == want


@bp.route("/projects")
def projects() -> Response:
    store = current_store()
    user = _user(store)
    owner = request.args.get("owner") or user
    # 2.0.3: a missing state / not_state means no filter (the client sends both unless passed None);
    # the server compares state by equality, so "all" matches nothing (the ddisp CLI loops over the states)
    state = request.args.get("state") or None
    not_state = request.args.get("not_state") or None
    attrs = json.loads(request.args["attributes"]) if request.args.get("attributes") else {}
    with_handles, with_replicas = _yes("with_handles", "yes"), _yes("with_replicas")
    with store.lock:
        out = [project_json(store, p, with_handles, with_replicas) for p in store.projects.values()
               if (owner == "all" or p.owner == owner) and (state is None or p.state == state)
               and (not_state is None or p.state != not_state) and json_contains(p.attributes, attrs)]
    return _js(out)


@bp.route("/search_projects", methods=["POST"])
def search_projects() -> Response:
    store = current_store()
    data = _body()
    tree = dd_query.parse(data.get("query") or "")      # a syntax error is a 500, as on the 2.0.3 server
    with store.lock:
        out = []
        for p in store.projects.values():
            if not dd_query.matches(tree, p.attributes):
                continue
            if "state" in data and p.state != data["state"]:
                continue
            if "owner" in data and p.owner != data["owner"]:
                continue
            out.append(project_json(store, p, bool(data.get("with_handles")), bool(data.get("with_replicas"))))
    return _js(out)


def _set_state(store: Store, state: str) -> Response:
    user = _user(store)
    with store.lock:
        p = _project(store, request.args.get("project_id"))
        _owner_or_admin(store, p, user)
        now = store.now()
        if state == "cancelled":
            if p.state != "cancelled":    # 2.0.3 DBProject.cancel(): a second cancel keeps the first end time
                p.state, p.ended_timestamp = "cancelled", now
        else:
            p.state = "active"            # 2.0.3 keeps ended_timestamp (mirrored)
        p.last_activity = now
        store.touch()
        return _js(project_json(store, p, True, True))


@bp.route("/cancel_project")
def cancel_project() -> Response:
    return _set_state(current_store(), "cancelled")


@bp.route("/activate_project")
def activate_project() -> Response:
    return _set_state(current_store(), "active")


@bp.route("/delete_project")
def delete_project() -> Response:
    store = current_store()
    user = _user(store)
    with store.lock:
        p = _project(store, request.args.get("project_id"))
        _owner_or_admin(store, p, user)
        del store.projects[p.project_id]
        store.touch()
    return _js(None)


@bp.route("/restart_handles", methods=["POST"])
def restart_handles() -> Response:
    store = current_store()
    user = _user(store)
    data = _body()
    with store.lock:
        p = _project(store, data.get("project_id"))
        _owner_or_admin(store, p, user)
        if data.get("handles"):
            idx = [p.handle_index[d] for d in data["handles"] if d in p.handle_index]
        else:
            states = {s for s in ("done", "failed", "reserved", "initial") if data.get(s)}
            idx = [i for i, h in enumerate(p.handles) if h.state in states]
        for i in idx:
            h = p.set_handle_state(i, "initial")
            h.worker_id = None
        if p.state != "active" and not p.all_final():
            p.state, p.ended_timestamp = "active", None
        p.last_activity = store.now()
        store.touch()
        return _js(project_json(store, p, True, True))


@bp.route("/handles")
def list_handles() -> Response:
    store = current_store()
    state, not_state = request.args.get("state"), request.args.get("not_state")
    with store.lock:
        p = _project(store, request.args.get("project_id"))
        return _js([handle_json(store, p.project_id, h) for h in p.handles
                    if (not state or h.state == state) and (not not_state or h.state != not_state)])


from . import dd_workers  # noqa: E402,F401  (next_file, release and the RSE endpoints register on bp)
