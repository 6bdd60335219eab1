"""MetaCat where-clause terms on *file attributes* (SQL columns of the ``files`` table), with PostgreSQL's
coercions: ``created_timestamp >= '2024-01-01 00:00:00'`` compares timestamps (UTC); comparing a timestamp with
a number (``datetime(...)``, ``date(...)``, an epoch) fails like PostgreSQL (500); ``~*`` works on text columns.
``column_term(op, exp, column, getter)`` returns a predicate over a file giving True, False or None (NULL)."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Callable

from .mql_jsonpath import jcmp
from .mql_pg import QueryFailure, pg_error, pg_regex, unsupported
from .tvl import json_kind

Pred = Callable[[Any], "bool | None"]

# MetaCat file columns usable in queries (metacat.common.attributes.FileAttributes) and their SQL types.
FILE_COLUMNS = {
    "creator": "text", "name": "text", "namespace": "text", "retired_by": "text", "updated_by": "text",
    "size": "bigint", "retired": "boolean", "checksums": "jsonb",
    "created_timestamp": "timestamptz", "updated_timestamp": "timestamptz", "retired_timestamp": "timestamptz",
}
FILE_GETTERS: dict[str, Callable[[Any], Any]] = {c: (lambda f, c=c: getattr(f, c)) for c in FILE_COLUMNS}
_PG_TRUE = {"t", "true", "y", "yes", "on", "1"}
_PG_FALSE = {"f", "false", "n", "no", "off", "0"}


def _text(column: str, value: Any) -> str:
    if json_kind(value) != "s":
        raise pg_error(f"operator does not exist: text = {type(value).__name__}")
    return value


def _bigint(column: str, value: Any) -> int:
    vk = json_kind(value)
    if vk == "n":
        return value
    if vk == "s":
        try:
            return int(value.strip())
        except ValueError:
            raise pg_error(f'invalid input syntax for type bigint: "{value}"') from None
    raise pg_error("operator does not exist: bigint = boolean")


def _boolean(column: str, value: Any) -> bool:
    vk = json_kind(value)
    if vk == "b":
        return value
    if vk == "s" and value.strip().lower() in _PG_TRUE | _PG_FALSE:
        return value.strip().lower() in _PG_TRUE
    raise pg_error(f"invalid input syntax for type boolean: {value!r}")


def _timestamptz(column: str, value: Any) -> float:
    if json_kind(value) != "s":
        raise pg_error(f"operator does not exist: timestamp with time zone >= {type(value).__name__}"
                       " (compare created_timestamp with a quoted timestamp string)")
    try:
        dt = datetime.fromisoformat(value.strip())
    except ValueError:
        raise unsupported(f"timestamp literal {value!r} (use 'YYYY-MM-DD HH:MM:SS', UTC)") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


_LITERALS = {"text": _text, "bigint": _bigint, "boolean": _boolean, "timestamptz": _timestamptz}


def _column_literal(column: str, kind: str, value: Any) -> Any:
    """A MetaCat SQL literal coerced to the column type as PostgreSQL would (or its error)."""
    if kind not in _LITERALS:
        raise unsupported(f"comparisons on {column}")
    return _LITERALS[kind](column, value)


def _like_regex(pattern: str) -> re.Pattern:
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 1
        elif c == "%":
            out.append(".*")
        elif c == "_":
            out.append(".")
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z", re.S)


def _match_term(cmp_op: str, kind: str, value: Any, getter: Callable[[Any], Any]) -> Pred:
    if kind != "text":
        raise pg_error(f"operator does not exist: {kind} {cmp_op} unknown")
    if not isinstance(value, str):
        raise pg_error(f"operator does not exist: text {cmp_op} {type(value).__name__}")
    if cmp_op == "like":
        rx = _like_regex(value)
        return lambda f: None if (x := getter(f)) is None else rx.match(x) is not None
    rx = pg_regex(value, re.IGNORECASE if cmp_op.endswith("*") else 0)
    negated = cmp_op.startswith("!")
    return lambda f: None if (x := getter(f)) is None else (rx.search(x) is not None) != negated


def column_term(op: str, exp, column: str, getter: Callable[[Any], Any]) -> Pred:
    """A predicate for one MetaCat term whose left side is the file attribute ``column``."""
    kind = FILE_COLUMNS[column]
    if op == "in_set":
        values = [_column_literal(column, kind, v) for v in exp["set"]]
        return lambda f: None if (x := getter(f)) is None else x in values
    if op == "in_range":
        low, high = _column_literal(column, kind, exp["low"]), _column_literal(column, kind, exp["high"])
        return lambda f: None if (x := getter(f)) is None else low <= x <= high
    if op != "cmp_op":
        raise unsupported(f"{op} on {column}")
    cmp_op = exp["op"]
    value = exp.C[1]["value"]
    if cmp_op in ("~", "~*", "!~", "!~*", "like"):
        return _match_term(cmp_op, kind, value, getter)
    literal = _column_literal(column, kind, value)
    jop = "==" if cmp_op in ("=", "==") else cmp_op
    if jop not in ("==", "!=", "<", "<=", ">", ">="):
        raise QueryFailure(400, f"MQLCompilationError: unknown comparison operator {cmp_op}")
    return lambda f: None if (x := getter(f)) is None else jcmp(x, jop, literal)
