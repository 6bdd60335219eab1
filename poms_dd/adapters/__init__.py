"""Adapters: the real MetaCat, Data Dispatcher and Rucio clients behind our value types (ARCHITECTURE.md).

Build them from an ``ExperimentConnection`` (``adapters.config``).  Each owns its client and its per-experiment
token state under ``conn.state_dir``; every failure surfaces as ``poms_dd.errors.ExternalServiceError``.
"""
from __future__ import annotations

import threading
from typing import Any, Callable

from .config import Credential, ExperimentConnection, ServiceCheck
from .data_dispatcher import NO_TIMEOUT, DataDispatcherAdapter
from .health import check_connection
from .metacat import MetaCatAdapter, namespace_query, parse_mql
from .rucio import RucioAdapter
from .dd_types import FileHandle, HandleCounts, NextFile, Project
from .errors import html_error_text
from .redaction import Secrets, redact
from .token_files import read_token_file, secrets_of
from .types import DatasetInfo, DIDInfo, FileInfo, FileReplicas, FileSpec, Identity, QueryCount, ReplicaLocation, RSEInfo


class ExperimentAdapters:
    """The three adapters of one experiment, each built on first use.  Keep one per experiment and reuse it,
    so logins and tokens are reused; safe to share between threads."""

    def __init__(self, conn: ExperimentConnection):
        self.conn = conn
        self._cache: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _get(self, key: str, factory: Callable[[ExperimentConnection], Any]) -> Any:
        with self._lock:
            if key not in self._cache:
                self._cache[key] = factory(self.conn)
            return self._cache[key]

    @property
    def metacat(self) -> MetaCatAdapter:
        return self._get("metacat", MetaCatAdapter)

    @property
    def data_dispatcher(self) -> DataDispatcherAdapter:
        return self._get("data_dispatcher", DataDispatcherAdapter)

    @property
    def rucio(self) -> RucioAdapter:
        return self._get("rucio", RucioAdapter)


__all__ = [
    "Credential", "ExperimentConnection", "ServiceCheck", "check_connection", "ExperimentAdapters",
    "MetaCatAdapter", "DataDispatcherAdapter", "RucioAdapter", "NO_TIMEOUT", "namespace_query", "parse_mql",
    "DatasetInfo", "DIDInfo", "FileHandle", "FileInfo", "FileReplicas", "FileSpec", "HandleCounts", "Identity",
    "NextFile", "Project", "QueryCount", "ReplicaLocation", "RSEInfo",
    "Secrets", "redact", "secrets_of", "read_token_file", "html_error_text",
]
