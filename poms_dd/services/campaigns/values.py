"""Reading raw field values (strings from a form or INI file, or typed JSON values) into typed values, and the
one InvalidInput that carries every field message.  Shared by the campaign and stage rules."""
from __future__ import annotations

import re
from typing import Any, Mapping

from ...errors import InvalidInput


def blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and v.strip() == "")


def to_text(v: Any) -> str | None:
    return None if blank(v) else str(v).strip()


def to_int(v: Any) -> int | None:
    """The integer value of ``v`` (None when blank); raises ValueError when it is not an integer."""
    if blank(v):
        return None
    if isinstance(v, bool) or isinstance(v, float) and not v.is_integer():
        raise ValueError(v)
    return int(str(v).strip()) if isinstance(v, str) else int(v)


def to_bool(v: Any) -> bool | None:
    if blank(v):
        return None
    if isinstance(v, bool):
        return v
    if not isinstance(v, (str, int)):
        raise ValueError(v)
    s = str(v).strip().lower()
    if s in ("1", "true", "yes", "on", "y", "t"):
        return True
    if s in ("0", "false", "no", "off", "n", "f"):
        return False
    raise ValueError(v)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
INT32_MAX = 2**31 - 1          # PostgreSQL INTEGER
BIGINT_MAX = 2**63 - 1         # PostgreSQL BIGINT


def shown(v: Any, limit: int = 60) -> str:
    """``repr(v)`` cut to ``limit`` characters, for echoing a bad value in a message."""
    text = repr(v)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def kind(v: Any) -> str:
    """A JSON-ish name of ``v``'s type for messages ("a list", "an object", "true/false" ...)."""
    if isinstance(v, bool):
        return "true/false"
    if isinstance(v, Mapping):
        return "an object"
    if isinstance(v, (list, tuple)):
        return "a list"
    if isinstance(v, (int, float)):
        return "a number"
    return type(v).__name__


def check_int(errors: dict[str, list[str]], values: Mapping[str, Any], name: str, minimum: int,
              label: str, maximum: int = INT32_MAX) -> int | None:
    """The whole number in ``values[name]`` (None when blank); a message with the allowed range otherwise."""
    raw = values.get(name)
    allowed = f"a whole number between {minimum} and {maximum}"
    if isinstance(raw, bool) or not (blank(raw) or isinstance(raw, (str, int, float))):
        errors.setdefault(name, []).append(f"{label} must be {allowed}, got {kind(raw)}.")
        return None
    try:
        n = to_int(raw)
    except (TypeError, ValueError, OverflowError):
        errors.setdefault(name, []).append(f"{label} must be {allowed}, got {shown(raw)}.")
        return None
    if n is not None and not minimum <= n <= maximum:
        bound = f"at most {maximum}" if n > maximum else "a positive number" if minimum == 1 else \
            f"at least {minimum}"
        errors.setdefault(name, []).append(f"{label} must be {bound} ({allowed}), got {shown(n)}.")
        return None
    return n


def check_text(errors: dict[str, list[str]], values: Mapping[str, Any], name: str, label: str,
               limit: int | None, single_line: bool = True) -> str | None:
    """The stripped text of ``values[name]`` (None when blank): text (not a list, number ...), at most ``limit``
    characters, and no control characters (none at all in a single-line field; a multi-line field allows
    line breaks and tabs)."""
    raw = values.get(name)
    if raw is None:
        return None
    if not isinstance(raw, str):
        errors.setdefault(name, []).append(f"{label} must be text, got {kind(raw)}.")
        return None
    text = raw.strip()
    if limit is not None and len(text) > limit:     # before any scan or parse of the text
        errors.setdefault(name, []).append(f"At most {limit} characters (got {len(text)}).")
        return None
    bad = (_CONTROL if single_line else _CONTROL_MULTILINE).search(text)
    if bad is not None:
        what = "control characters" if single_line else "control characters other than line breaks and tabs"
        errors.setdefault(name, []).append(f"{label} must not contain {what} (found {bad.group()!r}).")
        return None
    return text or None


LABELS = {"data_dispatcher_project_id": "The DD project id", "dd_worker_timeout": "The worker timeout (seconds)",
           "dd_idle_timeout": "The idle timeout (seconds)", "dd_load_limit": "The load limit",
           "completion_pct": "The completion percentage", "output_ancestor_depth": "The output ancestor depth",
           "launch_template_id": "The launch template"}


def invalid_input(errors: dict[str, list[str]]) -> InvalidInput:
    """One InvalidInput carrying every field message (its message names the fields and the first problem)."""
    first = next(iter(errors.values()))[0]
    return InvalidInput(f"Please correct the marked fields ({', '.join(errors)}): {first}", field_errors=errors)
