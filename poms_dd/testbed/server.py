"""The testbed WSGI app: MetaCat, Data Dispatcher and Rucio faces over one shared ``Store``.

Mount points (client URLs in brackets):
* ``/mc/auth`` MetaCat auth, ``/mc/data`` MetaCat data  [METACAT_SERVER_URL = BASE/mc]
* ``/dd/auth`` DD auth, ``/dd`` DD data                  [DATA_DISPATCHER_URL = BASE/dd]
* ``/rucio`` Rucio                                       [rucio_host = auth_host = BASE/rucio]
* ``/_testbed`` test hooks (hooks.py)
Unhandled exceptions answer 500, never 502/503/504 (which the clients retry for minutes): on MetaCat and DD as
webpie's "Application error" HTML page (``errors.application_error``, also for an injected 500), on Rucio and
the hooks as plain text.
"""
from __future__ import annotations

import logging
import time
import traceback

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from . import auth, dd, hooks, metacat, rucio
from .errors import ServerError, application_error, exception_text
from .store import Store

log = logging.getLogger(__name__)
PREFIXES = (("/mc/", "mc"), ("/dd/", "dd"), ("/rucio/", "rucio"))
WEBPIE_SERVICES = ("mc", "dd")      # both run on the webpie framework


def _service(path: str) -> str | None:
    for prefix, service in PREFIXES:
        if path.startswith(prefix):
            return service
    return None


def _inject_fault(store: Store) -> Response | None:
    """Apply a fault registered with ``POST /_testbed/fault`` to this request's service, if any."""
    service = _service(request.path)
    with store.lock:
        fault = store.faults.get(service) if service else None
        if fault is None:
            return None
        if fault.get("count") is not None:
            fault["count"] -= 1
            if fault["count"] <= 0:
                del store.faults[service]
    if fault.get("delay"):
        time.sleep(fault["delay"])
    status = fault.get("status")
    if not status:
        return None
    message = fault.get("message") or f"injected fault: HTTP {status}"
    if status == 500 and service in WEBPIE_SERVICES:
        return application_error(service, request.endpoint or request.path, message)
    return Response(message, status=status, content_type="text/plain")


def make_app(store: Store, seed: tuple[str, int | None] = ("demo", None)) -> Flask:
    """The testbed app serving ``store``; ``seed`` is what ``POST /_testbed/reset`` restores."""
    app = Flask("poms_dd.testbed")
    app.extensions["testbed_store"] = store
    app.config["TESTBED_SEED"] = seed
    app.url_map.strict_slashes = False
    app.register_blueprint(auth.make_blueprint(), url_prefix="/mc/auth", name="mc_auth")
    app.register_blueprint(auth.make_blueprint(), url_prefix="/dd/auth", name="dd_auth")
    app.register_blueprint(dd.bp, url_prefix="/dd")
    app.register_blueprint(rucio.bp, url_prefix="/rucio")
    app.register_blueprint(hooks.bp, url_prefix="/_testbed")
    app.register_blueprint(metacat.bp, url_prefix="/mc/data")

    @app.before_request
    def _faults() -> Response | None:
        return _inject_fault(store)

    @app.errorhandler(Exception)
    def _error(err: Exception) -> Response:
        if isinstance(err, HTTPException):
            status = err.code or 500
            return Response(err.description or err.name, status=status if status < 500 else 500,
                            content_type="text/plain")
        if not isinstance(err, ServerError):         # a ServerError mirrors an upstream crash on purpose
            log.error("testbed error on %s %s:\n%s", request.method, request.full_path, traceback.format_exc())
        service = _service(request.path)
        if service in WEBPIE_SERVICES:
            return application_error(service, request.endpoint or request.path, exception_text(err),
                                     err.__traceback__)
        return Response(exception_text(err), status=500, content_type="text/plain")

    return app
