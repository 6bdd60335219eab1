"""How MetaCat's server fails a query: ``QueryFailure`` (the HTTP status and text it answers) and the failures
PostgreSQL raises while running the SQL MetaCat compiled (they reach the client as 500s)."""
from __future__ import annotations

import re
from typing import Any


class QueryFailure(Exception):
    """The HTTP status and text MetaCat's server would answer for this query."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def pg_error(message: str) -> QueryFailure:
    """What PostgreSQL rejects at execution (MetaCat does not catch it: 500)."""
    return QueryFailure(500, f"psycopg2.errors: {message}")


def unsupported(message: str) -> QueryFailure:
    """What the testbed cannot evaluate faithfully: refused with 400, never answered wrongly."""
    return QueryFailure(400, f"MQLCompilationError: not supported by the poms_dd testbed: {message}")


def pg_regex(value: Any, flags: int = 0) -> re.Pattern:
    """A regular expression as PostgreSQL accepts it (a string that compiles), else its error."""
    if not isinstance(value, str):
        raise pg_error("regular expression must be a string")
    try:
        return re.compile(value, flags)
    except re.error as exc:
        raise pg_error(f"invalid regular expression: {exc}") from exc
