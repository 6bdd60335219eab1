"""Data Dispatcher project endpoints (PROTOCOLS §1.2, §1.4): create / copy / get / list / search projects,
cancel / activate / delete, restart_handles and the deprecated ``handles`` list.

Quirks of 2.0.3 kept here: ``copy_project`` drops users and roles, ``activate_project`` keeps
``ended_timestamp``, a second ``cancel_project`` keeps the first end time, ``projects`` filters state by
equality and attributes by type-exact JSONB containment.
"""
from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, request

from . import dd_query
from .dd_common import DDError, body, caller_of, js, owner_or_admin, project_of, yes
from .dd_json import handle_json, project_json
from .store import Handle, Project, Store, current_store

bp = Blueprint("projects", __name__)


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


@bp.route("/create_project", methods=["POST"])
def create_project() -> Response:
    store = current_store()
    user = caller_of(store)
    data = body()
    handles = _handles_from(data.get("files", []))
    attrs = data.get("project_attributes") or {}
    if not isinstance(attrs, dict):
        raise DDError(400, "project_attributes must be a dictionary")
    with store.lock:
        p = new_project(store, user, handles, attributes=attrs, query=data.get("query"),
                        worker_timeout=_timeout(data.get("worker_timeout"), None),
                        idle_timeout=_timeout(data.get("idle_timeout"), None),
                        users=data.get("users") or [], roles=data.get("roles") or [])
        return js(project_json(store, p, with_handles=True))


@bp.route("/copy_project", methods=["POST"])
def copy_project() -> Response:
    store = current_store()
    user = caller_of(store)
    data = body()
    with store.lock:
        orig = project_of(store, data.get("project_id"))
        extra = data.get("file_attributes") or {}
        handles = [Handle(h.namespace, h.name, attributes={**h.attributes, **extra}) for h in orig.handles]
        p = new_project(store, user, handles, attributes={**orig.attributes, **(data.get("project_attributes") or {})},
                        query=orig.query, worker_timeout=_timeout(data.get("worker_timeout"), orig.worker_timeout),
                        idle_timeout=_timeout(data.get("idle_timeout"), orig.idle_timeout),
                        users=[], roles=[])                   # 2.0.3 drops users and roles (mirrored)
        return js(project_json(store, p, with_handles=True))


@bp.route("/project")
def project() -> Response:
    store = current_store()
    with store.lock:
        p = project_of(store, request.args.get("project_id"))
        return js(project_json(store, p, yes("with_files", "yes"), yes("with_replicas", "yes")))


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
    user = caller_of(store)
    owner = request.args.get("owner") or user
    # 2.0.3: a missing state / not_state means no filter (the client sends both unless passed None);
    # the server compares state by equality, so "all" matches nothing (the ddisp CLI loops over the states)
    state = request.args.get("state") or None
    not_state = request.args.get("not_state") or None
    attrs = json.loads(request.args["attributes"]) if request.args.get("attributes") else {}
    with_handles, with_replicas = yes("with_handles", "yes"), yes("with_replicas")
    with store.lock:
        out = [project_json(store, p, with_handles, with_replicas) for p in store.projects.values()
               if (owner == "all" or p.owner == owner) and (state is None or p.state == state)
               and (not_state is None or p.state != not_state) and json_contains(p.attributes, attrs)]
    return js(out)


@bp.route("/search_projects", methods=["POST"])
def search_projects() -> Response:
    store = current_store()
    data = body()
    tree = dd_query.parse(data.get("query") or "")      # a syntax error is a 500, as on the 2.0.3 server
    with store.lock:
        out = []
        for p in store.projects.values():
            if not dd_query.matches(tree, p.attributes, {"owner": p.owner, "state": p.state}):
                continue
            if "state" in data and p.state != data["state"]:
                continue
            if "owner" in data and p.owner != data["owner"]:
                continue
            out.append(project_json(store, p, bool(data.get("with_handles")), bool(data.get("with_replicas"))))
    return js(out)


def _managed(store: Store, user: str, pid: Any) -> Project:
    """The project ``pid`` if ``user`` may manage it (owner or admin); DDError 400/404/403."""
    p = project_of(store, pid)
    owner_or_admin(store, p, user)
    return p


def _set_state(store: Store, state: str) -> Response:
    user = caller_of(store)
    with store.lock:
        p = _managed(store, user, request.args.get("project_id"))
        now = store.now()
        if state == "cancelled":
            if p.state != "cancelled":    # 2.0.3 DBProject.cancel(): a second cancel keeps the first end time
                p.state, p.ended_timestamp = "cancelled", now
        else:
            p.state = "active"            # 2.0.3 keeps ended_timestamp (mirrored)
        p.last_activity = now
        store.touch()
        return js(project_json(store, p, True, True))


@bp.route("/cancel_project")
def cancel_project() -> Response:
    return _set_state(current_store(), "cancelled")


@bp.route("/activate_project")
def activate_project() -> Response:
    return _set_state(current_store(), "active")


@bp.route("/delete_project")
def delete_project() -> Response:
    store = current_store()
    user = caller_of(store)
    with store.lock:
        p = _managed(store, user, request.args.get("project_id"))
        del store.projects[p.project_id]
        store.touch()
    return js(None)


@bp.route("/restart_handles", methods=["POST"])
def restart_handles() -> Response:
    store = current_store()
    user = caller_of(store)
    data = body()
    with store.lock:
        p = _managed(store, user, data.get("project_id"))
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
        return js(project_json(store, p, True, True))


@bp.route("/handles")
def list_handles() -> Response:
    store = current_store()
    state, not_state = request.args.get("state"), request.args.get("not_state")
    with store.lock:
        p = project_of(store, request.args.get("project_id"))
        return js([handle_json(store, p.project_id, h) for h in p.handles
                    if (not state or h.state == state) and (not not_state or h.state != not_state)])
