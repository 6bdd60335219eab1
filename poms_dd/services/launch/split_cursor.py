"""Checking a split cursor that a person typed (the stage owner's "edit cursor", SPEC §5).

A cursor is the JSON object a split type keeps between launches.  An edit is accepted only in the shape the
split type itself writes, so a typo cannot make the next launch fail or take the wrong files:

* the keys must be ones the split type uses: for the split types listed in :data:`KNOWN_KEYS` exactly those;
  for the others, ``epoch`` and the keys the cursor holds now (written by the split type), each with a value
  of the same JSON type (scalars only: nested values cannot be edited here);
* ``epoch``, ``k``, ``slices``, ``prefix``, ``run``, ``last`` are whole numbers from 0; ``boundary`` a MetaCat
  fid (or null); ``start`` (new) a UTC time ``YYYY-MM-DD HH:MM:SS``;
  ``baseline`` ``{"count": whole number, "at": "YYYY-MM-DD HH:MM:SS"}`` (UTC);
* ``exhausted_at`` is a note of poms_dd's (when a launch found the split exhausted), not state: an edit
  removes it.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any, Mapping

from ...errors import InvalidInput
from ..campaigns.values import BIGINT_MAX, kind, shown
from .resolve import STAGE_NOTES

COUNTERS = ("epoch", "k", "slices", "prefix", "run", "last")
KNOWN_KEYS: dict[str, tuple[str, ...]] = {
    "drainingn": ("epoch", "slices", "prefix", "boundary", "baseline"),
    "nfiles": ("epoch", "k", "baseline"),
    "mod": ("epoch", "k", "baseline"),
    "byrun": ("epoch", "slices", "run", "baseline"),
    "byexistingruns": ("epoch", "slices", "last", "baseline"),
    "list": ("epoch", "k"),
    "multiparam": ("epoch", "k"),
    "new": ("epoch", "slices", "start"),
    "limitn": ("epoch",),
    "draining": ("epoch",),
}
MAX_KEYS = 50
MAX_TEXT = 200
_FID = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
_UTC = "%Y-%m-%d %H:%M:%S"


def cursor_keys(split_kind: str, current: Mapping[str, Any]) -> tuple[str, ...]:
    """The keys an edit of this split type's cursor may hold."""
    if split_kind in KNOWN_KEYS:
        return KNOWN_KEYS[split_kind]
    return tuple(dict.fromkeys(["epoch", *(k for k in current if k not in STAGE_NOTES)]))


def checked_cursor(split_kind: str, current: Mapping[str, Any], new: Any) -> dict[str, Any]:
    """``new`` as the cursor to store (notes removed).  Raises InvalidInput naming each bad key and why."""
    example = '{"k": 3}' if "k" in cursor_keys(split_kind, current) else '{"epoch": 1}'
    if not isinstance(new, Mapping):
        message = f"The cursor must be a JSON object, e.g. {example}; got {kind(new)}."
        raise InvalidInput(message, field_errors={"cursor": [message]})
    if len(new) > MAX_KEYS:
        message = f"A cursor has at most {MAX_KEYS} keys (got {len(new)})."
        raise InvalidInput(message, field_errors={"cursor": [message]})
    allowed = cursor_keys(split_kind, current)
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    for key, value in new.items():
        if key in STAGE_NOTES:
            continue
        problem = _problem(split_kind, key, value, allowed, current)
        if problem:
            errors.setdefault(f"cursor.{str(key)[:60]}", []).append(problem)
        else:
            out[key] = value
    if errors:
        names = ", ".join(k.removeprefix("cursor.") for k in errors)
        raise InvalidInput(f"The cursor of {split_kind} cannot be saved ({names}); nothing was changed.",
                           field_errors=errors)
    return out


def _problem(split_kind: str, key: str, value: Any, allowed: tuple[str, ...],
             current: Mapping[str, Any]) -> str | None:
    if key not in allowed:
        return f"{split_kind} does not use a cursor key {shown(key)}; its keys are {', '.join(allowed)}."
    if key in COUNTERS:
        return _counter(key, value)
    if key == "boundary":
        if value is None or (isinstance(value, str) and _FID.match(value)):
            return None
        return f"boundary must be a MetaCat file id (letters, digits, '_', '.', '-') or null, got {shown(value)}."
    if key == "baseline":
        return _baseline(value)
    if key == "start":
        try:
            dt.datetime.strptime(value, _UTC)
            return None
        except (TypeError, ValueError):
            return f"start must be a UTC time written YYYY-MM-DD HH:MM:SS, got {shown(value)}."
    return _same_type(key, value, current.get(key))


def _counter(key: str, value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return f"{key} must be a whole number from 0, got {shown(value)}."
    if not 0 <= value <= BIGINT_MAX:
        return f"{key} must be a whole number from 0 to {BIGINT_MAX}, got {shown(value)}."
    return None


def _baseline(value: Any) -> str | None:
    expected = 'baseline must be {"count": a whole number from 0, "at": "YYYY-MM-DD HH:MM:SS" (UTC)}'
    if not isinstance(value, Mapping) or set(value) != {"count", "at"}:
        return f"{expected}, got {shown(value)}."
    if _counter("count", value["count"]) is not None or not isinstance(value["at"], str):
        return f"{expected}, got {shown(value)}."
    try:
        dt.datetime.strptime(value["at"], _UTC)
    except ValueError:
        return f"{expected}, got at = {shown(value['at'])}."
    return None


def _same_type(key: str, value: Any, now: Any) -> str | None:
    """A key of a split type this module does not know in detail: a scalar of the type it has now."""
    if isinstance(now, (Mapping, list)):
        return f"{key} holds {kind(now)}, which cannot be edited here; leave it as it is ({shown(now)})."
    if value is None:
        return None
    if now is not None and type(now) is not type(value):
        return f"{key} must be {kind(now)} like its current value {shown(now)}, got {shown(value)}."
    if isinstance(value, (bool, float)):
        return None
    if isinstance(value, int):
        return None if 0 <= value <= BIGINT_MAX else f"{key} must be a whole number from 0 to {BIGINT_MAX}."
    if isinstance(value, str):
        ok = len(value) <= MAX_TEXT and value.isprintable()
        return None if ok else f"{key} must be at most {MAX_TEXT} printable characters."
    return f"{key} must be a number, text, true/false or null, got {kind(value)}."
