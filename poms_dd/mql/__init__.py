"""MetaCat's own MQL parser, used by the production adapters, the stage rules and the testbed.

``metacat.mql`` (shipped with ``metacat-client``) pulls in MetaCat's server-side modules, whose import chain
ends in ``from wsdbtools import ConnectionPool``; ``wsdbtools`` is not on PyPI.  ``load()`` therefore imports
``metacat.mql`` with ``poms_dd/mql/_stubs`` put first on ``sys.path`` *only for the duration of that import*
(under a lock) and only if no real ``wsdbtools`` is importable; the path is restored afterwards, so nothing
else in the process sees the stub directory.  (``psycopg2`` and PyYAML, the other server-side imports, are
ordinary dependencies of poms_dd.)

Use::

    from poms_dd.mql import parse
    q = parse("files from dune:all where core.runs[any] = 5")   # MetaCat FileQuery / DatasetQuery / QueryQuery
    # raises ValueError("MQLSyntaxError: ...") on text MetaCat's parser rejects

``parse(text, loader=...)`` resolves ``files selected by ns:name`` through ``loader.get_named_query(ns, name)``
(returning ``{"source": ...}`` or None); without a loader such queries are rejected.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import threading
from types import ModuleType
from typing import Any

STUB_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_stubs")
_lock = threading.Lock()
_mql: ModuleType | None = None


def load() -> ModuleType:
    """Import and return ``metacat.mql`` (once per process).  Raises ImportError if metacat-client is missing."""
    global _mql
    if _mql is not None:
        return _mql
    with _lock:
        if _mql is None:
            added = False
            if "wsdbtools" not in sys.modules and importlib.util.find_spec("wsdbtools") is None:
                sys.path.insert(0, STUB_DIR)
                added = True
            try:
                _mql = importlib.import_module("metacat.mql")
            finally:
                if added:
                    try:
                        sys.path.remove(STUB_DIR)
                    except ValueError:
                        pass
    return _mql


class _NoLoader:
    def get_named_query(self, namespace: str, name: str) -> None:
        return None


def error_text(exc: BaseException) -> str:
    """MetaCat's server wording for a rejected query: ``<ExceptionClass>: <message>``."""
    message = getattr(exc, "Message", None)
    if message is None:
        message = str(exc)
    return f"{exc.__class__.__name__}: {message}"


def parse(text: str, loader: Any = None, default_namespace: str | None = None,
          include_retired_files: bool = False) -> Any:
    """Parse MQL with MetaCat's parser and return its query object (``.Type`` is "file", "dataset" or "query").

    Raises ValueError whose message is MetaCat's server error text (e.g. ``MQLSyntaxError: ...``) when MetaCat
    would answer 400 for this text.
    """
    mql = load()
    try:
        return mql.MQLQuery.parse(text, loader=loader or _NoLoader(), default_namespace=default_namespace,
                                  include_retired_files=include_retired_files)
    except (AssertionError, ValueError, mql.MQLError) as exc:
        raise ValueError(error_text(exc)) from exc
