"""The request values of the split routes (the API and the pages send text) and the split types' help, checked
and described without Flask: how many slices to preview, which cursor, yes/no flags, and the stage form's live
check of a typed split type."""
from __future__ import annotations

from typing import Any, Mapping

from ...errors import InvalidInput
from ...models import LaunchKind
from ..campaigns.keywords import substitute
from ..splits import QUERY_FORM_TEXT, SplitType, parse
from .split_preview import DEFAULT_SLICES, MAX_SLICES

MAX_SPLIT_TEXT = 500
KINDS = (LaunchKind.STANDARD, LaunchKind.TEST)


def slice_count(raw: Any) -> int:
    """How many slices to preview: a whole number from 1 to MAX_SLICES (None or blank: the default)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return DEFAULT_SLICES
    text = str(raw).strip()
    message = f"slices must be a whole number from 1 to {MAX_SLICES}"
    if isinstance(raw, bool) or not (text.isascii() and text.isdigit()) or len(text) > 6:
        shown = text if len(text) <= 20 else text[:17] + "..."
        raise InvalidInput(f"{message}, got {shown!r}.", field_errors={"slices": [message]})
    n = int(text)
    if not 1 <= n <= MAX_SLICES:
        raise InvalidInput(f"{message}, got {n}; preview more slices in several steps or launch a few first.",
                           field_errors={"slices": [message]})
    return n


def is_test(kind: Any) -> bool:
    """``standard`` (the production cursor, also for None/blank) or ``test`` (the test cursor)."""
    if kind is None or kind == "":
        return False
    if kind not in KINDS:
        raise InvalidInput("kind must be standard (the production cursor) or test (the test cursor).",
                           field_errors={"kind": ["standard or test"]})
    return kind == LaunchKind.TEST


def flag(raw: Any, name: str, default: bool = True) -> bool:
    """A yes/no request value: true/false, yes/no, 1/0, on/off (None or blank: ``default``)."""
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("true", "yes", "1", "on"):
        return True
    if text in ("false", "no", "0", "off"):
        return False
    raise InvalidInput(f"{name} must be true or false.", field_errors={name: ["true or false"]})


def check_text(text: str | None, keywords: Mapping[str, Any] | None) -> dict[str, Any]:
    """A typed split type as the stage form's live check shows it: ``{"valid": True, "text": canonical, ...help}``
    or ``{"valid": False, "message": why}``; ``keywords`` (the campaign's) are substituted first when given."""
    text = (text or "").strip()
    if not text:
        return {"valid": True, "text": "", "kind": None, "message": "No split type: every launch takes the whole "
                                                                   "query."}
    if len(text) > MAX_SPLIT_TEXT:
        return {"valid": False, "message": f"A split type is at most {MAX_SPLIT_TEXT} characters (got {len(text)})."}
    try:
        spec = parse(substitute(text, keywords) if keywords is not None else text)
    except InvalidInput as err:
        return {"valid": False, "message": err.message}
    return {"valid": True, **split_type_document(spec.split_type), "text": spec.text}


def split_type_document(t: SplitType) -> dict[str, Any]:
    """A split type's help as JSON (the stage form and the split types page)."""
    return {"kind": t.kind, "syntax": t.syntax, "description": t.description, "help": t.help,
            "drift_help": t.drift_help, "refills": t.refills, "parameter_launch": t.parameter_launch,
            "query_form": QUERY_FORM_TEXT.get(t.query_form, t.query_form)}
