"""Our value types for what MetaCat, Data Dispatcher and Rucio return (frozen dataclasses, never raw dicts).

Each ``from_json`` builds one from the client's dict and tolerates missing optional keys, because real
servers omit null fields (MetaCat's ``DBFile.to_jsonable`` drops ``creator``/``size`` when null).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Mapping

HANDLE_STATES = ("initial", "reserved", "done", "failed")


def _epoch(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return dt.datetime.fromtimestamp(float(value), tz=dt.timezone.utc)
    except (TypeError, ValueError, OverflowError):
        return None


def _fid_list(items: Any) -> tuple[str, ...]:
    """MetaCat lineage lists hold ``{"fid": ...}`` dicts (files) or plain strings (older servers)."""
    out = []
    for item in items or ():
        out.append(str(item["fid"]) if isinstance(item, Mapping) else str(item))
    return tuple(out)


@dataclass(frozen=True)
class FileSpec:
    """A file to put into a Data Dispatcher project: its DID plus per-handle attributes."""

    namespace: str
    name: str
    attributes: Mapping[str, Any] = field(default_factory=dict, hash=False)

    @property
    def did(self) -> str:
        return f"{self.namespace}:{self.name}"


@dataclass(frozen=True)
class FileInfo:
    """One MetaCat file.  ``metadata`` holds only the keys that were asked for; ``parents``/``children``
    are fids and are filled only when provenance was requested."""

    namespace: str
    name: str
    fid: str
    size: int | None = None
    created_timestamp: dt.datetime | None = None
    creator: str | None = None
    retired: bool = False
    checksums: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)
    metadata: Mapping[str, Any] = field(default_factory=dict, hash=False)
    parents: tuple[str, ...] = ()
    children: tuple[str, ...] = ()

    @property
    def did(self) -> str:
        return f"{self.namespace}:{self.name}"

    @classmethod
    def from_json(cls, data: Mapping[str, Any], metadata_keys: tuple[str, ...] | None = None) -> "FileInfo":
        meta = data.get("metadata") or {}
        if metadata_keys is not None:
            meta = {k: meta[k] for k in metadata_keys if k in meta}
        return cls(namespace=data["namespace"], name=data["name"], fid=str(data["fid"]),
                   size=data.get("size"), created_timestamp=_epoch(data.get("created_timestamp")),
                   creator=data.get("creator"), retired=bool(data.get("retired", False)),
                   checksums=dict(data.get("checksums") or {}), metadata=dict(meta),
                   parents=_fid_list(data.get("parents")), children=_fid_list(data.get("children")))


@dataclass(frozen=True)
class QueryCount:
    """``summary=count`` of an MQL query."""

    count: int
    total_size: int


@dataclass(frozen=True)
class DatasetInfo:
    namespace: str
    name: str
    file_count: int | None = None
    frozen: bool = False
    monotonic: bool = False
    description: str = ""
    creator: str | None = None
    created_timestamp: dt.datetime | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict, hash=False)

    @property
    def did(self) -> str:
        return f"{self.namespace}:{self.name}"

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "DatasetInfo":
        return cls(namespace=data["namespace"], name=data["name"], file_count=data.get("file_count"),
                   frozen=bool(data.get("frozen")), monotonic=bool(data.get("monotonic")),
                   description=data.get("description") or "", creator=data.get("creator"),
                   created_timestamp=_epoch(data.get("created_timestamp")),
                   metadata=dict(data.get("metadata") or {}))


@dataclass(frozen=True)
class Identity:
    """Who a service says we are, and until when our token is valid (None: the service does not say)."""

    username: str
    expires: dt.datetime | None = None


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


@dataclass(frozen=True)
class RSEInfo:
    """A storage element as Data Dispatcher or Rucio describes it."""

    name: str
    is_tape: bool
    available: bool | None = None      # DD only: is_available
    enabled: bool | None = None        # DD only: is_enabled
    description: str = ""

    @property
    def kind(self) -> str:
        return "tape" if self.is_tape else "disk"


@dataclass(frozen=True)
class ReplicaLocation:
    rse: str
    state: str                 # AVAILABLE, UNAVAILABLE, COPYING, ...
    is_tape: bool
    pfn: str | None = None

    @property
    def available(self) -> bool:
        return self.state.upper() == "AVAILABLE"


@dataclass(frozen=True)
class FileReplicas:
    """Where one file's replicas are, per Rucio."""

    scope: str
    name: str
    bytes: int | None = None
    locations: tuple[ReplicaLocation, ...] = ()

    @property
    def did(self) -> str:
        return f"{self.scope}:{self.name}"

    @property
    def on_disk(self) -> bool:
        return any(loc.available and not loc.is_tape for loc in self.locations)

    @property
    def on_tape(self) -> bool:
        return any(loc.available and loc.is_tape for loc in self.locations)

    @property
    def available_rses(self) -> tuple[str, ...]:
        return tuple(loc.rse for loc in self.locations if loc.available)


@dataclass(frozen=True)
class DIDInfo:
    scope: str
    name: str
    type: str
    bytes: int | None = None
    length: int | None = None
    account: str | None = None

    @property
    def did(self) -> str:
        return f"{self.scope}:{self.name}"
