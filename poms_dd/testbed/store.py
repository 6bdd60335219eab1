"""The testbed's in-memory state, shared by its MetaCat, Data Dispatcher and Rucio faces.

All mutation happens under ``Store.lock`` (the server is threaded).  ``Store.now()`` is the testbed clock:
wall time plus the offset advanced by ``POST /_testbed/tick``.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class File:
    """A MetaCat file.  ``parents``/``children`` hold fids."""

    fid: str
    namespace: str
    name: str
    size: int
    created_timestamp: float
    creator: str = "poms"
    checksums: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    parents: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    retired: bool = False
    retired_by: str | None = None
    retired_timestamp: float | None = None
    updated_by: str | None = None
    updated_timestamp: float | None = None

    @property
    def did(self) -> str:
        return f"{self.namespace}:{self.name}"


@dataclass(slots=True)
class Dataset:
    """A MetaCat dataset.  ``fids`` keeps insertion order; ``fid_set`` answers membership."""

    namespace: str
    name: str
    creator: str = "poms"
    created_timestamp: float = 0.0
    frozen: bool = False
    monotonic: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    file_meta_requirements: dict[str, Any] = field(default_factory=dict)
    fids: list[str] = field(default_factory=list)
    fid_set: set[str] = field(default_factory=set)
    subsets: list[str] = field(default_factory=list)  # "ns:name" of child datasets
    updated_timestamp: float | None = None
    updated_by: str | None = None

    @property
    def did(self) -> str:
        return f"{self.namespace}:{self.name}"

    def add(self, fid: str) -> bool:
        if fid in self.fid_set:
            return False
        self.fid_set.add(fid)
        self.fids.append(fid)
        return True


@dataclass(slots=True)
class Namespace:
    name: str
    owner_user: str | None = "poms"
    owner_role: str | None = None
    creator: str = "poms"
    description: str = ""
    created_timestamp: float = 0.0


@dataclass(slots=True)
class NamedQuery:
    namespace: str
    name: str
    source: str
    creator: str = "poms"
    created_timestamp: float = 0.0
    description: str = ""
    parameters: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class RSE:
    """A storage element as both Rucio (``rse_type``) and DD (enabled / available / tape) see it."""

    name: str
    rse_type: str = "DISK"          # DISK | TAPE
    is_enabled: bool = True
    is_available: bool = True
    description: str = ""
    preference: int = 0
    pin_url: str | None = None
    poll_url: str | None = None
    remove_prefix: str = ""
    add_prefix: str = ""
    pin_prefix: str = ""

    @property
    def is_tape(self) -> bool:
        return self.rse_type == "TAPE"


@dataclass(slots=True)
class Replica:
    """A Rucio replica of a file DID on one RSE (DD sees it immediately)."""

    scope: str
    name: str
    rse: str
    pfn: str
    bytes: int = 0
    adler32: str | None = None
    md5: str | None = None
    state: str = "AVAILABLE"


@dataclass(slots=True)
class Handle:
    namespace: str
    name: str
    state: str = "initial"          # initial | reserved | done | failed
    worker_id: str | None = None
    attempts: int = 0
    attributes: dict[str, Any] = field(default_factory=dict)
    reserved_since: float | None = None

    @property
    def did(self) -> str:
        return f"{self.namespace}:{self.name}"


@dataclass(slots=True)
class Project:
    project_id: int
    owner: str
    state: str = "active"           # active | done | failed | cancelled | abandoned
    attributes: dict[str, Any] = field(default_factory=dict)
    created_timestamp: float = 0.0
    ended_timestamp: float | None = None
    query: str | None = None
    worker_timeout: float | None = None
    idle_timeout: float | None = None
    users: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    handles: list[Handle] = field(default_factory=list)
    handle_index: dict[str, int] = field(default_factory=dict)   # did -> position in handles
    last_activity: float = 0.0


@dataclass(slots=True)
class Account:
    """A person or service known to all three services (same name and password everywhere)."""

    username: str
    password: str
    admin: bool = False
    roles: list[str] = field(default_factory=list)
    email: str = ""
    bearer_tokens: list[str] = field(default_factory=list)


class Store:
    """Everything the testbed knows.  Mutate only while holding ``lock``."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.clock_offset = 0.0
        self.accounts: dict[str, Account] = {}
        # MetaCat
        self.namespaces: dict[str, Namespace] = {}
        self.files_by_fid: dict[str, File] = {}
        self.files_by_did: dict[str, File] = {}
        self.datasets: dict[str, Dataset] = {}
        self.named_queries: dict[str, NamedQuery] = {}
        self.next_fid = 1
        # Rucio + DD
        self.rses: dict[str, RSE] = {}
        self.scopes: set[str] = set()
        self.replicas: dict[str, dict[str, Replica]] = {}   # file did -> {rse: Replica}
        self.rucio_dids: dict[str, dict[str, Any]] = {}     # "scope:name" -> {"type": "DATASET"|..., "files": [...]}
        # Data Dispatcher
        self.projects: dict[int, Project] = {}
        self.next_project_id = 1
        # Faults injected by tests (service -> (status, seconds of delay)); see /_testbed/fault
        self.faults: dict[str, dict[str, Any]] = {}

    def now(self) -> float:
        return time.time() + self.clock_offset

    def new_fid(self) -> str:
        with self.lock:
            fid = str(self.next_fid)
            self.next_fid += 1
            return fid

    def add_file(self, f: File, datasets: list[str] = ()) -> File:
        """Register a file (and link lineage both ways); ``datasets`` are "ns:name" keys."""
        with self.lock:
            self.files_by_fid[f.fid] = f
            self.files_by_did[f.did] = f
            for pfid in f.parents:
                parent = self.files_by_fid.get(pfid)
                if parent is not None and f.fid not in parent.children:
                    parent.children.append(f.fid)
            for did in datasets:
                self.datasets[did].add(f.fid)
            return f
