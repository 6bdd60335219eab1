"""poms_dd: the Data Dispatcher extension of a POMS-style campaign manager.

``create_app(config=None)`` builds the Flask app.  ``config`` may be a ``Settings`` object, a mapping of
``POMS_DD_*`` variables, or None (read the process environment).  Per-app objects live in
``app.extensions["poms_dd"]`` (a :class:`PomsDD`); there is no module-level app.
"""
from __future__ import annotations

import logging
from typing import Any, Mapping

from flask import Flask

from .db import Database
from .paths import data_dir
from .settings import Settings

__version__ = "0.1.0"


class PomsDD:
    """The extension object: settings, database and the per-experiment adapter registry."""

    def __init__(self, settings: Settings, db: Database):
        self.settings = settings
        self.db = db
        self.services: dict[str, Any] = {}

    def init_app(self, app: Flask) -> None:
        app.extensions["poms_dd"] = self


def _settings_from(config: Settings | Mapping[str, str] | None) -> Settings:
    if isinstance(config, Settings):
        return config.validated()
    return Settings.from_env(config)


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
        SESSION_COOKIE_SECURE=settings.session_cookie_secure,
        WTF_CSRF_TIME_LIMIT=None,
        MAX_CONTENT_LENGTH=16 * 1024 * 1024,
    )
    PomsDD(settings, db or Database(settings.database_url)).init_app(app)
    from .web import init_web
    init_web(app)
    return app
