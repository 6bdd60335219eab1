"""One error handler: our error hierarchy → HTTP status, rendered as HTML or JSON by ``Accept``."""
from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException, InternalServerError

from ..errors import ExternalServiceError, PomsDDError
from .request import rollback_session


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


# Page titles a person reads; JSON keeps the error class name (the API's documented ``error`` field).
PAGE_TITLES = {"NotFound": "Not found", "PermissionDenied": "Not allowed", "NotAuthenticated": "Please sign in",
               "InvalidInput": "Please check your input", "Conflict": "Changed by someone else",
               "ExternalServiceError": "An external service failed", "ConfigurationError": "Configuration problem",
               "InternalServerError": "Server error"}


def _render(status: int, title: str, message: str, field_errors: dict | None = None, **extra):
    if wants_json():
        body = {"error": title, "message": message, "status": status, **extra}
        if field_errors:
            body["field_errors"] = field_errors
        return jsonify(body), status
    return render_template("poms_dd/error.html", status=status, title=PAGE_TITLES.get(title, title),
                           message=message, field_errors=field_errors or {}), status


def register(app: Flask) -> None:
    @app.errorhandler(PomsDDError)
    def handle_domain_error(err: PomsDDError):
        extra = {}
        if isinstance(err, ExternalServiceError):
            extra = {"service": err.service, "operation": err.operation}
        title = type(err).__name__
        return _render(err.status, title, err.message, err.field_errors, **extra)

    @app.errorhandler(CSRFError)
    def handle_csrf(err: CSRFError):
        return _render(400, "CSRF check failed",
                       "The form's security token was missing or expired. Reload the page and submit again.")

    @app.errorhandler(HTTPException)
    def handle_http(err: HTTPException):
        return _render(err.code or 500, err.name, err.description or "")

    @app.errorhandler(DataError)
    def handle_data_error(err: DataError):
        # The last line of defence behind the field rules: a value the database cannot hold (a number out of
        # its column's range, say) is the sender's mistake, not a server error.  Nothing was committed.
        rollback_session()
        return _render(400, "InvalidInput", "A value does not fit what the database can store (for example a "
                       "number out of range or text it cannot hold); nothing was saved. Check the numbers and "
                       "texts you sent.")

    @app.errorhandler(InternalServerError)
    def handle_unexpected(err: InternalServerError):
        # An exception nothing else handled (Flask has logged it with its traceback).  The request's session
        # may be unusable (e.g. a failed flush): roll it back so rendering the page cannot fail again.
        rollback_session()
        return _render(500, "InternalServerError", "Something went wrong on the server; the error was logged. "
                       "Nothing you sent was saved. Try again, and tell the poms_dd administrators if it persists.")
