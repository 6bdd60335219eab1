"""Three-valued logic shared by the testbed's query evaluators (MetaCat where-clauses in ``mqlwhere`` and its
term modules, Data Dispatcher project queries in ``dd_query``).

A truth value is True, False or None (SQL NULL / JSONPath *unknown*); only True selects.  ``json_kind`` names
the JSON type of a value the way PostgreSQL's JSONPath compares them (different kinds never compare).
"""
from __future__ import annotations

from typing import Any, Iterable

UNKNOWN = None


def fold(values: Iterable["bool | None"], dominant: bool) -> "bool | None":
    """``dominant`` as soon as a value is it (the rest is not consumed), else unknown if any value was unknown,
    else ``not dominant``.  ``fold(vs, True)`` is SQL ``OR`` / JSONPath "any item"; ``fold(vs, False)`` is ``AND``."""
    unknown = False
    for v in values:
        if v is dominant:
            return dominant
        if v is None:
            unknown = True
    return UNKNOWN if unknown else not dominant


def any_of(values: Iterable["bool | None"]) -> "bool | None":
    return fold(values, True)


def all_of(values: Iterable["bool | None"]) -> "bool | None":
    return fold(values, False)


def negate(value: "bool | None") -> "bool | None":
    return UNKNOWN if value is None else not value


def json_kind(v: Any) -> str:
    """``b`` boolean, ``n`` number, ``s`` string, ``z`` null, ``o`` array or object."""
    if isinstance(v, bool):
        return "b"
    if isinstance(v, (int, float)):
        return "n"
    if isinstance(v, str):
        return "s"
    if v is None:
        return "z"
    return "o"
