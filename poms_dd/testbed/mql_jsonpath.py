"""MetaCat where-clause terms on *metadata*, with the semantics of the PostgreSQL lax-mode JSONPath
(``@@`` / ``@?``) that ``MetaExpressionDNF.sql_and`` compiles them to.

Arrays are unwrapped (``core.runs = 5`` matches an array containing 5); comparisons between different JSON
types are *unknown*, except against null; a range on a plain (non-subscripted) name compiles to ``true`` in
MetaCat, so it is ignored; ``~*`` / ``!~*`` / ``like`` produce invalid JSONPath (500).
``metadata_term(op, exp, arg)`` returns a predicate over a file (``f.metadata``) giving True, False or None.
"""
from __future__ import annotations

from typing import Any, Callable

from .mql_pg import QueryFailure, pg_error, pg_regex, unsupported
from .tvl import all_of, any_of, json_kind

Pred = Callable[[Any], "bool | None"]
_MISSING = object()
_ANY = object()
_CMP = {"==": lambda x, y: x == y, "!=": lambda x, y: x != y, "<": lambda x, y: x < y,
        "<=": lambda x, y: x <= y, ">": lambda x, y: x > y, ">=": lambda x, y: x >= y}


def jcmp(x: Any, op: str, y: Any) -> bool | None:
    """One JSONPath comparison (PostgreSQL compareItems): different types are unknown, except null."""
    kx, ky = json_kind(x), json_kind(y)
    if kx != ky:
        if kx == "z" or ky == "z":
            return op == "!="
        return None
    if kx == "o":
        return None
    return _CMP[op](x, y)


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


def _each(values: list, test: Callable[[Any], "bool | None"]) -> bool | None:
    """executePredicate in lax mode: any True → True, else any unknown → None, else False."""
    return any_of(test(x) for x in values)


def _json_value(value: Any) -> Any:
    if isinstance(value, str) and "\\" in value:
        raise unsupported("backslashes in metadata string constants (JSONPath escapes)")
    return value


def _selects(name: str, sub: Any, test: Callable[[Any], "bool | None"]) -> Pred:
    """The file is selected when ``test`` is True for some unwrapped item of ``$."name"<sub>``."""
    return lambda f: any(test(x) is True for x in _unwrap(_items(f.metadata, name, sub)))


def metadata_term(op: str, exp, arg) -> Pred:
    """A predicate for one MetaCat term whose left side is a metadata name (``arg``)."""
    name = arg["name"]
    if arg.T == "array_length":
        return _length_term(op, exp, name)
    subs = {"array_any": _ANY, "meta_attribute": None}
    if arg.T == "subscript":
        sub = arg["index"]
    elif arg.T in subs:
        sub = subs[arg.T]
    else:
        raise unsupported(f"argument {arg.T}")
    if op in ("in_range", "not_in_range"):
        return _range_term(op, exp, name, sub)
    if op in ("in_set", "not_in_set"):
        return _set_term(op, exp, name, sub)
    return _cmp_term(exp, name, sub)


def _range_term(op: str, exp, name: str, sub: Any) -> Pred:
    if sub is None:                      # MetaCat compiles a range on a plain name to `true`
        return lambda f: True
    low, high = _json_value(exp["low"]), _json_value(exp["high"])
    if op == "in_range":
        def inside(x):
            return all_of((_each(_unwrap([x]), lambda v: jcmp(v, ">=", low)),
                           _each(_unwrap([x]), lambda v: jcmp(v, "<=", high))))
    else:
        def inside(x):
            return any_of((_each(_unwrap([x]), lambda v: jcmp(v, "<", low)),
                           _each(_unwrap([x]), lambda v: jcmp(v, ">", high))))
    return _selects(name, sub, inside)


def _set_term(op: str, exp, name: str, sub: Any) -> Pred:
    values = [_json_value(v) for v in exp["set"]]
    if op == "in_set" and sub in (None, _ANY) and all(json_kind(c) in ("n", "s") for c in values):
        return _member_fast(name, sub, values)
    if op == "in_set":
        def member(x):
            return _each(_unwrap([x]), lambda v: _each(values, lambda c: jcmp(v, "==", c)))
    else:
        def member(x):
            return all_of([_each(_unwrap([x]), lambda v, c=c: jcmp(v, "!=", c)) for c in values])
    return _selects(name, sub, member)


def _cmp_term(exp, name: str, sub: Any) -> Pred:
    cmp_op = exp["op"]
    value = _json_value(exp.C[1]["value"])
    if cmp_op in ("~*", "!~*"):
        raise pg_error('syntax error in jsonpath (MetaCat emits `flag "i"` twice for ~*)')
    if cmp_op in ("~", "!~"):
        rx = pg_regex(value)
        negated = cmp_op == "!~"
        return _selects(name, sub, lambda x: None if not isinstance(x, str) else (rx.search(x) is not None) != negated)
    if cmp_op == "like":
        raise pg_error("syntax error in jsonpath (like)")
    jop = "==" if cmp_op in ("=", "==") else cmp_op
    if jop not in _CMP:
        raise QueryFailure(400, f"MQLCompilationError: unknown comparison operator {cmp_op}")
    if sub is _ANY and jop == "==" and json_kind(value) in ("n", "s"):
        return _member_fast(name, sub, [value])        # runs[any] = v: same truth as runs[any] in (v)
    if sub is None and jop == "==" and json_kind(value) in ("n", "s"):
        return _equals_fast(name, value)
    return lambda f: _each(_unwrap(_items(f.metadata, name, sub)), lambda x: jcmp(x, jop, value))


def _equals_fast(name: str, value: Any) -> Pred:
    """``name = constant`` (the commonest form) without building item lists."""
    kind = json_kind(value)

    def equals(f):
        v = f.metadata.get(name, _MISSING)
        if v is _MISSING:
            return False
        if not isinstance(v, list):
            k = json_kind(v)
            if k == kind:
                return v == value
            return False if k == "z" else None
        return _each(_unwrap([v]), lambda x: jcmp(x, "==", value))
    return equals


def _member_fast(name: str, sub: Any, values: list) -> Pred:
    """``$."name"[*] ? (@ == v1 || ...)`` for number/string constants: True iff some (unwrapped) element equals
    a constant of the same JSON type, else False (``@?`` never answers unknown)."""
    vs = set(values)

    def slow(f):
        items = _unwrap(_items(f.metadata, name, sub))
        return any(_each(_unwrap([x]), lambda v: _each(values, lambda c: jcmp(v, "==", c))) is True
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


def _length_term(op: str, exp, name: str) -> Pred:
    def length(f):
        v = f.metadata.get(name, _MISSING)
        if v is _MISSING or v is None:
            return None
        if not isinstance(v, list):
            raise pg_error("cannot get array length of a non-array")
        return len(v)

    def numeric(v):
        if json_kind(v) != "n":
            raise pg_error(f"invalid array length comparison with {v!r}")
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
            raise pg_error(f"operator does not exist: integer {jop} integer")
        return lambda f: None if (n := length(f)) is None else jcmp(n, "==" if jop in ("=", "==") else jop, value)
    raise unsupported(f"{op} on len()")
