"""Error answers the testbed's faces share: ``TextError``, an expected error with a status and a short
plain-text body (what MetaCat and DD handlers return)."""
from __future__ import annotations

from flask import Response


class TextError(Exception):
    """An expected error answer: ``status`` with a plain-text ``message``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def text_error(err: TextError) -> Response:
    return Response(err.message, status=err.status, content_type="text/plain")
