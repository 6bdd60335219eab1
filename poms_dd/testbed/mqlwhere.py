"""MetaCat ``where`` clauses compiled into Python predicates, once per query, with the semantics of the SQL the
real server runs (``metacat.common.meta_dnf.MetaExpressionDNF.sql_and`` → PostgreSQL).

* Metadata terms follow PostgreSQL's *lax-mode* JSONPath (``@@`` / ``@?``): arrays are unwrapped, so
  ``core.runs = 5`` matches an array containing 5; comparisons between different JSON types are *unknown*.
* A range on a plain (non-subscripted) metadata name compiles to ``true`` in MetaCat, so it is ignored here too
  (and its negation matches nothing).
* File attributes are SQL columns: ``created_timestamp >= '2024-01-01 00:00:00'`` compares timestamps (UTC);
  comparing a timestamp with a number (``datetime(...)``, ``date(...)``, an epoch) fails like PostgreSQL (500).
* ``~*`` / ``!~*`` on metadata produce invalid JSONPath in MetaCat (500); on file attributes they work.
* Three-valued logic: a term may be True, False or None (SQL NULL); a file is selected only when True.

Raises ``QueryFailure`` (status 400 for what MetaCat rejects or the testbed cannot evaluate faithfully,
500 for what PostgreSQL would reject at execution).
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Callable

Pred = Callable[[Any], "bool | None"]
_MISSING = object()
_ANY = object()

# MetaCat file columns usable in queries (metacat.common.attributes.FileAttributes) and their SQL types.
FILE_COLUMNS = {
    "creator": "text", "name": "text", "namespace": "text", "retired_by": "text", "updated_by": "text",
    "size": "bigint", "retired": "boolean", "checksums": "jsonb",
    "created_timestamp": "timestamptz", "updated_timestamp": "timestamptz", "retired_timestamp": "timestamptz",
}
_PG_TRUE = {"t", "true", "y", "yes", "on", "1"}
_PG_FALSE = {"f", "false", "n", "no", "off", "0"}


class QueryFailure(Exception):
    """The HTTP status and text MetaCat's server would answer for this query."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def _pg_error(message: str) -> QueryFailure:
    return QueryFailure(500, f"psycopg2.errors: {message}")


def _unsupported(message: str) -> QueryFailure:
    return QueryFailure(400, f"MQLCompilationError: not supported by the poms_dd testbed: {message}")


# ---------------------------------------------------------------- three-valued helpers

def _not(p: Pred) -> Pred:
    def neg(f):
        v = p(f)
        return None if v is None else not v
    return neg


def _and(preds: list[Pred]) -> Pred:
    if len(preds) == 1:
        return preds[0]

    def conj(f):
        result = True
        for p in preds:
            v = p(f)
            if v is False:
                return False
            if v is None:
                result = None
        return result
    return conj


def _or(preds: list[Pred]) -> Pred:
    if len(preds) == 1:
        return preds[0]

    def disj(f):
        result = False
        for p in preds:
            v = p(f)
            if v is True:
                return True
            if v is None:
                result = None
        return result
    return disj


# ---------------------------------------------------------------- JSONPath (lax mode) pieces

def _kind(v: Any) -> str:
    if isinstance(v, bool):
        return "b"
    if isinstance(v, (int, float)):
        return "n"
    if isinstance(v, str):
        return "s"
    if v is None:
        return "z"
    return "o"


def _jcmp(x: Any, op: str, y: Any) -> bool | None:
    """One JSONPath comparison (PostgreSQL compareItems): different types are unknown, except null."""
    kx, ky = _kind(x), _kind(y)
    if kx != ky:
        if kx == "z" or ky == "z":
            return op == "!="
        return None
    if kx == "o":
        return None
    if op == "==":
        return x == y
    if op == "!=":
        return x != y
    if op == "<":
        return x < y
    if op == "<=":
        return x <= y
    if op == ">":
        return x > y
    return x >= y


def _unwrap(items) -> list:
    out = []
    for x in items:
        if isinstance(x, list):
            out.extend(x)
        else:
            out.append(x)
    return out


