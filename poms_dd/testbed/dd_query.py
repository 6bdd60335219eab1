"""The Data Dispatcher ``search_projects`` query language (PROTOCOLS §1.5), evaluated in Python.

The text is parsed with Data Dispatcher's own Lark grammar, loaded from the installed package file
(``data_dispatcher/query/grammar.py``) without importing ``data_dispatcher.query``, whose ``__init__`` needs the
server's database modules.  The parse tree is then evaluated against a project's ``attributes`` with the
semantics of the Postgres JSONPath the 2.0.3 server compiles to: lax mode (a scalar comparison on an array
matches any element), type-strict comparisons, three-valued logic (a type mismatch is *unknown*, which ``!``
keeps unknown and which does not select).

The project columns ``owner`` and ``state`` are compared as text (``owner = 'bob'``, ``state in ('active',
'done')``; a non-string constant is a PostgreSQL error, 500), as on the real 2.0.3 server.  2.0.3 quirks
mirrored: the other object attributes (``created``, ``ended``, ``id``, ``query``) raise ``QueryError`` (the
server answers 500); ``name in lo:hi`` on a plain attribute is always true; ``name[0]`` subscripts raise
(AssertionError on the server, 500).
"""
from __future__ import annotations

import importlib.util
import os
import re
from typing import Any

from lark import Lark, Token, Tree

from .tvl import UNKNOWN, all_of, any_of, json_kind, negate



class QueryError(ValueError):
    """The query cannot be evaluated the way the 2.0.3 server would (it answers 500)."""


def _load_grammar() -> str:
    spec = importlib.util.find_spec("data_dispatcher")
    path = os.path.join(list(spec.submodule_search_locations)[0], "query", "grammar.py")
    gspec = importlib.util.spec_from_file_location("_dd_project_query_grammar", path)
    module = importlib.util.module_from_spec(gspec)
    gspec.loader.exec_module(module)
    return module.ProjectQueryGrammar


_PARSER: Lark | None = None


def parse(text: str) -> Tree:
    """Parse a project query; raises ``lark.exceptions.LarkError`` on a syntax error."""
    global _PARSER
    if _PARSER is None:
        _PARSER = Lark(_load_grammar(), start="metadata_expression")
    return _PARSER.parse(text)


def _constant(node: Tree) -> Any:
    tok = node.children[0]
    if node.data == "int_constant":
        return int(tok.value)
    if node.data == "float_constant":
        return float(tok.value)
    if node.data == "bool_constant":
        return tok.value.lower() == "true"
    s = tok.value
    return s[1:-1] if s[:1] in ("'", '"') else s


def _cmp1(v: Any, op: str, c: Any) -> bool | None:
    if op in ("~", "!~", "~*", "!~*"):
        if not isinstance(v, str) or not isinstance(c, str):
            return UNKNOWN
        found = re.search(c, v, re.I if op.endswith("*") else 0) is not None
        return found if not op.startswith("!") else not found
    kind = json_kind(v)
    if kind != json_kind(c) or kind in ("o", "z"):
        return UNKNOWN
    if op in ("=", "=="):
        return v == c
    if op == "!=":
        return v != c
    if kind == "b":
        return UNKNOWN
    return {"<": v < c, "<=": v <= c, ">": v > c, ">=": v >= c}.get(op, UNKNOWN)


def _any(values: list, pred) -> bool | None:
    """JSONPath predicate over a sequence: true if any item is true, else unknown if any is, else false."""
    return any_of(pred(v) for v in values)


def _path(attrs: dict, dotted: str) -> tuple[bool, Any]:
    cur: Any = attrs
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return False, None
        cur = cur[part]
    return True, cur


