"""Parse and validate split-type strings (SPEC §5) into a frozen :class:`SplitSpec`.

Syntax accepted (whitespace around names, parameters and separators is ignored)::

    draining                      drainingn(n)        nfiles(n)        limitn(n)       mod(m)
    stagedfiles(n)                byrun(low=a,high=b[,key=core.runs])  byexistingruns[(key=core.runs)]
    list(ITEM, ITEM, ...)         ITEM = param: x | project_id: 23 | query: MQL | MQL
                                  (separate items with ';' instead when an item contains a comma that is
                                  not inside parentheses or quotes, e.g. ``fids 12,13``)
    multiparam([a,b,c],[d,e])     every combination a_d, b_d, ... is one parameter launch
    new(window=1d,round=1h,fts=2h,localtime=true,firsttime=2026-01-01,lasttime=2026-02-01T12:00:00Z)

Durations are ``<integer><unit>`` with unit s, m, h, d or w; times are ISO dates/datetimes (UTC unless an
offset is given) or integer Unix seconds.  ``parse`` raises InvalidInput with a message naming the split
type, the parameter and the offending value.  Each type's own parameters are read by its module.
"""
from __future__ import annotations

import re

from ...errors import InvalidInput
from .grammar import split_top
from .registry import SPLIT_TYPES
from .spec import SplitSpec


def parse_optional(text: str | None) -> SplitSpec | None:
    """``None`` for a blank split type, else :func:`parse`."""
    if text is None or not text.strip():
        return None
    return parse(text)


def parse(text: str) -> SplitSpec:
    """Parse a split-type string.  Raises InvalidInput (message names the type, parameter and value)."""
    if text is None or not text.strip():
        raise InvalidInput("The split type is empty.")
    m = re.match(r"^\s*([A-Za-z_]+)\s*(?:\((.*)\))?\s*$", text, re.DOTALL)
    if not m:
        raise InvalidInput(f"Cannot read split type {text.strip()!r}: write it as name or name(parameters), "
                           f"e.g. drainingn(5). Known types: {_known()}.")
    kind, body = m.group(1).lower(), m.group(2)
    if kind not in SPLIT_TYPES:
        raise InvalidInput(f"Unknown split type {m.group(1)!r}. Known types: {_known()}.")
    split_type = SPLIT_TYPES[kind]
    label = split_type.syntax if len(split_type.syntax) <= 20 else f"{kind}(...)"
    split_top(body or "", ",", label)  # checks that parentheses, brackets and quotes balance
    return SplitSpec(split_type, split_type.parse_params(label, (body or "").strip()))


def _known() -> str:
    return ", ".join(t.syntax for t in SPLIT_TYPES.values())
