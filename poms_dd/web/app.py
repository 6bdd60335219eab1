"""The Flask application: settings, the extension object, CSRF, sign-in, blueprints and error handlers.

Per-app objects live in ``app.extensions["poms_dd"]`` (a :class:`PomsDD`); there is no module-level app.
"""
from __future__ import annotations

import logging
from typing import Mapping

from flask import Flask
from flask_talisman import Talisman
from flask_wtf.csrf import CSRFProtect

from ..db import Database, utcnow
from ..paths import data_dir
from ..permissions import Actor
from ..services.campaigns.data_checks import human_size
from ..services.factory import Services
from ..services.onboarding.connections import AdapterRegistry
from ..settings import Settings
from ..tasks.queue import JobQueue


class PomsDD:
    """The extension object: settings, database and the per-experiment adapter cache of this process."""

    def __init__(self, settings: Settings, db: Database):
        self.settings = settings
        self.db = db
        self.adapters = AdapterRegistry()
        self.clock = utcnow          # the app's clock (session lifetimes, the sign-in limit); tests set their own
        self.queue = JobQueue(db.engine)

    def init_app(self, app: Flask) -> None:
        app.extensions["poms_dd"] = self

    def services(self, session, actor: Actor) -> Services:
        """The composition root for one session and actor, sharing this process's adapter cache."""
        return Services(session, actor, settings=self.settings, registry=self.adapters, queue=self.queue,
                        clock=self.clock)


def _settings_from(config: Settings | Mapping[str, str] | None) -> Settings:
    if isinstance(config, Settings):
        return config.validated()
    return Settings.from_env(config)


# Our own static files only: no inline script or style (templates/ has none), no plugins, no framing.
CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def _security_headers(app: Flask, settings: Settings) -> None:
    """CSP, X-Frame-Options DENY, nosniff and Referrer-Policy on every response (pages, /api, errors, static);
    HSTS and Secure cookies only when the deployment is HTTPS (``POMS_DD_HTTPS``).  TLS ends at the proxy, so
    poms_dd never redirects to https itself; HSTS is sent on requests that came over https (the proxy's
    ``X-Forwarded-Proto``)."""
    Talisman(app, force_https=False, frame_options="DENY", content_security_policy=CONTENT_SECURITY_POLICY,
             referrer_policy="same-origin", strict_transport_security=settings.uses_https,
             strict_transport_security_include_subdomains=False,
             session_cookie_secure=settings.uses_https, session_cookie_http_only=True,
             x_content_type_options=True)


def create_app(config: Settings | Mapping[str, str] | None = None, *, db: Database | None = None) -> Flask:
    """Build the web application.

    Raises ConfigurationError (with every missing setting named) when the configuration is incomplete.
    """
    settings = _settings_from(config)
    # Handlers belong to the host (gunicorn, the CLI); the level of poms_dd's own loggers is ours.
    logging.getLogger("poms_dd").setLevel(settings.log_level.upper())
    app = Flask("poms_dd", template_folder=str(data_dir("templates")), instance_path=None)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.uses_https,
        REMEMBER_COOKIE_SECURE=settings.uses_https,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,
        MAX_CONTENT_LENGTH=16 * 1024 * 1024,
    )
    PomsDD(settings, db or Database(settings.database_url)).init_app(app)
    csrf = CSRFProtect(app)
    app.extensions["poms_dd_csrf"] = csrf
    app.jinja_env.filters["human_size"] = human_size          # 5053517862818 → "5.05 TB"
    from . import auth, errors, guards, request
    guards.register(app)          # before sign-in: NUL, JSON depth/size, page numbers (web/guards.py)
    auth.init_auth(app)
    _security_headers(app, settings)
    app.teardown_appcontext(request.close_session)
    errors.register(app)
    from .views import register_views
    register_views(app)
    return app
