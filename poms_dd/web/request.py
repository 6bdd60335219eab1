"""Per-request plumbing: the extension object, one database session per request, and the request's
services (the composition root for the signed-in person)."""
from __future__ import annotations

from flask import current_app, g
from flask_login import current_user as _login_proxy
from sqlalchemy.orm import Session

from ..models import User
from ..permissions import Actor
from ..services.factory import Services


def ext():
    """The PomsDD extension object of the current app."""
    return current_app.extensions["poms_dd"]


def db_session() -> Session:
    """The request's session (created on first use, closed at teardown)."""
    if "poms_dd_session" not in g:
        g.poms_dd_session = ext().db.session()
    return g.poms_dd_session


def rollback_session() -> None:
    """Roll back the request's session, if it has one (after an error, before rendering the error page)."""
    session = g.get("poms_dd_session")
    if session is not None:
        session.rollback()


def close_session(exc: BaseException | None) -> None:
    session = g.pop("poms_dd_session", None)
    if session is not None:
        if exc is not None:
            session.rollback()
        session.close()


def current_user() -> User | None:
    """The signed-in user of this request, or None."""
    user = _login_proxy._get_current_object()
    return user if isinstance(user, User) else None


def auth_method() -> str | None:
    """How this request was authenticated: "token", "header", "session" or None."""
    if "poms_dd_auth_method" in g:
        return g.poms_dd_auth_method
    return "session" if current_user() is not None else None


def current_actor() -> Actor:
    """The signed-in person of this request (``Actor.anonymous()`` when nobody is)."""
    return Actor.person(current_user())


def services() -> Services:
    """The services of this request, acting for the signed-in person."""
    actor = current_actor()
    cached = g.get("poms_dd_services")
    if cached is None or cached.actor.user is not actor.user:
        cached = g.poms_dd_services = ext().services(db_session(), actor)
    return cached