class _Evaluator:
    def __init__(self, attrs: dict, columns: dict[str, str]) -> None:
        self.attrs = attrs
        self.columns = columns

    def values(self, scalar: Tree) -> tuple[str, list]:
        """(mode, items): mode is "any", "all" or "len"."""
        kind = scalar.data
        if kind == "object_attribute":
            column = scalar.children[0].value
            if column not in self.columns:
                raise QueryError(f"Unrecognized attribute name: {column}")
            return "any", [self.columns[column]]
        if kind == "array_subscript":
            raise QueryError("array subscripts are not supported by the 2.0.3 server")
        name = scalar.children[0].value
        present, v = _path(self.attrs, name)
        if kind == "array_length":
            if not present:
                return "len", []
            return "len", [len(v) if isinstance(v, list) else 1]
        items = ([] if not present else v if isinstance(v, list) else [v])
        if kind == "array_all":
            return "all", (v if present and isinstance(v, list) else [])
        return "any", items

    def quantify(self, scalar: Tree, pred) -> bool | None:
        mode, items = self.values(scalar)
        if mode == "all":
            if not items:
                return False
            return negate(_any(items, lambda x: negate(pred(x))))
        return _any(items, pred)

    def comparison(self, kind: str, ch: list) -> bool | None:
        """``x OP c``, ``x [not] in lo:hi``, ``x [not] in (c, ...)``; x a project attribute or column."""
        scalar, consts = ch[0], ([_constant(c) for c in ch[1].children] if kind.endswith("in_set")
                                 else [_constant(c) for c in ch[1:] if isinstance(c, Tree)])
        if scalar.data == "object_attribute" and any(not isinstance(c, str) for c in consts):
            raise QueryError(f"operator does not exist: text = {consts!r}")     # text columns (PostgreSQL)
        if kind == "cmp_op":
            op = ch[1].value
            return self.quantify(scalar, lambda v: _cmp1(v, op, consts[0]))
        if kind.endswith("in_range"):
            if scalar.data == "meta_attribute":
                self.values(scalar)
                return True                      # 2.0.3: a range on a plain attribute compiles to "true"
            lo_v, hi_v = consts
            r = self.quantify(scalar, lambda v: all_of((_cmp1(v, ">=", lo_v), _cmp1(v, "<=", hi_v))))
        else:
            r = self.quantify(scalar, lambda v: _any(consts, lambda c: _cmp1(v, "=", c)))
        return negate(r) if kind.startswith("not_") else r

    def ev(self, node: Tree) -> bool | None:
        kind = node.data
        ch = node.children
        if kind == "meta_or":
            return any_of(self.ev(c) for c in ch)
        if kind == "meta_and":
            return all_of(self.ev(c) for c in ch)
        if kind == "meta_not":
            return negate(self.ev(ch[0]))
        if kind in ("cmp_op", "in_range", "not_in_range", "in_set", "not_in_set"):
            return self.comparison(kind, ch)
        if kind in ("present", "not_present"):
            found, _ = _path(self.attrs, ch[0].value)
            return found if kind == "present" else not found
        if kind in ("constant_in_attr", "constant_not_in_attr"):
            raise QueryError(f"Unrecognized attribute name: {ch[1].value}")
        if kind in ("constant_in_meta", "constant_not_in_meta"):
            c = _constant(ch[0])
            name = Tree("array_any", [ch[1]])
            r = self.quantify(name, lambda v: _cmp1(v, "=", c))
            if isinstance(c, str) and r is not True:
                sub = self.quantify(Tree("meta_attribute", [ch[1]]), lambda v: _cmp1(v, "~", f".*{re.escape(c)}.*"))
                r = True if sub else (UNKNOWN if UNKNOWN in (r, sub) else False)
            return r if kind == "constant_in_meta" else negate(r)
        if isinstance(node, Tree) and len(ch) == 1 and isinstance(ch[0], Tree):
            return self.ev(ch[0])
        raise QueryError(f"Unsupported query element {kind}")


def matches(tree: Tree, attributes: dict, columns: dict[str, str] | None = None) -> bool:
    """True when the project satisfies the parsed query; raises ``QueryError`` (server 500).

    ``attributes`` are the project attributes; ``columns`` the project columns the query may name
    (``{"owner": ..., "state": ...}``, compared as text)."""
    return _Evaluator(attributes or {}, columns or {}).ev(tree) is True


__all__ = ["parse", "matches", "QueryError", "Token"]
