"""Per-type validation: each split type's parameter list (the text between its parentheses) read into the
``params`` of a :class:`~.spec.SplitSpec`.  Every reader takes ``(syntax, body)`` and raises InvalidInput naming
the split type, the parameter and the offending value."""
from __future__ import annotations

import re
from typing import Any

from ...errors import InvalidInput
from .catalogue import DEFAULT_RUN_KEY, DEFAULT_WINDOW
from .grammar import ITEM_PREFIX_RE, duration, keyword_args, positive_int, split_top, timestamp, unquote
from .render import render_time
from .spec import ListItem

_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
_PARAM_TOKEN_RE = re.compile(r"^[^\s\[\](),;'\"]+$")


def _run_key(syntax: str, value: str | None) -> str:
    if value is None or value == "":
        return DEFAULT_RUN_KEY
    if not _KEY_RE.match(value):
        raise InvalidInput(f"{syntax}: key must be a metadata field name like core.runs, got {value!r}.")
    return value


def _parse_none(syntax: str, body: str) -> dict[str, Any]:
    if body:
        raise InvalidInput(f"{syntax}: takes no parameters, got {body!r}.")
    return {}


def _parse_single(name: str):
    def parser(syntax: str, body: str) -> dict[str, Any]:
        if not body:
            raise InvalidInput(f"{syntax}: {name} is missing, e.g. {syntax.split('(')[0]}(5).")
        if "," in body:
            raise InvalidInput(f"{syntax}: takes exactly one parameter {name}, got {body!r}.")
        return {name: positive_int(syntax, name, body)}
    return parser


def _parse_byrun(syntax: str, body: str) -> dict[str, Any]:
    kw = keyword_args(syntax, body, ("low", "high", "key"))
    missing = [n for n in ("low", "high") if n not in kw]
    if missing:
        raise InvalidInput(f"{syntax}: {' and '.join(missing)} missing, e.g. byrun(low=1200,high=1300).")
    low = positive_int(syntax, "low", kw["low"], minimum=0)
    high = positive_int(syntax, "high", kw["high"], minimum=0)
    if low > high:
        raise InvalidInput(f"{syntax}: low ({low}) must not be greater than high ({high}).")
    return {"low": low, "high": high, "key": _run_key(syntax, kw.get("key"))}


def _parse_byexistingruns(syntax: str, body: str) -> dict[str, Any]:
    kw = keyword_args(syntax, body, ("key",))
    return {"key": _run_key(syntax, kw.get("key"))}


def _parse_list(syntax: str, body: str) -> dict[str, Any]:
    seps = ";" if len(split_top(body, ";", syntax)) > 1 else ","
    raw = [p.strip() for p in split_top(body, seps, syntax)]
    if not body or any(not p for p in raw):
        raise InvalidInput(f"{syntax}: every item must be non-empty (items separated by '{seps}'), got {body!r}.")
    items = []
    for n, part in enumerate(raw, 1):
        part = unquote(part)
        m = ITEM_PREFIX_RE.match(part)
        kind, value = (m.group(1).lower(), m.group(2).strip()) if m else ("query", part)
        if not value:
            raise InvalidInput(f"{syntax}: item {n} ({part!r}) has no value after '{kind}:'.")
        if kind == "project_id":
            items.append(ListItem(kind, positive_int(syntax, f"item {n} project_id", value)))
        else:
            items.append(ListItem(kind, value))
    return {"items": tuple(items)}


def _parse_multiparam(syntax: str, body: str) -> dict[str, Any]:
    lists = []
    for n, part in enumerate(split_top(body, ",", syntax), 1):
        part = part.strip()
        if not (part.startswith("[") and part.endswith("]")):
            raise InvalidInput(f"{syntax}: list {n} must be written in brackets like [a,b], got {part!r}.")
        values = tuple(v.strip() for v in part[1:-1].split(","))
        for v in values:
            if not _PARAM_TOKEN_RE.match(v):
                raise InvalidInput(f"{syntax}: value {v!r} in list {n} must be non-empty and contain no spaces, "
                                   "brackets, parentheses, commas, semicolons or quotes.")
        lists.append(values)
    return {"lists": tuple(lists)}


def _parse_new(syntax: str, body: str) -> dict[str, Any]:
    kw = keyword_args(syntax, body, ("window", "round", "fts", "localtime", "firsttime", "lasttime"))
    out: dict[str, Any] = {
        "window": duration(syntax, "window", kw["window"], allow_zero=False) if kw.get("window") else DEFAULT_WINDOW,
        "round": duration(syntax, "round", kw["round"], allow_zero=False) if kw.get("round") else None,
        "fts": duration(syntax, "fts", kw["fts"], allow_zero=True) if kw.get("fts") else None,
        "localtime": False,
        "firsttime": timestamp(syntax, "firsttime", kw["firsttime"]) if kw.get("firsttime") else None,
        "lasttime": timestamp(syntax, "lasttime", kw["lasttime"]) if kw.get("lasttime") else None,
    }
    lt = kw.get("localtime", "").lower()
    if lt not in ("", "0", "1", "true", "false", "yes", "no"):
        raise InvalidInput(f"{syntax}: localtime must be true or false, got {kw['localtime']!r}.")
    out["localtime"] = lt in ("1", "true", "yes")
    if out["firsttime"] and out["lasttime"] and out["firsttime"] > out["lasttime"]:
        raise InvalidInput(f"{syntax}: firsttime ({render_time(out['firsttime'])}) must not be after lasttime "
                           f"({render_time(out['lasttime'])}).")
    return out


PARSE = {
    "draining": _parse_none, "drainingn": _parse_single("n"), "nfiles": _parse_single("n"),
    "limitn": _parse_single("n"), "mod": _parse_single("m"), "stagedfiles": _parse_single("n"),
    "byrun": _parse_byrun, "byexistingruns": _parse_byexistingruns, "list": _parse_list,
    "multiparam": _parse_multiparam, "new": _parse_new,
}
