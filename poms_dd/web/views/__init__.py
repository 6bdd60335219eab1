"""Thin blueprints per area, pages and ``/api`` JSON side by side: parse the request, call a service (through
``poms_dd.web.request.services``), render or return JSON."""
from __future__ import annotations

from flask import Flask

from . import accounts, api_docs, audit, home
from .admin import api as admin_api
from .admin import pages as admin_pages
from .campaigns import api as campaigns_api
from .campaigns import ini as campaigns_ini
from .campaigns import pages as campaigns_pages
from .launches import api as launches_api
from .launches import pages as launches_pages


def register_views(app: Flask) -> None:
    for module in (accounts, home, admin_pages, admin_api, campaigns_ini, campaigns_pages, campaigns_api,
                   launches_pages, launches_api, audit, api_docs):
        app.register_blueprint(module.bp)
