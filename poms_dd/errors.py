"""The error hierarchy.  One handler (``views/errors.py``) maps these to HTTP status codes."""
from __future__ import annotations


class PomsDDError(Exception):
    """Base class; ``status`` is the HTTP status the error handler uses."""

    status = 500

    def __init__(self, message: str = "", *, field_errors: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.field_errors = field_errors or {}


class ConfigurationError(PomsDDError):
    """The application settings are missing or wrong."""


class NotFound(PomsDDError):
    status = 404


class PermissionDenied(PomsDDError):
    status = 403


class NotAuthenticated(PomsDDError):
    status = 401


class Conflict(PomsDDError):
    status = 409


class InvalidInput(PomsDDError):
    """Bad user input.  ``field_errors`` maps a field (or ``section.key``) to its messages."""

    status = 400


class ExternalServiceError(PomsDDError):
    """A MetaCat, Data Dispatcher or Rucio call failed.

    ``service`` names the system ("MetaCat", "Data Dispatcher", "Rucio"), ``operation`` what poms_dd was
    doing, ``detail`` what happened and what a person can do.
    """

    status = 502

    def __init__(self, service: str, operation: str, detail: str):
        super().__init__(f"{service}: {operation} failed: {detail}")
        self.service = service
        self.operation = operation
        self.detail = detail
