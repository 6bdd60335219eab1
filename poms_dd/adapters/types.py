"""Our value types for what MetaCat, Data Dispatcher and Rucio return (frozen dataclasses, never raw dicts).

Each ``from_json`` builds one from the client's dict and tolerates missing optional keys, because real
servers omit null fields (MetaCat's ``DBFile.to_jsonable`` drops ``creator``/``size`` when null).

This module holds the shared, MetaCat and Rucio types; the Data Dispatcher project/handle types live in
``dd_types.py`` (which builds on this module, never the other way round).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Mapping

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
