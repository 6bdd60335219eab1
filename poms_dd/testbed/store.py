"""The testbed's in-memory state, shared by its MetaCat, Data Dispatcher and Rucio faces.

All mutation happens under ``Store.lock`` (the server is threaded).  ``Store.now()`` is the testbed clock:
wall time plus the offset advanced by ``POST /_testbed/tick``.  Inside a request, ``current_store()`` returns
the store of the running app.

Memory note: the seed generator shares one ``metadata`` dict among the seeded files of one run/tier (a
1M-file seed would otherwise spend ~400 MB on identical dicts).  Never mutate ``File.metadata`` in place:
assign a new dict (``f.metadata = {**f.metadata, **changes}``).
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any


class _NamespacedName:
    """``did`` ("namespace:name") for the records that have a ``namespace`` and a ``name``."""

    __slots__ = ()

    @property
    def did(self) -> str:
        return f"{self.namespace}:{self.name}"


@dataclass(slots=True)
class File(_NamespacedName):
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
    updated_timestamp: float | None = None    # MetaCat sets it when the file row is written: creation first

    def __post_init__(self) -> None:
        if self.updated_timestamp is None:
            self.updated_timestamp = self.created_timestamp


@dataclass(slots=True)
class Dataset(_NamespacedName):
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
    url_prefix: str = ""            # PFN = url_prefix + "/" + scope + "/" + name unless a replica has its own

    @property
    def is_tape(self) -> bool:
        return self.rse_type == "TAPE"


@dataclass(slots=True)
class Replica:
    """A Rucio replica of a file DID on one RSE (DD sees it immediately).  An empty ``pfn`` means the RSE's
    deterministic one (``Store.pfn``)."""

    scope: str
    name: str
    rse: str
    pfn: str = ""
    bytes: int = 0
    adler32: str | None = None
    md5: str | None = None
    state: str = "AVAILABLE"


FINAL_HANDLE_STATES = ("done", "failed")


@dataclass(slots=True)
class Handle(_NamespacedName):
    namespace: str
    name: str
    state: str = "initial"          # initial | reserved | done | failed
    worker_id: str | None = None
    attempts: int = 0
    attributes: dict[str, Any] = field(default_factory=dict)
    reserved_since: float | None = None


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
    # Bookkeeping so that next_file and release do not scan every handle:
    initial_by_attempts: dict[int, dict[int, None]] = field(default_factory=dict)  # attempts -> {position}
    n_final: int = 0

    def index_handles(self) -> None:
        """(Re)build ``handle_index``, the initial-handle buckets and the final count from ``handles``."""
        self.handle_index = {h.did: i for i, h in enumerate(self.handles)}
        self.initial_by_attempts = {}
        self.n_final = 0
        for i, h in enumerate(self.handles):
            if h.state == "initial":
                self.initial_by_attempts.setdefault(h.attempts, {})[i] = None
            elif h.state in FINAL_HANDLE_STATES:
                self.n_final += 1

    def set_handle_state(self, i: int, state: str) -> Handle:
        """Move handle ``i`` to ``state`` keeping the bookkeeping right (change ``attempts`` only while not initial)."""
        h = self.handles[i]
        old = h.state
        if old == state:
            return h
        if old == "initial":
            bucket = self.initial_by_attempts.get(h.attempts)
            if bucket is not None:
                bucket.pop(i, None)
                if not bucket:
                    del self.initial_by_attempts[h.attempts]
        elif old in FINAL_HANDLE_STATES:
            self.n_final -= 1
        h.state = state
        if state == "initial":
            self.initial_by_attempts.setdefault(h.attempts, {})[i] = None
        elif state in FINAL_HANDLE_STATES:
            self.n_final += 1
        return h

    def all_final(self) -> bool:
        return self.n_final == len(self.handles)


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
        self.clear()

    def clear(self) -> None:
        """Forget everything (keeps the lock, so a running server can be reset in place)."""
        self.generation = 0     # bumped by touch(); persist.py saves when it changes
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
        # Rucio session tokens: token -> (account, expiry epoch)
        self.rucio_tokens: dict[str, tuple[str, float]] = {}
        # DD proximity map: (cpu_site, rse) -> proximity; ("DEFAULT", rse) is the fallback
        self.proximity: dict[tuple[str, str], int] = {}

    def touch(self) -> None:
        """Note that state changed (persist.py writes it out at most every few seconds)."""
        self.generation += 1

    def pfn(self, rep: Replica) -> str:
        if rep.pfn:
            return rep.pfn
        rse = self.rses.get(rep.rse)
        prefix = rse.url_prefix if rse is not None else ""
        return f"{prefix}/{rep.scope}/{rep.name}"

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


def current_store() -> Store:
    """The store of the running testbed app (``app.extensions["testbed_store"]``); only inside a request."""
    from flask import current_app
    return current_app.extensions["testbed_store"]
