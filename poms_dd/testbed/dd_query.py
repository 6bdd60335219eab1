"""The Data Dispatcher ``search_projects`` query language (PROTOCOLS §1.5), evaluated in Python.

The text is parsed with Data Dispatcher's own Lark grammar, loaded from the installed package file
(``data_dispatcher/query/grammar.py``) without importing ``data_dispatcher.query``, whose ``__init__`` needs the
server's database modules.  The parse tree is then evaluated against a project's ``attributes`` with the
semantics of the Postgres JSONPath the 2.0.3 server compiles to: lax mode (a scalar comparison on an array
matches any element), type-strict comparisons, three-valued logic (a type mismatch is *unknown*, which ``!``
keeps unknown and which does not select).

2.0.3 quirks mirrored: object attributes (``owner``, ``state``, ``created``, ``ended``, ``id``, ``query``) raise
``QueryError`` (the server answers 500); ``name in lo:hi`` on a plain attribute is always true; ``name[0]``
subscripts raise (AssertionError on the server, 500).
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
    def __init__(self, attrs: dict) -> None:
        self.attrs = attrs

    def values(self, scalar: Tree) -> tuple[str, list]:
        """(mode, items): mode is "any", "all" or "len"."""
        kind = scalar.data
        if kind == "object_attribute":
            raise QueryError(f"Unrecognized attribute name: {scalar.children[0].value}")
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

    def ev(self, node: Tree) -> bool | None:
        kind = node.data
        ch = node.children
        if kind == "meta_or":
            return any_of(self.ev(c) for c in ch)
        if kind == "meta_and":
            return all_of(self.ev(c) for c in ch)
        if kind == "meta_not":
            return negate(self.ev(ch[0]))
        if kind == "cmp_op":
            scalar, op, const = ch
            c = _constant(const)
            return self.quantify(scalar, lambda v: _cmp1(v, op.value, c))
        if kind in ("in_range", "not_in_range"):
            scalar, lo, hi = ch
            if scalar.data == "meta_attribute":
                self.values(scalar)
                return True                      # 2.0.3: a range on a plain attribute compiles to "true"
            lo_v, hi_v = _constant(lo), _constant(hi)
            r = self.quantify(scalar, lambda v: all_of((_cmp1(v, ">=", lo_v), _cmp1(v, "<=", hi_v))))
            return r if kind == "in_range" else negate(r)
        if kind in ("in_set", "not_in_set"):
            scalar, clist = ch
            consts = [_constant(c) for c in clist.children]
            r = self.quantify(scalar, lambda v: _any(consts, lambda c: _cmp1(v, "=", c)))
            return r if kind == "in_set" else negate(r)
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


def matches(tree: Tree, attributes: dict) -> bool:
    """True when the project attributes satisfy the parsed query; raises ``QueryError`` (server 500)."""
    return _Evaluator(attributes or {}).ev(tree) is True


__all__ = ["parse", "matches", "QueryError", "Token"]
