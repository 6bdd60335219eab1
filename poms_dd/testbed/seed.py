"""The testbed's seed data: a deterministic fake experiment ``hypot`` (SPEC §9).

``seed(store, "demo", files=N)`` fills an empty store with
* accounts poms/poms (admin everywhere, Rucio account ``poms``), alice/alice and bob/bob;
* MetaCat namespace ``hypot`` with datasets ``hypot:raw`` (N files over runs 1000–1019, created over the 30
  days ending at ``REFERENCE_DATE``), ``hypot:reco`` (one child per even raw file, with parent links) and
  ``hypot:mc`` (a few simulated files), plus the named query ``hypot:run1000``;
* RSEs ``FNAL_DCACHE_DISK`` (disk) and ``FNAL_ENSTORE`` (tape); every raw file has a tape replica and half
  of them a disk copy, except ~2% of raw files that have no replica at all; reco and mc files are on disk;
* Rucio scope ``hypot`` and Rucio datasets mirroring the three MetaCat datasets.
The same call always produces the same files (fixed random seed, fixed reference date).
"""
from __future__ import annotations

import hashlib
import random
import zlib
from datetime import datetime, timezone

from .store import RSE, Account, Dataset, File, NamedQuery, Namespace, Replica, Store

REFERENCE_DATE = datetime(2026, 1, 15, tzinfo=timezone.utc).timestamp()
SPAN = 30 * 24 * 3600
RUNS = range(1000, 1020)
DISK, TAPE = "FNAL_DCACHE_DISK", "FNAL_ENSTORE"
ACCOUNTS = (("poms", "poms", True, ["hypot/production"]), ("alice", "alice", False, ["hypot"]),
            ("bob", "bob", False, []))
SEEDS = ("demo", "empty")


def add_accounts(store: Store) -> None:
    for user, pw, admin, roles in ACCOUNTS:
        store.accounts[user] = Account(user, pw, admin=admin, roles=list(roles), email=f"{user}@example.org",
                                       bearer_tokens=[f"{user}-bearer-token"])


def _checksums(name: str, salt: int) -> dict[str, str]:
    data = f"{name}:{salt}".encode()
    return {"adler32": f"{zlib.adler32(data):08x}", "md5": hashlib.md5(data).hexdigest()}


class _Builder:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.meta: dict[tuple, dict] = {}
        self.last_did = ""

    def metadata(self, run: int, tier: str, ftype: str, rtype: str) -> dict:
        key = (run, tier, ftype, rtype)
        if key not in self.meta:       # shared by every file of the key (see store.py: never mutate in place)
            self.meta[key] = {"core.runs": [run], "core.data_tier": tier, "core.file_type": ftype,
                              "core.run_type": rtype}
        return self.meta[key]

    def file(self, ds: Dataset, name: str, size: int, created: float, metadata: dict,
             parent: File | None = None) -> File:
        s = self.store
        fid = str(s.next_fid)
        s.next_fid += 1
        f = File(fid, ds.namespace, name, size, created, checksums=_checksums(name, size), metadata=metadata)
        if parent is not None:
            f.parents.append(parent.fid)
            parent.children.append(fid)
        s.files_by_fid[fid] = f
        self.last_did = f"{ds.namespace}:{name}"      # one string object for both indexes (memory)
        s.files_by_did[self.last_did] = f
        ds.fids.append(fid)
        ds.fid_set.add(fid)
        return f

    def replica(self, f: File, rse: str) -> None:
        rep = Replica(f.namespace, f.name, rse, "", f.size, f.checksums["adler32"], f.checksums["md5"])
        did = self.last_did if self.store.files_by_did.get(self.last_did) is f else f.did
        self.store.replicas.setdefault(did, {})[rse] = rep


def seed(store: Store, name: str = "demo", files: int | None = None) -> Store:
    """Fill ``store`` with the named seed (``demo`` or ``empty``); raises ValueError for an unknown name."""
    if name not in SEEDS:
        raise ValueError(f"unknown seed {name!r}; choose one of {', '.join(SEEDS)}")
    n = 2000 if files is None else int(files)
    with store.lock:
        add_accounts(store)
        for rse in (RSE(DISK, "DISK", description="dCache disk at FNAL", preference=10,
                        url_prefix="root://fndca1.fnal.gov:1094/pnfs/fnal.gov/usr/hypot/persistent"),
                    RSE(TAPE, "TAPE", description="Enstore tape at FNAL", preference=0,
                        url_prefix="root://fndca1.fnal.gov:1094/pnfs/fnal.gov/usr/hypot/tape")):
            store.rses[rse.name] = rse
        if name == "empty":
            return store
        _seed_hypot(store, n)
        store.touch()
    return store


def _seed_hypot(store: Store, n: int) -> None:
    rng = random.Random(20260115)
    t0 = REFERENCE_DATE - SPAN
    store.namespaces["hypot"] = Namespace("hypot", owner_user="poms", description="hypothetical experiment",
                                          created_timestamp=t0)
    store.scopes.add("hypot")
    ds = {k: Dataset("hypot", k, created_timestamp=t0, description=f"hypot {k} files",
                     metadata={"core.data_tier": tier})
          for k, tier in (("raw", "raw"), ("reco", "full-reconstructed"), ("mc", "simulated"))}
    for d in ds.values():
        store.datasets[d.did] = d
        store.rucio_dids[d.did] = {"type": "DATASET", "account": "poms", "content": [], "metacat": d.did,
                                   "open": True}
    b = _Builder(store)
    for i in range(n):
        run = RUNS[i * len(RUNS) // max(n, 1)]
        created = t0 + SPAN * (i + rng.random()) / max(n, 1)
        meta = b.metadata(run, "raw", "detector", "cosmics" if run % 5 == 4 else "physics")
        raw = b.file(ds["raw"], f"hypot_raw_r{run}_{i:07d}.root", rng.randint(500_000_000, 4_000_000_000),
                     created, meta)
        if rng.random() >= 0.02:
            b.replica(raw, TAPE)
            if i % 2 == 1:
                b.replica(raw, DISK)
        if i % 2 == 0:
            reco = b.file(ds["reco"], f"hypot_reco_r{run}_{i:07d}.root", rng.randint(100_000_000, 900_000_000),
                          created + 3600, b.metadata(run, "full-reconstructed", "detector", meta["core.run_type"]),
                          parent=raw)
            b.replica(reco, DISK)
    for i in range(min(50, max(n // 40, 5))):
        mc = b.file(ds["mc"], f"hypot_mc_{i:05d}.root", rng.randint(50_000_000, 500_000_000),
                    t0 + SPAN * i / 50, b.metadata(1, "simulated", "mc", "mc"))
        b.replica(mc, DISK)
    store.named_queries["hypot:run1000"] = NamedQuery(
        "hypot", "run1000", "files from hypot:raw where core.runs[any] = 1000", created_timestamp=t0,
        description="raw files of run 1000")