def _items(meta: dict, name: str, sub: Any) -> list:
    """Items of ``$."name"<sub>`` in lax mode (sub: None, _ANY for [*], an int index or a str key)."""
    v = meta.get(name, _MISSING)
    if v is _MISSING:
        return []
    if sub is None:
        return [v]
    if sub is _ANY:
        return v if isinstance(v, list) else [v]
    if isinstance(sub, int):
        if isinstance(v, list):
            return [v[sub]] if 0 <= sub < len(v) else []
        return [v] if sub == 0 else []
    if isinstance(v, dict):
        return [v[sub]] if sub in v else []
    if isinstance(v, list):
        return [x[sub] for x in v if isinstance(x, dict) and sub in x]
    return []


def _seq_pred(values: list, test: Callable[[Any], "bool | None"]) -> bool | None:
    """executePredicate in lax mode: any True → True, else any unknown → None, else False."""
    unknown = False
    for x in values:
        v = test(x)
        if v is True:
            return True
        if v is None:
            unknown = True
    return None if unknown else False


def _regex(value: Any, flags: int = 0) -> re.Pattern:
    if not isinstance(value, str):
        raise _pg_error("regular expression must be a string")
    try:
        return re.compile(value, flags)
    except re.error as exc:
        raise _pg_error(f"invalid regular expression: {exc}") from exc


def _json_value(value: Any) -> Any:
    if isinstance(value, str) and "\\" in value:
        raise _unsupported("backslashes in metadata string constants (JSONPath escapes)")
    return value


# ---------------------------------------------------------------- terms

def _metadata_term(op: str, exp, arg) -> Pred:
    name = arg["name"]
    if arg.T == "array_length":
        return _length_term(op, exp, name)
    if arg.T == "array_any":
        sub = _ANY
    elif arg.T == "subscript":
        sub = arg["index"]
    elif arg.T == "meta_attribute":
        sub = None
    else:
        raise _unsupported(f"argument {arg.T}")

    if op in ("in_range", "not_in_range"):
        if sub is None:                      # MetaCat compiles a range on a plain name to `true`
            return lambda f: True
        low, high = _json_value(exp["low"]), _json_value(exp["high"])
        if op == "in_range":
            def inside(x):
                return _and_values(_seq_pred(_unwrap([x]), lambda v: _jcmp(v, ">=", low)),
                                   _seq_pred(_unwrap([x]), lambda v: _jcmp(v, "<=", high)))
        else:
            def inside(x):
                return _or_values(_seq_pred(_unwrap([x]), lambda v: _jcmp(v, "<", low)),
                                  _seq_pred(_unwrap([x]), lambda v: _jcmp(v, ">", high)))
        return lambda f: any(inside(x) is True for x in _unwrap(_items(f.metadata, name, sub)))

    if op in ("in_set", "not_in_set"):
        values = [_json_value(v) for v in exp["set"]]
        if op == "in_set" and sub in (None, _ANY) and all(_kind(c) in ("n", "s") for c in values):
            return _member_fast(name, sub, values)
        if op == "in_set":
            def member(x):
                return _seq_pred(_unwrap([x]), lambda v: _seq_pred(values, lambda c: _jcmp(v, "==", c)))
        else:
            def member(x):
                results = [_seq_pred(_unwrap([x]), lambda v, c=c: _jcmp(v, "!=", c)) for c in values]
                return _and_values(*results)
        return lambda f: any(member(x) is True for x in _unwrap(_items(f.metadata, name, sub)))

    cmp_op = exp["op"]
    value = _json_value(exp.C[1]["value"])
    if cmp_op in ("~*", "!~*"):
        raise _pg_error('syntax error in jsonpath (MetaCat emits `flag "i"` twice for ~*)')
    if cmp_op in ("~", "!~"):
        rx = _regex(value)
        negated = cmp_op == "!~"

        def like_regex(x):
            if not isinstance(x, str):
                return None
            hit = rx.search(x) is not None
            return hit != negated
        return lambda f: any(like_regex(x) is True for x in _unwrap(_items(f.metadata, name, sub)))
    if cmp_op == "like":
        raise _pg_error("syntax error in jsonpath (like)")
    jop = "==" if cmp_op in ("=", "==") else cmp_op
    if jop not in ("==", "!=", "<", "<=", ">", ">="):
        raise QueryFailure(400, f"MQLCompilationError: unknown comparison operator {cmp_op}")

    if sub is _ANY and jop == "==" and _kind(value) in ("n", "s"):
        return _member_fast(name, sub, [value])        # runs[any] = v: same truth as runs[any] in (v)
    if sub is None and jop == "==" and _kind(value) in ("n", "s"):
        kind = _kind(value)

        def equals(f):                      # fast path for the commonest form: name = constant
            v = f.metadata.get(name, _MISSING)
            if v is _MISSING:
                return False
            if not isinstance(v, list):
                k = _kind(v)
                if k == kind:
                    return v == value
                return False if k == "z" else None
            return _seq_pred(_unwrap([v]), lambda x: _jcmp(x, "==", value))
        return equals
    return lambda f: _seq_pred(_unwrap(_items(f.metadata, name, sub)), lambda x: _jcmp(x, jop, value))


