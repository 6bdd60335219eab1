"""``new(window=1d,round=,fts=,localtime=,firsttime=,lasttime=)``: each launch takes the files of the stage
query created in the next time window."""
from __future__ import annotations

from typing import Any, Mapping

from ...errors import InvalidInput
from .base import SplitType
from .grammar import duration, keyword_args, render_duration, render_time, timestamp

DEFAULT_WINDOW = 86400
_NAMES = ("window", "round", "fts", "localtime", "firsttime", "lasttime")


class New(SplitType):
    kind = "new"
    syntax = "new(window=1d,round=,fts=,localtime=,firsttime=,lasttime=)"
    description = "Each launch takes the files of the query created in the next time window."

    def parse_params(self, label: str, body: str) -> dict[str, Any]:
        kw = keyword_args(label, body, _NAMES)
        out: dict[str, Any] = {
            "window": duration(label, "window", kw["window"], allow_zero=False) if kw.get("window")
            else DEFAULT_WINDOW,
            "round": duration(label, "round", kw["round"], allow_zero=False) if kw.get("round") else None,
            "fts": duration(label, "fts", kw["fts"], allow_zero=True) if kw.get("fts") else None,
            "firsttime": timestamp(label, "firsttime", kw["firsttime"]) if kw.get("firsttime") else None,
            "lasttime": timestamp(label, "lasttime", kw["lasttime"]) if kw.get("lasttime") else None,
        }
        out["localtime"] = _flag(label, kw.get("localtime", ""))
        if out["firsttime"] and out["lasttime"] and out["firsttime"] > out["lasttime"]:
            raise InvalidInput(f"{label}: firsttime ({render_time(out['firsttime'])}) must not be after lasttime "
                               f"({render_time(out['lasttime'])}).")
        return out

    def render(self, params: Mapping[str, Any]) -> str:
        parts = [f"window={render_duration(params['window'])}"]
        for name in ("round", "fts"):
            if params.get(name) is not None:
                parts.append(f"{name}={render_duration(params[name])}")
        if params.get("localtime"):
            parts.append("localtime=true")
        for name in ("firsttime", "lasttime"):
            if params.get(name) is not None:
                parts.append(f"{name}={render_time(params[name])}")
        return f"new({','.join(parts)})"


def _flag(label: str, text: str) -> bool:
    value = text.lower()
    if value not in ("", "0", "1", "true", "false", "yes", "no"):
        raise InvalidInput(f"{label}: localtime must be true or false, got {text!r}.")
    return value in ("1", "true", "yes")
