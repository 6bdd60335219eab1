"""Our value types for Data Dispatcher projects and file handles (frozen dataclasses, never raw dicts).

Each ``from_json`` builds one from the DD client's dict (PROTOCOLS §1.3) and tolerates missing optional keys.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Mapping

from .types import _epoch

HANDLE_STATES = ("initial", "reserved", "done", "failed")


@dataclass(frozen=True)
class HandleReplica:
    rse: str
    available: bool
    url: str | None = None


@dataclass(frozen=True)
class FileHandle:
    """One Data Dispatcher file handle (a file's processing state inside a project)."""

    project_id: int
    namespace: str
    name: str
    state: str
    attempts: int = 0
    worker_id: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict, hash=False)
    replicas: tuple[HandleReplica, ...] | None = None   # None: replicas were not requested

    @property
    def did(self) -> str:
        return f"{self.namespace}:{self.name}"

    @property
    def has_available_replica(self) -> bool:
        return any(r.available for r in self.replicas or ())

    @classmethod
    def from_json(cls, data: Mapping[str, Any], project_id: int | None = None) -> "FileHandle":
        replicas = None
        if "replicas" in data and data["replicas"] is not None:
            replicas = tuple(
                HandleReplica(rse=rse, url=(info or {}).get("url"),
                              available=bool((info or {}).get("available", True))
                              and bool((info or {}).get("rse_available", True)))
                for rse, info in sorted(data["replicas"].items()))
        return cls(project_id=int(data.get("project_id", project_id or 0)), namespace=data["namespace"],
                   name=data["name"], state=data.get("state", "initial"), attempts=int(data.get("attempts") or 0),
                   worker_id=data.get("worker_id"), attributes=dict(data.get("attributes") or {}),
                   replicas=replicas)


@dataclass(frozen=True)
class HandleCounts:
    """Handle-state counts of a project.  ``unknown`` counts not-yet-final handles (initial or reserved) that
    have no available replica; it overlaps the state counts and is 0 for virtual projects or when replicas
    were not looked at."""

    initial: int = 0
    reserved: int = 0
    done: int = 0
    failed: int = 0
    unknown: int = 0

    @property
    def total(self) -> int:
        return self.initial + self.reserved + self.done + self.failed

    @property
    def percent_done(self) -> float:
        return 100.0 * self.done / self.total if self.total else 0.0

    @classmethod
    def from_handles(cls, handles: list[Mapping[str, Any]], replicas_known: bool, virtual: bool) -> "HandleCounts":
        counts = dict.fromkeys(HANDLE_STATES, 0)
        unknown = 0
        for h in handles:
            state = h.get("state", "initial")
            counts[state] = counts.get(state, 0) + 1
            if replicas_known and not virtual and state in ("initial", "reserved"):
                reps = h.get("replicas") or {}
                if not any(bool(r.get("available", True)) and bool(r.get("rse_available", True))
                           for r in reps.values()):
                    unknown += 1
        return cls(initial=counts["initial"], reserved=counts["reserved"], done=counts["done"],
                   failed=counts["failed"], unknown=unknown)


@dataclass(frozen=True)
class Project:
    """A Data Dispatcher project.  ``handles`` is None unless handles were asked for; ``counts`` is filled
    whenever the server sent handles."""

    project_id: int
    owner: str
    state: str
    attributes: Mapping[str, Any] = field(default_factory=dict, hash=False)
    query: str | None = None
    created_timestamp: dt.datetime | None = None
    ended_timestamp: dt.datetime | None = None
    worker_timeout: float | None = None
    idle_timeout: float | None = None
    users: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    counts: HandleCounts | None = None
    handles: tuple[FileHandle, ...] | None = None

    @property
    def virtual(self) -> bool:
        return bool(self.attributes.get("virtual"))

    @classmethod
    def from_json(cls, data: Mapping[str, Any], keep_handles: bool = False,
                  replicas_known: bool = False) -> "Project":
        pid = int(data["project_id"])
        attrs = dict(data.get("attributes") or {})
        raw_handles = data.get("file_handles")
        counts = handles = None
        if raw_handles is not None:
            counts = HandleCounts.from_handles(raw_handles, replicas_known, bool(attrs.get("virtual")))
            if keep_handles:
                handles = tuple(FileHandle.from_json(h, pid) for h in raw_handles)
        return cls(project_id=pid, owner=data.get("owner") or "", state=data.get("state") or "",
                   attributes=attrs, query=data.get("query"),
                   created_timestamp=_epoch(data.get("created_timestamp")),
                   ended_timestamp=_epoch(data.get("ended_timestamp")),
                   worker_timeout=data.get("worker_timeout"), idle_timeout=data.get("idle_timeout"),
                   users=tuple(data.get("users") or ()), roles=tuple(data.get("roles") or ()),
                   counts=counts, handles=handles)


@dataclass(frozen=True)
class NextFile:
    """The answer of DD ``next_file``: a reserved handle, or none with ``retry`` telling whether waiting helps
    (False: the project has nothing left)."""

    handle: FileHandle | None
    retry: bool
    reason: str = ""
