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
type, the parameter and the offending value.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from itertools import product
from typing import Any, Mapping

from ...errors import InvalidInput

QUERY_MQL = "mql"                  # the stage query is an MQL query
QUERY_DD_PROJECT_ID = "dd_project_id"  # the stage query is the id of an existing DD project
QUERY_OPTIONAL = "optional"        # the split string carries what to process; a stage query is optional MQL

DEFAULT_RUN_KEY = "core.runs"
DEFAULT_WINDOW = 86400
_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
_DURATION_RE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
_ITEM_PREFIX_RE = re.compile(r"^(param|project_id|query)\s*:\s*(.*)$", re.IGNORECASE | re.DOTALL)
_PARAM_TOKEN_RE = re.compile(r"^[^\s\[\](),;'\"]+$")


@dataclass(frozen=True)
class SplitTypeInfo:
    """What a split type is: its syntax, the form of stage query it expects, and whether its launches are
    parameter launches (the job makes its own project; POMS_DATA_DISPATCHER_PROJECT_ID left empty)."""

    kind: str
    syntax: str
    query_form: str
    parameter_launch: bool
    description: str


SPLIT_TYPES: dict[str, SplitTypeInfo] = {i.kind: i for i in (
    SplitTypeInfo("draining", "draining", QUERY_MQL, True,
                  "Each launch is a parameter launch with the whole query; the job drains it."),
    SplitTypeInfo("drainingn", "drainingn(n)", QUERY_MQL, False,
                  "Each launch takes up to n files of the query not in an earlier slice."),
    SplitTypeInfo("nfiles", "nfiles(n)", QUERY_MQL, False,
                  "Launch k takes files k·n … k·n+n−1 of the ordered query."),
    SplitTypeInfo("limitn", "limitn(n)", QUERY_MQL, False,
                  "Every launch takes the first n files of the query."),
    SplitTypeInfo("mod", "mod(m)", QUERY_MQL, False,
                  "Launch k takes every m-th file of the ordered query starting at position k (k = 0…m−1)."),
    SplitTypeInfo("byrun", "byrun(low=a,high=b[,key=core.runs])", QUERY_MQL, False,
                  "Launch k takes the files of run k, from low to high; empty runs are skipped."),
    SplitTypeInfo("byexistingruns", "byexistingruns[(key=core.runs)]", QUERY_MQL, False,
                  "Each launch takes the next run that has files in the query."),
    SplitTypeInfo("list", "list(param: x, project_id: 23, query: MQL, MQL, ...)", QUERY_OPTIONAL, False,
                  "Launch k processes item k of the list (a parameter, an existing DD project or a query)."),
    SplitTypeInfo("multiparam", "multiparam([a,b],[c,d])", QUERY_OPTIONAL, True,
                  "Launch k is a parameter launch with the k-th combination of the lists joined with '_'."),
    SplitTypeInfo("new", "new(window=1d,round=,fts=,localtime=,firsttime=,lasttime=)", QUERY_MQL, False,
                  "Each launch takes the files of the query created in the next time window."),
    SplitTypeInfo("stagedfiles", "stagedfiles(n)", QUERY_DD_PROJECT_ID, False,
                  "The stage query is a DD project id; each launch takes up to n of its done files not yet "
                  "delivered."),
)}

QUERY_FORM_TEXT = {
    QUERY_MQL: "an MQL query (e.g. files from ns:dataset)",
    QUERY_DD_PROJECT_ID: "the id of an existing Data Dispatcher project (a positive integer)",
    QUERY_OPTIONAL: "optional; the split type's items say what to process",
}


@dataclass(frozen=True)
class ListItem:
    """One item of a ``list`` split: ``kind`` is ``param``, ``project_id`` (value int) or ``query``."""

    kind: str
    value: str | int

    @property
    def text(self) -> str:
        if self.kind == "query" and not _looks_prefixed_or_quoted(str(self.value)):
            return str(self.value)
        return f"{self.kind}: {self.value}"


@dataclass(frozen=True)
class SplitSpec:
    """A parsed split type.  ``params`` per kind:

    n (drainingn, nfiles, limitn, stagedfiles); m (mod); low, high, key (byrun); key (byexistingruns);
    items: tuple[ListItem, ...] (list); lists: tuple[tuple[str, ...], ...] (multiparam);
    window, round, fts (seconds or None), localtime (bool), firsttime, lasttime (aware UTC datetime or
    None) (new).
    """

    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def info(self) -> SplitTypeInfo:
        return SPLIT_TYPES[self.kind]

    @property
    def query_form(self) -> str:
        return self.info.query_form

    @property
    def parameter_launch(self) -> bool:
        return self.info.parameter_launch

    @property
    def text(self) -> str:
        """The canonical form: ``parse(spec.text) == spec``."""
        return _RENDER[self.kind](self.params)

    def combinations(self) -> list[str]:
        """multiparam only: every combination joined with '_', the first list varying fastest as in POMS
        (a_d, b_d, a_e, b_e for [a,b],[d,e]); launch k uses element k."""
        return ["_".join(reversed(c)) for c in product(*reversed(self.params["lists"]))]


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
    syntax = SPLIT_TYPES[kind].syntax
    label = syntax if len(syntax) <= 20 else f"{kind}(...)"
    _split_top(body or "", ",", label)  # checks that parentheses, brackets and quotes balance
    return SplitSpec(kind, _PARSE[kind](label, (body or "").strip()))


