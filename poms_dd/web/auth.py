"""Sign-in: who is making this request, and the helpers views use to ask.

Three ways in, resolved once per request by a ``before_request`` hook (``_authenticate``):

* ``Authorization: Bearer <token>`` — API tokens, honoured in every mode and on every route.  Only the
  SHA-256 of a token is stored.  An unknown, revoked or expired token is refused with 401 (never silently
  ignored), and ``last_used_at`` is recorded.
* ``auth_mode == "header"`` — the SSO proxy's trusted header (``settings.trusted_header``) names the user.
  It is read ONLY in header mode.  Unknown users are refused with 403 and told to ask an administrator;
  nobody is created automatically (an account without memberships would see nothing anyway, and creating
  accounts from a header is exactly what a mis-configured proxy would exploit).  The session cookie is not
  used for identity in header mode.
* ``auth_mode == "local"`` — the password form (``/login``); flask-login keeps the user id in the session,
  next to the user's session generation and the sign-in / last-seen times (``services/accounts/sessions.py``).
  Each request checks them: a session of before a sign-out, a password change or disabling the account, an
  idle one and one past its maximum length are refused (pages go to /login with the reason, ``/api`` gets 401).
  Failed passwords are rate limited per user name and per client address (``services/accounts/throttle.py``);
  the address is ``remote_addr`` unless ``client_address_header`` names the proxy's header, and a browser that
  signed a user in before carries a signed *known-device* cookie that exempts that user from the address limit.

CSRF: flask-wtf's default check is switched off and done here instead, after authentication, so that a
request carrying a valid bearer token and NO session cookie (a script) is exempt — no cookie, no CSRF.
Everything else (any request with a session cookie) is checked, including ``@csrf.exempt`` handling.
An ``/api/...`` request that resolves to nobody (no token, no trusted header, no signed-in session) is
answered 401 before the CSRF check: every API route needs a user, and "sign in" is the useful answer.

Helpers for views: :func:`login_required`, :func:`public`, :func:`safe_next` (and, in ``request.py``,
``current_user`` / ``auth_method``).  Password and token checks are the Flask-free
``poms_dd.services.accounts.signin``; only the request plumbing is here.
"""
from __future__ import annotations

import functools
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, flash, g, redirect, request, session, url_for
from flask_login import LoginManager, login_user
from itsdangerous import BadSignature, URLSafeTimedSerializer

from ..errors import NotAuthenticated, PermissionDenied
from ..models import User
from ..permissions import Actor
from ..services.accounts import sessions
from .request import auth_method, current_user, db_session, ext

DEVICE_COOKIE = "poms_dd_device"
DEVICE_DAYS = 30
DEVICE_NAMES = 5
_LOGIN_KEYS = ("_user_id", "_fresh", "_id", sessions.GENERATION, sessions.SIGNED_IN_AT, sessions.SEEN_AT)


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip()


# --- the current request ----------------------------------------------------------------------------------