def _member_fast(name: str, sub: Any, values: list) -> Pred:
    """``$."name"[*] ? (@ == v1 || ...)`` for number/string constants: True iff some (unwrapped) element equals
    a constant of the same JSON type, else False (``@?`` never answers unknown)."""
    vs = set(values)

    def slow(f):
        items = _unwrap(_items(f.metadata, name, sub))
        return any(_seq_pred(_unwrap([x]), lambda v: _seq_pred(values, lambda c: _jcmp(v, "==", c))) is True
                   for x in items)

    def member(f):
        v = f.metadata.get(name, _MISSING)
        if v is _MISSING:
            return False
        for x in (v if isinstance(v, list) else (v,)):
            if isinstance(x, (list, dict)):
                return slow(f)
            if type(x) is not bool and x in vs:
                return True
        return False
    return member


def _and_values(*values):
    if any(v is False for v in values):
        return False
    return None if any(v is None for v in values) else True


def _or_values(*values):
    if any(v is True for v in values):
        return True
    return None if any(v is None for v in values) else False


def _length_term(op: str, exp, name: str) -> Pred:
    def length(f):
        v = f.metadata.get(name, _MISSING)
        if v is _MISSING or v is None:
            return None
        if not isinstance(v, list):
            raise _pg_error("cannot get array length of a non-array")
        return len(v)

    def numeric(v):
        if _kind(v) != "n":
            raise _pg_error(f"invalid array length comparison with {v!r}")
        return v
    if op == "in_range":
        low, high = numeric(exp["low"]), numeric(exp["high"])
        return lambda f: None if (n := length(f)) is None else low <= n <= high
    if op == "in_set":
        values = {numeric(v) for v in exp["set"]}
        return lambda f: None if (n := length(f)) is None else n in values
    if op == "cmp_op":
        jop = exp["op"]
        value = numeric(exp.C[1]["value"])
        if jop not in ("=", "==", "!=", "<", "<=", ">", ">="):
            raise _pg_error(f"operator does not exist: integer {jop} integer")
        return lambda f: None if (n := length(f)) is None else _jcmp(n, "==" if jop in ("=", "==") else jop, value)
    raise _unsupported(f"{op} on len()")


def _column_literal(column: str, kind: str, value: Any) -> Any:
    """A MetaCat SQL literal coerced to the column type as PostgreSQL would (or its error)."""
    vk = _kind(value)
    if kind == "text":
        if vk != "s":
            raise _pg_error(f"operator does not exist: text = {type(value).__name__}")
        return value
    if kind == "bigint":
        if vk == "n":
            return value
        if vk == "s":
            try:
                return int(value.strip())
            except ValueError:
                raise _pg_error(f'invalid input syntax for type bigint: "{value}"') from None
        raise _pg_error("operator does not exist: bigint = boolean")
    if kind == "boolean":
        if vk == "b":
            return value
        if vk == "s" and value.strip().lower() in _PG_TRUE | _PG_FALSE:
            return value.strip().lower() in _PG_TRUE
        raise _pg_error(f"invalid input syntax for type boolean: {value!r}")
    if kind == "timestamptz":
        if vk != "s":
            raise _pg_error(f"operator does not exist: timestamp with time zone >= {type(value).__name__}"
                            " (compare created_timestamp with a quoted timestamp string)")
        return _timestamp(value)
    raise _unsupported(f"comparisons on {column}")


