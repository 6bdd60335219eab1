"""The MetaCat / Data Dispatcher auth server (``metacat.common`` ``AuthHandler`` as the clients see it).

Mounted twice: at ``/mc/auth`` and at ``/dd/auth``.  Every successful login answers 200 with an empty body and
the header ``X-Authentication-Token: <JWT>``; every failure is 401 with a plain-text reason (PROTOCOLS §2).

Methods of ``auth?method=``:
* ``ldap`` (POST, body ``user:password``), ``digest`` (GET, RFC 2617 digest with a 401 challenge first),
* ``token`` (POST ``&username=u``, header ``Authorization: bearer <tok>``: a JWT minted by this testbed for
  that user, or one of the account's registered bearer tokens),
* ``x509`` (GET ``&username=u``; accepted over plain http, which the real server would refuse).
Plus ``verify`` (200 ``OK`` / 401), ``whoami`` (username text) and ``mydn`` (the TLS client DN, 401 without one).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets

from flask import Blueprint, Response, request
from werkzeug.http import parse_dict_header

from . import tokens
from .store import Store, current_store

REALM = "metacat"


def _fail(message: str, status: int = 401) -> Response:
    return Response(message, status=status, content_type="text/plain")


def _issue(store: Store, username: str) -> Response:
    resp = Response("", status=200, content_type="text/plain")
    resp.headers["X-Authentication-Token"] = tokens.mint(store, username)
    return resp


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def check_password(store: Store, username: str, password: str) -> bool:
    acc = store.accounts.get(username)
    return acc is not None and hmac.compare_digest(acc.password.encode(), password.encode())


def _ldap(store: Store) -> Response:
    user, sep, password = request.get_data(as_text=True).partition(":")
    if not sep or not check_password(store, user, password):
        return _fail("Authentication failed")
    return _issue(store, user)


def _challenge() -> Response:
    resp = _fail("Digest authentication required")
    resp.headers["WWW-Authenticate"] = (
        f'Digest realm="{REALM}", nonce="{secrets.token_hex(16)}", opaque="{secrets.token_hex(8)}", '
        'algorithm="MD5", qop="auth"')
    return resp


def _digest(store: Store) -> Response:
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("digest "):
        return _challenge()
    p = parse_dict_header(header[7:])
    acc = store.accounts.get(p.get("username") or "")
    if acc is None or p.get("realm") != REALM:
        return _fail("Authentication failed")
    ha1 = _md5(f"{acc.username}:{REALM}:{acc.password}")
    ha2 = _md5(f"{request.method}:{p.get('uri', '')}")
    if p.get("qop"):
        expected = _md5(f"{ha1}:{p.get('nonce')}:{p.get('nc')}:{p.get('cnonce')}:{p.get('qop')}:{ha2}")
    else:
        expected = _md5(f"{ha1}:{p.get('nonce')}:{ha2}")
    if not hmac.compare_digest(expected, p.get("response", "")):
        return _fail("Authentication failed")
    return _issue(store, acc.username)


def _token(store: Store) -> Response:
    username = request.args.get("username", "")
    acc = store.accounts.get(username)
    header = request.headers.get("Authorization", "")
    if acc is None or not header.lower().startswith("bearer "):
        return _fail("Authentication failed: a bearer token and a known username are required")
    bearer = header[7:].strip()
    if tokens.decode(store, bearer) == username or bearer in acc.bearer_tokens:
        return _issue(store, username)
    return _fail("Authentication failed: token not accepted")


def _x509(store: Store) -> Response:
    username = request.args.get("username", "")
    if username not in store.accounts:
        return _fail(f"Authentication failed: user {username} not found")
    return _issue(store, username)


METHODS = {"ldap": _ldap, "digest": _digest, "token": _token, "x509": _x509}


def make_blueprint() -> Blueprint:
    """A fresh auth blueprint (register it with a distinct ``name=`` per mount point)."""
    bp = Blueprint("testbed_auth", __name__)

    @bp.route("/auth", methods=["GET", "POST"])
    def auth() -> Response:
        handler = METHODS.get(request.args.get("method", ""))
        if handler is None:
            return _fail("Unknown authentication method", 400)
        return handler(current_store())

    @bp.route("/verify")
    def verify() -> Response:
        return Response("OK", content_type="text/plain") if tokens.caller(current_store()) else _fail("Token invalid")

    @bp.route("/whoami")
    def whoami() -> Response:
        user = tokens.caller(current_store())
        return Response(user, content_type="text/plain") if user else _fail("Not authenticated")

    @bp.route("/mydn")
    def mydn() -> Response:
        subject = request.environ.get("SSL_CLIENT_S_DN")
        if not subject:
            return _fail("No client certificate presented (the testbed serves plain http)")
        return Response(json.dumps({"subject": subject, "issuer": request.environ.get("SSL_CLIENT_I_DN")}),
                        content_type="application/json")

    return bp
