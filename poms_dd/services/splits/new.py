"""``new(window=1d,round=,fts=,localtime=,firsttime=,lasttime=)``: each launch takes the files of the stage
query created in the next time window.

Windows are half-open, ``[A, B)``, in whole UTC seconds, and the MQL compares ``created_timestamp`` with quoted
UTC timestamp strings — ``(Q) where created_timestamp >= 'A' and created_timestamp < 'B'`` — because real
MetaCat fails (500) on ``datetime()`` and epoch numbers (PROTOCOLS.md §8).  MetaCat's parser (4.1) fails on
``(Q) where ...`` when Q is a plain query with a where clause of its own (``BasicFileQuery.addWhere`` builds a
broken node: "unhashable type: 'slice'"), the most common stage query; for such a Q the same files are selected
in a form it accepts (``restrict.py``).  The cursor ``{"start": A, "slices": k}`` holds the
start of the next window (a UTC string), so consecutive windows neither overlap nor leave gaps.

* First window: it starts at ``firsttime`` when given (as written, not rounded), else at the creation time of
  the first file of ``(Q) ordered``, rounded down to a multiple of ``round`` (when given; ``localtime=true``
  rounds in the local time zone of the machine running poms_dd — ``round=1d`` then starts at local midnight —
  using the UTC offset at that moment; without ``localtime`` rounding is in UTC).  Later windows follow at
  fixed steps of ``window`` seconds (``window`` must be a multiple of ``round``, so they stay rounded).
* Empty windows are skipped: the next window is the one holding the next file, found with one query
  ``(Q) where created_timestamp >= 'A' ordered limit 1`` (not window by window).
* A window is launched only when it is complete: it ends at or before now − ``fts`` (the time the file
  catalogue may take to register new files; none by default).  ``lasttime`` ends the last window early (files
  created at or after it are never taken).
* None (exhausted) when no complete window with files remains; later launches see newer files (``refills``).
"""
from __future__ import annotations

import datetime as dt
import math
from typing import Any, Mapping

from ...errors import InvalidInput
from .base import Slice, SliceSource, SplitType, parenthesised, utc_text
from .restrict import restrict
from .grammar import duration, keyword_args, render_duration, render_time, timestamp

DEFAULT_WINDOW = 86400
_NAMES = ("window", "round", "fts", "localtime", "firsttime", "lasttime")
UTC = dt.timezone.utc


class New(SplitType):
    kind = "new"
    syntax = "new(window=1d,round=,fts=,localtime=,firsttime=,lasttime=)"
    description = "Each launch takes the files of the query created in the next time window."
    refills = True
    help = ("Each launch takes the files of the query created in the next time window of length window (1 day "
            "unless given), compared with MetaCat's created_timestamp in UTC. The first window starts at "
            "firsttime, or at the first file's creation time rounded down to a multiple of round (in the local "
            "time zone of the poms_dd server with localtime=true). Windows without files are skipped; a window "
            "is launched only once it ended at least fts ago, and no window goes past lasttime. When no "
            "complete window with files is left the launch says there is nothing new yet.")
    drift_help = ("Files are taken by their creation time: new files fall into later windows and are taken by "
                  "later launches. A file retired before its window is launched is not taken; windows already "
                  "launched are not looked at again (reset the split to start from the first window again).")

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
        if out["round"] and out["window"] % out["round"]:
            raise InvalidInput(f"{label}: window ({render_duration(out['window'])}) must be a multiple of round "
                               f"({render_duration(out['round'])}), so that every window starts on a rounded time.")
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

    def next_slice(self, params: Mapping[str, Any], query: str | None, cursor: Mapping[str, Any],
                   source: SliceSource) -> Slice | None:
        """The next complete window holding files of the query (see the module docstring); None when none is."""
        if not (query or "").strip():
            raise InvalidInput(f"The split type {self.render(params)} needs the stage's MQL query.")
        q = parenthesised(query or "")
        window, lasttime = int(params["window"]), params.get("lasttime")
        if "start" in cursor:
            start, first = _read_time(cursor["start"]), None
        elif params.get("firsttime") is not None:
            start, first = _whole_seconds(params["firsttime"]), None
        else:
            first = _first_created(f"{q} ordered limit 1", source)
            if first is None:
                return None                                  # the query has no files (yet)
            start = _rounded(first, params.get("round"), bool(params.get("localtime")))
        if first is None:
            after = restrict(query or "", f"created_timestamp >= '{utc_text(start)}'")
            first = _first_created(f"({after}) ordered limit 1", source)
        if first is None or (lasttime is not None and first >= lasttime):
            return None
        begin = start + dt.timedelta(seconds=window * int((first - start).total_seconds() // window))
        end = begin + dt.timedelta(seconds=window)
        if lasttime is not None:
            end = min(end, _whole_seconds(lasttime))
            if end <= begin:
                return None                                  # the next file is in lasttime's last second
        if end > source.now() - dt.timedelta(seconds=int(params.get("fts") or 0)):
            return None                                      # the window holding the next file is not complete
        a, b = utc_text(begin), utc_text(end)
        k = int(cursor.get("slices", 0))
        return Slice(key=f"window={a}", index=k,
                     mql=restrict(query or "", f"created_timestamp >= '{a}' and created_timestamp < '{b}'"),
                     cursor={**cursor, "start": b, "slices": k + 1}, covers={"window": [a, b]})


def _first_created(mql: str, source: SliceSource) -> dt.datetime | None:
    """The creation time of the first file of ``mql`` (an ordered query with limit 1), or None."""
    for f in source.files(mql):
        if f.created_timestamp is not None:
            return f.created_timestamp.astimezone(UTC)
    return None


def _whole_seconds(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(UTC).replace(microsecond=0)


def _rounded(moment: dt.datetime, step: int | None, localtime: bool) -> dt.datetime:
    """``moment`` rounded down to whole seconds, and to a multiple of ``step`` seconds when given (counted in the
    machine's local time zone when ``localtime``, with the UTC offset at ``moment``)."""
    if not step:
        return _whole_seconds(moment)
    offset = (moment.astimezone().utcoffset() or dt.timedelta()).total_seconds() if localtime else 0
    seconds = math.floor((moment.timestamp() + offset) / step) * step - offset
    return dt.datetime.fromtimestamp(seconds, UTC)


def _read_time(text: Any) -> dt.datetime:
    """A cursor's window start (written by :func:`utc_text`)."""
    try:
        return dt.datetime.strptime(str(text), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        raise InvalidInput(f"The split cursor's window start {text!r} cannot be read; reset the split.") from None


def _flag(label: str, text: str) -> bool:
    value = text.lower()
    if value not in ("", "0", "1", "true", "false", "yes", "no"):
        raise InvalidInput(f"{label}: localtime must be true or false, got {text!r}.")
    return value in ("1", "true", "yes")