def _timestamp(text: str) -> float:
    try:
        dt = datetime.fromisoformat(text.strip())
    except ValueError:
        raise _unsupported(f"timestamp literal {text!r} (use 'YYYY-MM-DD HH:MM:SS', UTC)") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


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


def _column_term(op: str, exp, column: str, getter: Callable[[Any], Any]) -> Pred:
    kind = FILE_COLUMNS[column]
    if op == "in_set":
        values = [_column_literal(column, kind, v) for v in exp["set"]]
        return lambda f: None if (x := getter(f)) is None else x in values
    if op == "in_range":
        low, high = _column_literal(column, kind, exp["low"]), _column_literal(column, kind, exp["high"])
        return lambda f: None if (x := getter(f)) is None else low <= x <= high
    if op != "cmp_op":
        raise _unsupported(f"{op} on {column}")
    cmp_op = exp["op"]
    value = exp.C[1]["value"]
    if cmp_op in ("~", "~*", "!~", "!~*", "like"):
        if kind != "text":
            raise _pg_error(f"operator does not exist: {kind} {cmp_op} unknown")
        if not isinstance(value, str):
            raise _pg_error(f"operator does not exist: text {cmp_op} {type(value).__name__}")
        if cmp_op == "like":
            rx = _like_regex(value)
            return lambda f: None if (x := getter(f)) is None else rx.match(x) is not None
        rx = _regex(value, re.IGNORECASE if cmp_op.endswith("*") else 0)
        negated = cmp_op.startswith("!")
        return lambda f: None if (x := getter(f)) is None else (rx.search(x) is not None) != negated
    literal = _column_literal(column, kind, value)
    jop = "==" if cmp_op in ("=", "==") else cmp_op
    if jop not in ("==", "!=", "<", "<=", ">", ">="):
        raise QueryFailure(400, f"MQLCompilationError: unknown comparison operator {cmp_op}")
    return lambda f: None if (x := getter(f)) is None else _jcmp(x, jop, literal)


def _term(exp, columns: dict[str, Callable[[Any], Any]] | None) -> Pred:
    op = exp.T
    if op in ("present", "not_present"):
        name = exp["name"]
        if op == "present":
            return lambda f: name in f.metadata
        return lambda f: name not in f.metadata
    if op not in ("cmp_op", "in_range", "in_set", "not_in_range", "not_in_set"):
        raise QueryFailure(400, f"MQLCompilationError: Unexpected expression type: {op}")
    arg = exp.C[0]
    if arg.T == "object_attribute":
        column = arg["name"]
        if column not in FILE_COLUMNS:
            raise QueryFailure(400, f"MQLCompilationError: ValueError: Unrecognized attribute name {column}")
        if columns is None:
            raise _unsupported("object attributes in dataset queries")
        if op in ("not_in_range", "not_in_set"):
            raise _unsupported(f"{op} on {column}")
        pred = _column_term(op, exp, column, columns[column])
    else:
        pred = _metadata_term(op, exp, arg)
    return _not(pred) if exp.get("neg") else pred


def compile_where(exp, columns: dict[str, Callable[[Any], Any]] | None) -> Pred:
    """Compile a MetaCat meta expression (meta_or of meta_and, as the parser regularizes it) into a predicate.

    ``columns`` maps file attribute names to getters (None for dataset queries: attributes are refused).
    Raises QueryFailure.
    """
    from ..mql import load
    load()
    from metacat.common import FileMetaExpressionDNF
    dnf = FileMetaExpressionDNF.regularize(exp)
    return _or([_and([_term(t, columns) for t in conj.C]) for conj in dnf.C])


def _ts(attr: str) -> Callable[[Any], Any]:
    return lambda f: getattr(f, attr)


FILE_GETTERS: dict[str, Callable[[Any], Any]] = {
    "creator": lambda f: f.creator, "name": lambda f: f.name, "namespace": lambda f: f.namespace,
    "retired_by": lambda f: f.retired_by, "updated_by": lambda f: f.updated_by, "size": lambda f: f.size,
    "retired": lambda f: f.retired, "checksums": lambda f: f.checksums,
    "created_timestamp": _ts("created_timestamp"), "updated_timestamp": _ts("updated_timestamp"),
    "retired_timestamp": _ts("retired_timestamp"),
}