def _known() -> str:
    return ", ".join(i.syntax for i in SPLIT_TYPES.values())


def _split_top(body: str, seps: str, syntax: str) -> list[str]:
    """Split at separators that are outside parentheses, brackets and quotes."""
    parts, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(body):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
            if depth < 0:
                raise InvalidInput(f"{syntax}: unbalanced {ch!r} in {body!r}.")
        elif ch in seps and depth == 0:
            parts.append(body[start:i])
            start = i + 1
    if quote:
        raise InvalidInput(f"{syntax}: unclosed quote {quote} in {body!r}.")
    if depth:
        raise InvalidInput(f"{syntax}: unclosed parenthesis or bracket in {body!r}.")
    parts.append(body[start:])
    return parts


def _positive_int(syntax: str, name: str, value: str, minimum: int = 1) -> int:
    v = value.strip()
    if not re.fullmatch(r"\d+", v) or int(v) < minimum:
        what = "a positive integer" if minimum == 1 else "a non-negative integer"
        raise InvalidInput(f"{syntax}: {name} must be {what}, got {v!r}.")
    return int(v)


def _keyword_args(syntax: str, body: str, allowed: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    if not body:
        return out
    for part in _split_top(body, ",", syntax):
        if "=" not in part:
            raise InvalidInput(f"{syntax}: expected name=value, got {part.strip()!r}.")
        name, value = (s.strip() for s in part.split("=", 1))
        name = name.lower()
        if name not in allowed:
            raise InvalidInput(f"{syntax}: unknown parameter {name!r}; allowed: {', '.join(allowed)}.")
        if name in out:
            raise InvalidInput(f"{syntax}: parameter {name!r} given twice.")
        out[name] = value
    return out


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
        return {name: _positive_int(syntax, name, body)}
    return parser


def _parse_byrun(syntax: str, body: str) -> dict[str, Any]:
    kw = _keyword_args(syntax, body, ("low", "high", "key"))
    missing = [n for n in ("low", "high") if n not in kw]
    if missing:
        raise InvalidInput(f"{syntax}: {' and '.join(missing)} missing, e.g. byrun(low=1200,high=1300).")
    low = _positive_int(syntax, "low", kw["low"], minimum=0)
    high = _positive_int(syntax, "high", kw["high"], minimum=0)
    if low > high:
        raise InvalidInput(f"{syntax}: low ({low}) must not be greater than high ({high}).")
    return {"low": low, "high": high, "key": _run_key(syntax, kw.get("key"))}


def _parse_byexistingruns(syntax: str, body: str) -> dict[str, Any]:
    kw = _keyword_args(syntax, body, ("key",))
    return {"key": _run_key(syntax, kw.get("key"))}


def _unquote(item: str) -> str:
    if len(item) >= 2 and item[0] == item[-1] and item[0] in "'\"" and item[0] not in item[1:-1]:
        return item[1:-1].strip()
    return item


def _looks_prefixed_or_quoted(value: str) -> bool:
    return bool(_ITEM_PREFIX_RE.match(value)) or _unquote(value) != value


def _parse_list(syntax: str, body: str) -> dict[str, Any]:
    seps = ";" if len(_split_top(body, ";", syntax)) > 1 else ","
    raw = [p.strip() for p in _split_top(body, seps, syntax)]
    if not body or any(not p for p in raw):
        raise InvalidInput(f"{syntax}: every item must be non-empty (items separated by '{seps}'), got {body!r}.")
    items = []
    for n, part in enumerate(raw, 1):
        part = _unquote(part)
        m = _ITEM_PREFIX_RE.match(part)
        kind, value = (m.group(1).lower(), m.group(2).strip()) if m else ("query", part)
        if not value:
            raise InvalidInput(f"{syntax}: item {n} ({part!r}) has no value after '{kind}:'.")
        if kind == "project_id":
            items.append(ListItem(kind, _positive_int(syntax, f"item {n} project_id", value)))
        else:
            items.append(ListItem(kind, value))
    return {"items": tuple(items)}


def _parse_multiparam(syntax: str, body: str) -> dict[str, Any]:
    lists = []
    for n, part in enumerate(_split_top(body, ",", syntax), 1):
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


def _duration(syntax: str, name: str, value: str, *, allow_zero: bool) -> int:
    m = _DURATION_RE.match(value.strip().lower())
    seconds = int(m.group(1)) * dict(_UNITS)[m.group(2)] if m else -1
    if seconds < 0 or (seconds == 0 and not allow_zero):
        raise InvalidInput(f"{syntax}: {name} must be a {'non-negative' if allow_zero else 'positive'} duration "
                           f"like 1d, 12h, 30m, 90s or 2w, got {value!r}.")
    return seconds


def _timestamp(syntax: str, name: str, value: str) -> dt.datetime:
    v = value.strip()
    try:
        if re.fullmatch(r"\d+", v):
            return dt.datetime.fromtimestamp(int(v), dt.timezone.utc)
        t = dt.datetime.fromisoformat(v)
    except (ValueError, OverflowError, OSError):
        raise InvalidInput(f"{syntax}: {name} must be a date/time like 2026-01-31 or 2026-01-31T12:00:00Z "
                           f"(UTC unless an offset is given) or Unix seconds, got {value!r}.") from None
    return (t.replace(tzinfo=dt.timezone.utc) if t.tzinfo is None else t).astimezone(dt.timezone.utc)


def _parse_new(syntax: str, body: str) -> dict[str, Any]:
    kw = _keyword_args(syntax, body, ("window", "round", "fts", "localtime", "firsttime", "lasttime"))
    out: dict[str, Any] = {
        "window": _duration(syntax, "window", kw["window"], allow_zero=False) if kw.get("window") else DEFAULT_WINDOW,
        "round": _duration(syntax, "round", kw["round"], allow_zero=False) if kw.get("round") else None,
        "fts": _duration(syntax, "fts", kw["fts"], allow_zero=True) if kw.get("fts") else None,
        "localtime": False,
        "firsttime": _timestamp(syntax, "firsttime", kw["firsttime"]) if kw.get("firsttime") else None,
        "lasttime": _timestamp(syntax, "lasttime", kw["lasttime"]) if kw.get("lasttime") else None,
    }
    lt = kw.get("localtime", "").lower()
    if lt not in ("", "0", "1", "true", "false", "yes", "no"):
        raise InvalidInput(f"{syntax}: localtime must be true or false, got {kw['localtime']!r}.")
    out["localtime"] = lt in ("1", "true", "yes")
    if out["firsttime"] and out["lasttime"] and out["firsttime"] > out["lasttime"]:
        raise InvalidInput(f"{syntax}: firsttime ({_render_time(out['firsttime'])}) must not be after lasttime "
                           f"({_render_time(out['lasttime'])}).")
    return out


def _render_duration(seconds: int) -> str:
    if seconds == 0:
        return "0s"
    unit, size = next((u, s) for u, s in _UNITS if seconds % s == 0)
    return f"{seconds // size}{unit}"


def _render_time(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).replace(tzinfo=None).isoformat() + "Z"


def _render_new(p: Mapping[str, Any]) -> str:
    parts = [f"window={_render_duration(p['window'])}"]
    for name in ("round", "fts"):
        if p.get(name) is not None:
            parts.append(f"{name}={_render_duration(p[name])}")
    if p.get("localtime"):
        parts.append("localtime=true")
    for name in ("firsttime", "lasttime"):
        if p.get(name) is not None:
            parts.append(f"{name}={_render_time(p[name])}")
    return f"new({','.join(parts)})"


def _render_list(p: Mapping[str, Any]) -> str:
    texts = [i.text for i in p["items"]]
    sep = "; " if any(len(_split_top(t, ",", "list")) > 1 for t in texts) else ", "
    return f"list({sep.join(texts)})"


def _render_key(p: Mapping[str, Any]) -> str:
    return "" if p["key"] == DEFAULT_RUN_KEY else f"key={p['key']}"


_PARSE = {
    "draining": _parse_none, "drainingn": _parse_single("n"), "nfiles": _parse_single("n"),
    "limitn": _parse_single("n"), "mod": _parse_single("m"), "stagedfiles": _parse_single("n"),
    "byrun": _parse_byrun, "byexistingruns": _parse_byexistingruns, "list": _parse_list,
    "multiparam": _parse_multiparam, "new": _parse_new,
}
_RENDER = {
    "draining": lambda p: "draining",
    "drainingn": lambda p: f"drainingn({p['n']})", "nfiles": lambda p: f"nfiles({p['n']})",
    "limitn": lambda p: f"limitn({p['n']})", "mod": lambda p: f"mod({p['m']})",
    "stagedfiles": lambda p: f"stagedfiles({p['n']})",
    "byrun": lambda p: f"byrun(low={p['low']},high={p['high']}" + (f",{_render_key(p)})" if _render_key(p) else ")"),
    "byexistingruns": lambda p: f"byexistingruns({_render_key(p)})" if _render_key(p) else "byexistingruns",
    "list": _render_list,
    "multiparam": lambda p: "multiparam(" + ",".join("[" + ",".join(v) + "]" for v in p["lists"]) + ")",
    "new": _render_new,
}
