"""The canonical text of each split type's parameters (``SplitSpec.text``): what :mod:`.params` reads back
to the same parameters."""
from __future__ import annotations

import datetime as dt
from typing import Any, Mapping

from .catalogue import DEFAULT_RUN_KEY
from .grammar import UNITS, split_top


def render_duration(seconds: int) -> str:
    if seconds == 0:
        return "0s"
    unit, size = next((u, s) for u, s in UNITS if seconds % s == 0)
    return f"{seconds // size}{unit}"


def render_time(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).replace(tzinfo=None).isoformat() + "Z"


def _render_new(p: Mapping[str, Any]) -> str:
    parts = [f"window={render_duration(p['window'])}"]
    for name in ("round", "fts"):
        if p.get(name) is not None:
            parts.append(f"{name}={render_duration(p[name])}")
    if p.get("localtime"):
        parts.append("localtime=true")
    for name in ("firsttime", "lasttime"):
        if p.get(name) is not None:
            parts.append(f"{name}={render_time(p[name])}")
    return f"new({','.join(parts)})"


def _render_list(p: Mapping[str, Any]) -> str:
    texts = [i.text for i in p["items"]]
    sep = "; " if any(len(split_top(t, ",", "list")) > 1 for t in texts) else ", "
    return f"list({sep.join(texts)})"


def _render_key(p: Mapping[str, Any]) -> str:
    return "" if p["key"] == DEFAULT_RUN_KEY else f"key={p['key']}"


RENDER = {
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
