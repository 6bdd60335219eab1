"""The lexical layer shared by every split type: splitting a parameter list at top-level separators,
``name=value`` arguments, quoting, integers, durations and timestamps.  Each reader raises InvalidInput whose
message starts with the split type's syntax (``syntax``), names the parameter and shows the offending value.
"""
from __future__ import annotations

import datetime as dt
import re

from ...errors import InvalidInput

DURATION_RE = re.compile(r"^(\d+)\s*([smhdw])$")
UNITS = (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
ITEM_PREFIX_RE = re.compile(r"^(param|project_id|query)\s*:\s*(.*)$", re.IGNORECASE | re.DOTALL)


def split_top(body: str, seps: str, syntax: str) -> list[str]:
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


def positive_int(syntax: str, name: str, value: str, minimum: int = 1) -> int:
    v = value.strip()
    if not re.fullmatch(r"\d+", v) or int(v) < minimum:
        what = "a positive integer" if minimum == 1 else "a non-negative integer"
        raise InvalidInput(f"{syntax}: {name} must be {what}, got {v!r}.")
    return int(v)


def keyword_args(syntax: str, body: str, allowed: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    if not body:
        return out
    for part in split_top(body, ",", syntax):
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


def unquote(item: str) -> str:
    if len(item) >= 2 and item[0] == item[-1] and item[0] in "'\"" and item[0] not in item[1:-1]:
        return item[1:-1].strip()
    return item


def looks_prefixed_or_quoted(value: str) -> bool:
    return bool(ITEM_PREFIX_RE.match(value)) or unquote(value) != value


def duration(syntax: str, name: str, value: str, *, allow_zero: bool) -> int:
    m = DURATION_RE.match(value.strip().lower())
    seconds = int(m.group(1)) * dict(UNITS)[m.group(2)] if m else -1
    if seconds < 0 or (seconds == 0 and not allow_zero):
        raise InvalidInput(f"{syntax}: {name} must be a {'non-negative' if allow_zero else 'positive'} duration "
                           f"like 1d, 12h, 30m, 90s or 2w, got {value!r}.")
    return seconds


def timestamp(syntax: str, name: str, value: str) -> dt.datetime:
    v = value.strip()
    try:
        if re.fullmatch(r"\d+", v):
            return dt.datetime.fromtimestamp(int(v), dt.timezone.utc)
        t = dt.datetime.fromisoformat(v)
    except (ValueError, OverflowError, OSError):
        raise InvalidInput(f"{syntax}: {name} must be a date/time like 2026-01-31 or 2026-01-31T12:00:00Z "
                           f"(UTC unless an offset is given) or Unix seconds, got {value!r}.") from None
    return (t.replace(tzinfo=dt.timezone.utc) if t.tzinfo is None else t).astimezone(dt.timezone.utc)


def render_duration(seconds: int) -> str:
    """The shortest ``<integer><unit>`` text for a duration (``duration`` reads it back)."""
    if seconds == 0:
        return "0s"
    unit, size = next((u, s) for u, s in UNITS if seconds % s == 0)
    return f"{seconds // size}{unit}"


def render_time(t: dt.datetime) -> str:
    """An aware datetime as ISO UTC with ``Z`` (``timestamp`` reads it back)."""
    return t.astimezone(dt.timezone.utc).replace(tzinfo=None).isoformat() + "Z"
