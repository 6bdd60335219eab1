"""Reading raw field values (strings from a form or INI file, or typed JSON values) into typed values, and the
one InvalidInput that carries every field message.  Shared by the campaign and stage rules."""
from __future__ import annotations

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
    s = str(v).strip().lower()
    if s in ("1", "true", "yes", "on", "y", "t"):
        return True
    if s in ("0", "false", "no", "off", "n", "f"):
        return False
    raise ValueError(v)


def check_int(errors: dict[str, list[str]], values: Mapping[str, Any], name: str, minimum: int,
              label: str) -> int | None:
    try:
        n = to_int(values.get(name))
    except (TypeError, ValueError):
        errors.setdefault(name, []).append(f"{label} must be a whole number, got {values.get(name)!r}.")
        return None
    if n is not None and n < minimum:
        errors.setdefault(name, []).append(
            f"{label} must be {'a positive number' if minimum == 1 else f'at least {minimum}'}, got {n}.")
    return n


LABELS = {"data_dispatcher_project_id": "The DD project id", "dd_worker_timeout": "The worker timeout (seconds)",
           "dd_idle_timeout": "The idle timeout (seconds)", "dd_load_limit": "The load limit",
           "completion_pct": "The completion percentage", "output_ancestor_depth": "The output ancestor depth",
           "launch_template_id": "The launch template"}


def invalid_input(errors: dict[str, list[str]]) -> InvalidInput:
    """One InvalidInput carrying every field message (its message names the fields and the first problem)."""
    first = next(iter(errors.values()))[0]
    return InvalidInput(f"Please correct the marked fields ({', '.join(errors)}): {first}", field_errors=errors)
