"""Data Dispatcher RSE endpoints (``rses``, ``get_rse``, ``set_rse_availability``; PROTOCOLS §1.2).

``rses`` lists enabled RSEs only (2.0.3); ``set_rse_availability`` for a non-admin answers 403 (2.0.3 returns
its error tuple reversed; fixed here, see README).
"""
from __future__ import annotations

from flask import Blueprint, Response, request

from .dd_common import DDError, caller_of, is_admin, js
from .dd_json import rse_json
from .store import current_store

bp = Blueprint("rses", __name__)


@bp.route("/rses")
def rses() -> Response:
    store = current_store()
    with store.lock:
        return js([rse_json(r) for r in store.rses.values() if r.is_enabled])


@bp.route("/get_rse")
def get_rse() -> Response:
    store = current_store()
    rse = store.rses.get(request.args.get("name", ""))
    if rse is None:
        raise DDError(404, "RSE not found")
    return js(rse_json(rse))


@bp.route("/set_rse_availability")
def set_rse_availability() -> Response:
    store = current_store()
    user = caller_of(store)
    if not is_admin(store, user):
        raise DDError(403, "Not authorized")          # 2.0.3 returns this tuple reversed; fixed here (README)
    available = request.args.get("available", "")
    if available not in ("yes", "no"):
        raise DDError(400, "available must be yes or no")
    with store.lock:
        rse = store.rses.get(request.args.get("name", ""))
        if rse is None:
            raise DDError(404, "RSE not found")
        rse.is_available = available == "yes"
        store.touch()
        return js(rse_json(rse))