def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site (``/...``), else None: never redirect off-site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    if any(ord(c) < 32 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


_API_SIGN_IN = ("Sign in first: send 'Authorization: Bearer <token>' (create a token on your /account page or "
                "with `poms-dd user token`), or sign in at /login and call the API from that browser session.")


def _api_sign_in() -> str:
    ended = g.get("poms_dd_session_ended")
    return f"{ended} {_API_SIGN_IN}" if ended else _API_SIGN_IN


def _unauthorized():
    """401 JSON for ``/api/...``; for pages, a redirect to /login?next=<this page>."""
    if request.path.startswith("/api/"):
        raise NotAuthenticated(_api_sign_in())
    target = request.full_path if request.query_string else request.path
    return redirect(url_for("auth.login", next=target))


def login_required(view):
    """Decorator: anonymous requests to ``/api/...`` get 401 JSON, others a redirect to /login?next=..."""
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if current_user() is None:
            return _unauthorized()
        return view(*args, **kwargs)
    return wrapped


def public(view):
    """Decorator: an ``/api/...`` route anyone may read (it holds no data, e.g. the API description).
    A bearer token sent anyway is still checked; every other ``/api`` route needs a user."""
    view.poms_dd_public = True
    return view


def _is_public() -> bool:
    return getattr(current_app.view_functions.get(request.endpoint or ""), "poms_dd_public", False)


def _set_request_user(user: User | None, method: str | None) -> None:
    g.poms_dd_auth_method = method
    # flask-login's own way of binding a user to the request without touching the session.
    current_app.login_manager._update_request_context_with_user(user)


def _authenticate():
    """before_request: resolve the user (token > header > session), then check CSRF."""
    if request.endpoint == "static":
        return None
    settings = ext().settings
    token = _bearer_token()
    if token is not None:
        _set_request_user(None, None)
        _set_request_user(_token_user(token), "token")
    elif settings.auth_mode == "header":
        _set_request_user(None, None)
        name = request.headers.get(settings.trusted_header, "").strip()
        if name:
            user = _signin().user_named(name)
            if user is None or not user.active:
                raise PermissionDenied(
                    f"You are signed in to single sign-on as {name!r}, but poms_dd has no active account by that "
                    "name. Ask a poms_dd administrator to create it and add you to your experiment "
                    f"(`poms-dd user create {name}` and `poms-dd user grant {name} EXPERIMENT ROLE`).")
            _set_request_user(user, "header")
    if request.path.startswith("/api/") and current_user() is None and not _is_public():
        # Nobody to act for: say "sign in" (401), not "CSRF token missing" (400).  Every /api route needs a
        # user, so answering before the CSRF check lets nothing through; signed-in sessions are still checked.
        raise NotAuthenticated(_api_sign_in())
    _check_csrf()
    return None


def _signin():
    return ext().services(db_session(), Actor.anonymous()).signin


def _token_user(token: str) -> User:
    """The owner of the bearer token.  The check and the record of its use (to the minute) run in a session of
    their own, finished before the request's session starts, so signing in never commits the request's work."""
    own = ext().db.session()
    try:
        signin = ext().services(own, Actor.anonymous()).signin
        user, row = signin.verify_api_token(token)
        user_id = user.id
        if signin.token_use_is_stale(row):
            signin.record_token_use(row.id)
    finally:
        own.close()
    return db_session().get(User, user_id)


# --- browser sessions, client address, known devices -----------------------------------------------------

def start_browser_session(user: User) -> None:
    """Sign ``user`` in on a fresh session (no pre-login data or fixation survives) that ends server-side."""
    session.clear()
    login_user(user)
    sessions.start(session, user, ext().clock())


def _session_user(user_id: str) -> User | None:
    """flask-login's loader: the session's user if the session is still good, else None (and the session
    forgets the sign-in, keeping its CSRF token so a form posted with it is answered by the sign-in page)."""
    if ext().settings.auth_mode != "local" or not user_id.isdigit():
        return None
    user = db_session().get(User, int(user_id))
    if user is None:
        return None
    why = sessions.problem(session, user, ext().clock(), sessions.SessionLifetime.from_settings(ext().settings))
    if why is None:
        return user
    for key in _LOGIN_KEYS:
        session.pop(key, None)
    g.poms_dd_session_ended = why
    if not request.path.startswith("/api/"):
        flash(why, "warning")
    return None


def client_address() -> str:
    """The client's address: the last entry of ``client_address_header`` (what our proxy appended) when that
    setting names one and the request has it, else the connection's ``remote_addr``."""
    header = ext().settings.client_address_header
    if header:
        last = request.headers.get(header, "").split(",")[-1].strip()
        if last:
            return last
    return request.remote_addr or "unknown"


def _devices() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="poms_dd.known-device")


def _device_names() -> list[str]:
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw:
        return []
    try:
        names = _devices().loads(raw, max_age=DEVICE_DAYS * 86400)
    except BadSignature:
        return []
    return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []


def known_device(username: str) -> bool:
    """Whether this browser signed ``username`` in successfully within the last DEVICE_DAYS days."""
    return username in _device_names()


def remember_device(response: Response, username: str) -> None:
    """Mark this browser as a known device of ``username`` (a signed cookie, sent to /login only)."""
    names = [username] + [n for n in _device_names() if n != username][:DEVICE_NAMES - 1]
    response.set_cookie(DEVICE_COOKIE, _devices().dumps(names), max_age=DEVICE_DAYS * 86400, path="/login",
                        secure=ext().settings.uses_https, httponly=True, samesite="Lax")


def _check_csrf() -> None:
    app = current_app
    if not app.config.get("WTF_CSRF_ENABLED", True):
        return
    cookie_sent = app.config["SESSION_COOKIE_NAME"] in request.cookies
    if g.get("poms_dd_auth_method") == "token" and not cookie_sent:
        return
    app.extensions["poms_dd_csrf"].protect(apply_exemptions=True)


def init_auth(app: Flask) -> None:
    """Install flask-login, the per-request authentication hook and CSRF-after-auth.  Call after CSRFProtect."""
    manager = LoginManager()
    manager.login_view = "auth.login"
    manager.login_message = "Please sign in to see this page."
    manager.init_app(app)
    manager.unauthorized_handler(_unauthorized)     # flask_login.login_required behaves like ours

    manager.user_loader(_session_user)

    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    app.before_request(_authenticate)

    @app.context_processor
    def auth_context():
        return {"auth_mode": app.extensions["poms_dd"].settings.auth_mode, "auth_method": auth_method()}
