"""The Rucio 41.5.1 REST API subset the clients use (PROTOCOLS §4, §6, §8, §9).

Responses are ``application/json`` or ``application/x-json-stream`` exactly (no charset).  Errors carry the
``ExceptionClass`` / ``ExceptionMessage`` headers and the same as a JSON body.  Every endpoint except the
``auth/*`` ones needs a known ``X-Rucio-Auth-Token``; an unknown one gets 401 so the client logs in again.
Replicas are the store's, so Data Dispatcher sees replicas added here immediately.
"""
from __future__ import annotations

import json
import secrets
from typing import Any, Iterable

from flask import Blueprint, Response, request

from .auth import check_password
from .store import Replica, Store, current_store

bp = Blueprint("testbed_rucio", __name__)
VERSION = "41.5.1"
TOKEN_LIFETIME = 3600.0
MAX_DIDS = 1000


class RucioError(Exception):
    def __init__(self, status: int, cls: str, message: str) -> None:
        super().__init__(message)
        self.status, self.cls, self.message = status, cls, message


@bp.errorhandler(RucioError)
def _rucio_error(err: RucioError) -> Response:
    body = json.dumps({"ExceptionClass": err.cls, "ExceptionMessage": err.message})
    return Response(body, status=err.status, headers={"Content-Type": "application/json",
                                                       "ExceptionClass": err.cls, "ExceptionMessage": err.message})


def _json(obj: Any, status: int = 200) -> Response:
    return Response(json.dumps(obj), status=status, headers={"Content-Type": "application/json"})


def _stream(items: Iterable[dict]) -> Response:
    body = "".join(json.dumps(i) + "\n" for i in items)
    return Response(body, headers={"Content-Type": "application/x-json-stream"})


def _created() -> Response:
    return Response("Created", status=201, headers={"Content-Type": "text/plain"})


def _body() -> Any:
    try:
        return json.loads(request.get_data() or b"{}")
    except ValueError:
        raise RucioError(400, "InvalidValueSupplied", "cannot decode json parameter") from None


@bp.before_request
def _require_token() -> None:
    if request.endpoint and request.endpoint.endswith((".auth_userpass", ".auth_x509")):
        return
    store = current_store()
    token = request.headers.get("X-Rucio-Auth-Token", "")
    entry = store.rucio_tokens.get(token)
    if entry is None or entry[1] < store.now():
        raise RucioError(401, "CannotAuthenticate", "Cannot authenticate with given credentials")
    request.environ["testbed.rucio_account"] = entry[0]


def _issue(store: Store, account: str) -> Response:
    token = f"{account}-testbed-{secrets.token_hex(16)}"
    expires = store.now() + TOKEN_LIFETIME
    with store.lock:
        store.rucio_tokens[token] = (account, expires)
    from email.utils import formatdate
    return Response("", headers={"X-Rucio-Auth-Token": token, "Content-Type": "application/octet-stream",
                                 "X-Rucio-Auth-Token-Expires": formatdate(expires, usegmt=True)})


@bp.route("/auth/userpass")
def auth_userpass() -> Response:
    store = current_store()
    user = request.headers.get("X-Rucio-Username", "")
    account = request.headers.get("X-Rucio-Account") or user
    if not check_password(store, user, request.headers.get("X-Rucio-Password", "")) or account != user:
        raise RucioError(401, "CannotAuthenticate", f"Cannot authenticate to account {account} with given credentials")
    return _issue(store, account)


@bp.route("/auth/x509")
@bp.route("/auth/x509_proxy")
def auth_x509() -> Response:
    store = current_store()
    account = request.headers.get("X-Rucio-Account", "")
    if account not in store.accounts:
        raise RucioError(401, "CannotAuthenticate", f"Cannot authenticate to account {account} with given credentials")
    return _issue(store, account)


@bp.route("/ping")
def ping() -> Response:
    return _json({"version": VERSION})


def _account_json(store: Store, name: str) -> dict:
    acc = store.accounts.get(name)
    if acc is None:
        raise RucioError(404, "AccountNotFound", f"Account with ID '{name}' cannot be found")
    return {"account": acc.username, "account_type": "SERVICE" if acc.admin else "USER", "status": "ACTIVE",
            "email": acc.email, "suspended_at": None, "deleted_at": None, "created_at": None, "updated_at": None}


@bp.route("/accounts/<account>")
def get_account(account: str) -> Response:
    store = current_store()
    if account == "whoami":
        account = request.environ["testbed.rucio_account"]
    return _json(_account_json(store, account))


@bp.route("/accounts/<account>/scopes/<scope>", methods=["POST"])
def add_scope(account: str, scope: str) -> Response:
    store = current_store()
    _account_json(store, account)
    with store.lock:
        if scope in store.scopes:
            raise RucioError(409, "Duplicate", f"Scope '{scope}' already exists!")
        store.scopes.add(scope)
        store.touch()
    return _created()


@bp.route("/scopes/")
def list_scopes() -> Response:
    return _json(sorted(current_store().scopes))


# ---------------------------------------------------------------- RSEs

def _rse_json(store: Store, name: str) -> dict:
    rse = store.rses[name]
    return {"id": name.lower(), "rse": name, "rse_type": rse.rse_type, "vo": "def", "deterministic": True,
            "volatile": False, "staging_area": False, "availability_read": rse.is_available,
            "availability_write": rse.is_available, "availability_delete": rse.is_available}


def rse_expression(store: Store, expr: str | None) -> list[str]:
    """RSE names matching ``expr``: a name, ``A|B``, ``A&B``, ``key=value`` (``rse_type``/``type``) or ``*``."""
    if not expr or expr == "*":
        return list(store.rses)
    out: list[str] = []
    for alt in expr.split("|"):
        names = None
        for term in alt.split("&"):
            term = term.strip().strip("()")
            if "=" in term:
                key, value = (x.strip() for x in term.split("=", 1))
                match = {n for n, r in store.rses.items()
                         if (key in ("rse_type", "type") and r.rse_type == value.upper()) or (key == "rse" and n == value)}
            else:
                match = {term} if term in store.rses else set()
            names = match if names is None else names & match
        out += [n for n in sorted(names or ()) if n not in out]
    if not out:
        raise RucioError(400, "InvalidRSEExpression", f"RSE Expression resulted in an empty set: {expr}")
    return out


@bp.route("/rses/")
def list_rses() -> Response:
    store = current_store()
    with store.lock:
        return _stream(_rse_json(store, n) for n in rse_expression(store, request.args.get("expression")))


@bp.route("/rses/<rse>")
def get_rse(rse: str) -> Response:
    store = current_store()
    if rse not in store.rses:
        raise RucioError(404, "RSENotFound", f"RSE '{rse}' cannot be found")
    return _json(_rse_json(store, rse))


from . import rucio_dids  # noqa: E402,F401  (replicas and DIDs register on bp)

__all__ = ["bp", "Replica"]
