"""Keeping an experiment's secrets out of every message the adapters produce (shown, stored or logged).

``Secrets`` holds the secrets of one experiment: the passwords/token secrets of its three credentials, the
bearer tokens read from its token files and the service tokens its clients hold (added as they are read or
received).  ``errors.translate`` (the one translation place) runs every message through ``Secrets.redact``.

A secret is removed in every form it is likely to take inside an exception text: verbatim, stripped of
surrounding whitespace, repr/JSON-escaped (a newline written as backslash-n), with its whitespace collapsed,
URL-quoted, and as a ``bytes`` repr.  Secrets shorter than ``MIN_ANYWHERE`` characters are removed only as
whole words (removing every ``a`` of a message would make it unreadable, not safer).  A password equal to
the user name hides the user name in messages too.
"""
from __future__ import annotations

import json
import re
import threading
from typing import Iterable
from urllib.parse import quote, quote_plus

REDACTED = "[redacted]"
MIN_ANYWHERE = 4


def _forms(secret: str) -> set[str]:
    """The spellings of ``secret`` an exception text may contain."""
    out: set[str] = set()
    for s in {secret, secret.strip()}:
        out.update({s, repr(s)[1:-1], json.dumps(s)[1:-1], repr(s.encode("utf-8", "replace"))[2:-1],
                    " ".join(s.split()), quote(s, safe=""), quote_plus(s)})
    return {f for f in out if f.strip()}


def _pattern(forms: Iterable[str]) -> re.Pattern[str] | None:
    parts = []
    for form in sorted(set(forms), key=len, reverse=True):        # longest first: no half-redacted forms
        escaped = re.escape(form)
        parts.append(escaped if len(form) >= MIN_ANYWHERE else rf"(?<![A-Za-z0-9]){escaped}(?![A-Za-z0-9])")
    return re.compile("|".join(parts)) if parts else None


class Secrets:
    """The secrets of one experiment, and ``redact(text)``.  Thread-safe; secrets can be added later (a
    token read from its file at login, a token a server issued)."""

    def __init__(self, values: Iterable[str | bytes | None] = ()):
        self._lock = threading.Lock()
        self._forms: set[str] = set()
        self._compiled: re.Pattern[str] | None = None
        for value in values:
            self.add(value)

    def add(self, value: str | bytes | None) -> None:
        """Also redact ``value`` from now on (None, empty or whitespace-only values are ignored)."""
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if not value or not value.strip():
            return
        forms = _forms(value)
        with self._lock:
            if not forms <= self._forms:
                self._forms |= forms
                self._compiled = _pattern(self._forms)

    def __bool__(self) -> bool:
        return bool(self._forms)

    def redact(self, text: object) -> str:
        """``text`` with every form of every secret replaced by ``[redacted]``."""
        text = "" if text is None else str(text)
        pattern = self._compiled
        return pattern.sub(REDACTED, text) if pattern is not None and text else text

    def found_in(self, text: object) -> bool:
        pattern = self._compiled
        return bool(pattern is not None and text and pattern.search(str(text)))


def redact(text: object, secrets: "Secrets | Iterable[str] | None") -> str:
    """``text`` without the given secrets (a ``Secrets`` or plain strings), for callers outside the adapters."""
    if secrets is None:
        return "" if text is None else str(text)
    holder = secrets if isinstance(secrets, Secrets) else Secrets(secrets)
    return holder.redact(text)
