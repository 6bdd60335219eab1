"""The Rucio 41.5.1 REST API subset the clients use (PROTOCOLS §4, §6, §8, §9).

Responses are ``application/json`` or ``application/x-json-stream`` exactly (no charset).  Errors carry the
``ExceptionClass`` / ``ExceptionMessage`` headers and the same as a JSON body.  Every endpoint except the
``auth/*`` ones needs a known ``X-Rucio-Auth-Token``; an unknown one gets 401 so the client logs in again.
Replicas are the store's, so Data Dispatcher sees replicas added here immediately.
"""
from __future__ import annotations

import secrets

from flask import Blueprint, Response, request

from . import rucio_dids
from .auth import check_password
from .rucio_common import RucioError, created, json_answer, rse_expression, rucio_error, stream
from .store import Store, current_store

bp = Blueprint("testbed_rucio", __name__)
bp.register_error_handler(RucioError, rucio_error)
bp.register_blueprint(rucio_dids.bp)
VERSION = "41.5.1"
TOKEN_LIFETIME = 3600.0


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
    return json_answer({"version": VERSION})


def _accountjson_answer(store: Store, name: str) -> dict:
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
    return json_answer(_accountjson_answer(store, account))


@bp.route("/accounts/<account>/scopes/<scope>", methods=["POST"])
def add_scope(account: str, scope: str) -> Response:
    store = current_store()
    _accountjson_answer(store, account)
    with store.lock:
        if scope in store.scopes:
            raise RucioError(409, "Duplicate", f"Scope '{scope}' already exists!")
        store.scopes.add(scope)
        store.touch()
    return created()


@bp.route("/scopes/")
def list_scopes() -> Response:
    return json_answer(sorted(current_store().scopes))


# ---------------------------------------------------------------- RSEs

def _rsejson_answer(store: Store, name: str) -> dict:
    rse = store.rses[name]
    return {"id": name.lower(), "rse": name, "rse_type": rse.rse_type, "vo": "def", "deterministic": True,
            "volatile": False, "staging_area": False, "availability_read": rse.is_available,
            "availability_write": rse.is_available, "availability_delete": rse.is_available}


@bp.route("/rses/")
def list_rses() -> Response:
    store = current_store()
    with store.lock:
        return stream(_rsejson_answer(store, n) for n in rse_expression(store, request.args.get("expression")))


@bp.route("/rses/<rse>")
def get_rse(rse: str) -> Response:
    store = current_store()
    if rse not in store.rses:
        raise RucioError(404, "RSENotFound", f"RSE '{rse}' cannot be found")
    return json_answer(_rsejson_answer(store, rse))
