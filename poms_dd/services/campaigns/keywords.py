"""Campaign keywords: ``%(name)s`` in stage fields is replaced by the campaign keyword ``name`` (SPEC §3).

Only ``%(name)s`` is special; any other ``%`` (e.g. the ``%`` LIKE pattern of output file patterns) is left
alone.  Substitution is one pass: a keyword's value is not itself substituted.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from ...errors import InvalidInput

KEYWORD_RE = re.compile(r"%\(([^()]*)\)s")
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def used_keywords(text: str | None) -> list[str]:
    """Names of the keywords used in ``text``, in order of first use."""
    seen: dict[str, None] = {}
    for m in KEYWORD_RE.finditer(text or ""):
        seen.setdefault(m.group(1), None)
    return list(seen)


def substitute(text: str | None, keywords: Mapping[str, Any] | None) -> str | None:
    """Replace each ``%(name)s`` in ``text`` by ``str(keywords[name])``.

    Raises InvalidInput naming every unknown keyword and listing the defined ones.
    """
    if text is None:
        return None
    keywords = keywords or {}
    unknown = [k for k in used_keywords(text) if k not in keywords]
    if unknown:
        defined = ", ".join(sorted(keywords)) or "none"
        names = ", ".join(f"%({k})s" for k in unknown)
        raise InvalidInput(f"Unknown campaign keyword{'s' if len(unknown) > 1 else ''} {names}; "
                           f"the campaign defines: {defined}.")
    return KEYWORD_RE.sub(lambda m: str(keywords[m.group(1)]), text)


MAX_KEYWORDS = 100
MAX_KEYWORD_NAME = 100
MAX_KEYWORD_VALUE = 4096
MAX_TAGS = 50
MAX_TAG = 100
_TAG_BAD = re.compile(r"[\x00-\x1f\x7f,]")


def validate_keywords(keywords: Any) -> list[str]:
    """Messages for a keywords mapping that is not ``{name: text}`` with identifier-like names, or that is
    larger than the limits (at most MAX_KEYWORDS keywords, names of MAX_KEYWORD_NAME and values of
    MAX_KEYWORD_VALUE characters)."""
    if not isinstance(keywords, Mapping):
        return ["Keywords must be a mapping of name to value."]
    if len(keywords) > MAX_KEYWORDS:
        return [f"At most {MAX_KEYWORDS} keywords (got {len(keywords)})."]
    errors = []
    for name, value in keywords.items():
        shown = repr(name) if len(str(name)) <= 60 else repr(str(name)[:57] + "...")
        if not isinstance(name, str) or len(name) > MAX_KEYWORD_NAME or not NAME_RE.match(name):
            errors.append(f"Keyword name {shown} must start with a letter or '_', contain only letters, "
                          f"digits and '_', and be at most {MAX_KEYWORD_NAME} characters.")
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            errors.append(f"Keyword {shown} must have a text or number value, got {type(value).__name__}.")
        elif len(str(value)) > MAX_KEYWORD_VALUE:
            errors.append(f"Keyword {shown}: its value may have at most {MAX_KEYWORD_VALUE} characters "
                          f"(got {len(str(value))}).")
    return errors


def validate_tags(tags: Any) -> list[str]:
    """Messages for tags that are not a list of at most MAX_TAGS non-empty words of at most MAX_TAG
    characters without commas or control characters."""
    if not isinstance(tags, (list, tuple)) or not all(isinstance(t, str) and t.strip() for t in tags):
        return ["Tags must be a list of non-empty words."]
    if len(tags) > MAX_TAGS:
        return [f"At most {MAX_TAGS} tags (got {len(tags)})."]
    errors = []
    for tag in tags:
        shown = repr(tag) if len(tag) <= 60 else repr(tag[:57] + "...")
        if len(tag.strip()) > MAX_TAG:
            errors.append(f"Tag {shown}: at most {MAX_TAG} characters (got {len(tag.strip())}).")
        elif _TAG_BAD.search(tag):
            errors.append(f"Tag {shown} must not contain commas or control characters.")
    return errors


def parse_keywords_text(text: str) -> dict[str, str]:
    """Parse ``name = value`` lines (blank lines and ``#`` comments ignored) as used by the campaign form.

    Raises InvalidInput with the line number of a bad line.
    """
    out: dict[str, str] = {}
    for n, line in enumerate((text or "").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if "=" not in line:
            raise InvalidInput(f"Keywords line {n}: expected name = value, got {line!r}.")
        name, value = (s.strip() for s in line.split("=", 1))
        if not NAME_RE.match(name):
            raise InvalidInput(f"Keywords line {n}: {name!r} is not a valid keyword name (letters, digits, '_').")
        if name in out:
            raise InvalidInput(f"Keywords line {n}: keyword {name!r} is defined twice.")
        out[name] = value
    return out


def keywords_text(keywords: Mapping[str, Any] | None) -> str:
    """The inverse of :func:`parse_keywords_text`."""
    return "\n".join(f"{k} = {v}" for k, v in sorted((keywords or {}).items()))


@dataclass(frozen=True)
class Preview:
    """One field after substitution: ``text`` (None if it failed) or ``error``."""

    field: str
    original: str
    text: str | None
    error: str | None

    @property
    def changed(self) -> bool:
        return self.text is not None and self.text != self.original


def preview(fields: Mapping[str, Any], keywords: Mapping[str, Any] | None) -> list[Preview]:
    """Each non-empty text field with keywords substituted, or the error substitution gives."""
    out = []
    for name, value in fields.items():
        if value is None or not isinstance(value, str) or value == "":
            continue
        try:
            out.append(Preview(name, value, substitute(value, keywords), None))
        except InvalidInput as err:
            out.append(Preview(name, value, None, err.message))
    return out
