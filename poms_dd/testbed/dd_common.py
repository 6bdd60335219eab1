"""What every Data Dispatcher endpoint of the testbed shares: ``DDError`` (a short plain-text error answer),
the ``text/json`` answer the DD client needs, request parsing, the caller and the project lookups."""
from __future__ import annotations

import json
from typing import Any

from flask import Response, request

from . import tokens
from .errors import TextError
from .store import Project, Store


class DDError(TextError):
    """An expected DD error answer: ``status`` with a plain-text ``message`` (as the 2.0.3 handlers return)."""


def js(obj: Any) -> Response:
    """A JSON answer as ``text/json`` (anything else reaches the DD client as a raw string)."""
    return Response(json.dumps(obj), status=200, headers={"Content-Type": "text/json"})


def yes(name: str, default: str = "no") -> bool:
    return request.args.get(name, default).lower() in ("yes", "true", "1", "on")


def body() -> dict:
    """The JSON object the DD client posted (without a Content-Type); DDError 400 otherwise."""
    try:
        data = json.loads(request.get_data() or b"{}")
    except ValueError:
        raise DDError(400, "Request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise DDError(400, "Request body must be a JSON object")
    return data


def caller_of(store: Store) -> str:
    """The authenticated caller; DDError 401 without a valid token."""
    name = tokens.caller(store)
    if name is None:
        raise DDError(401, "Authentication required")
    return name


def is_admin(store: Store, name: str) -> bool:
    acc = store.accounts.get(name)
    return bool(acc and acc.admin)


def project_of(store: Store, pid: Any) -> Project:
    """The project with id ``pid``; DDError 400 (missing or not a number) or 404."""
    if pid in (None, ""):
        raise DDError(400, "Project id must be specified")
    try:
        p = store.projects.get(int(pid))
    except (TypeError, ValueError):
        raise DDError(400, f"Invalid project id {pid!r}") from None
    if p is None:
        raise DDError(404, "Project not found")
    return p


def owner_or_admin(store: Store, p: Project, name: str) -> None:
    """DDError 403 unless ``name`` owns ``p`` or is an admin."""
    if name != p.owner and not is_admin(store, name):
        raise DDError(403, "Not authorized")
