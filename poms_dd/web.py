"""Web plumbing: one database session per request, CSRF, sign-in, blueprints and error handlers."""
from __future__ import annotations

from flask import Flask, current_app, g
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import Session


def ext():
    """The PomsDD extension object of the current app."""
    return current_app.extensions["poms_dd"]


def db_session() -> Session:
    """The request's session (created on first use, closed at teardown)."""
    if "poms_dd_session" not in g:
        g.poms_dd_session = ext().db.session()
    return g.poms_dd_session


def _close_session(exc: BaseException | None) -> None:
    session = g.pop("poms_dd_session", None)
    if session is not None:
        if exc is not None:
            session.rollback()
        session.close()


def init_web(app: Flask) -> None:
    csrf = CSRFProtect(app)
    app.extensions["poms_dd_csrf"] = csrf
    from .auth import init_auth
    init_auth(app)
    app.teardown_appcontext(_close_session)
    from .views import register_views
    register_views(app)
