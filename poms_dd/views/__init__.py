"""Thin blueprints: parse the request, call a service, render or return JSON."""
from __future__ import annotations

from flask import Flask


def register_views(app: Flask) -> None:
    from . import errors
    errors.register(app)
    from . import auth, home
    app.register_blueprint(auth.bp)
    app.register_blueprint(home.bp)
    from . import admin, admin_api
    app.register_blueprint(admin.bp)
    app.register_blueprint(admin_api.bp)
    from . import ini
    app.register_blueprint(ini.bp)
    from . import api_campaigns, campaigns
    app.register_blueprint(campaigns.bp)
    app.register_blueprint(api_campaigns.bp)
    from . import audit
    app.register_blueprint(audit.bp)
    from . import api_docs
    app.register_blueprint(api_docs.bp)
