"""The deterministic seed generator and state persistence."""
from __future__ import annotations

import time

from poms_dd.testbed import persist
from poms_dd.testbed.seed import DISK, REFERENCE_DATE, TAPE, seed
from poms_dd.testbed.store import Store


def test_demo_seed_contents():
    s = seed(Store())
    raw = s.datasets["hypot:raw"]
    assert len(raw.fids) == 2000 and len(s.datasets["hypot:reco"].fids) == 1000 and s.datasets["hypot:mc"].fids
    files = [s.files_by_fid[f] for f in raw.fids]
    runs = {f.metadata["core.runs"][0] for f in files}
    assert runs == set(range(1000, 1020))
    assert {f.metadata["core.data_tier"] for f in files} == {"raw"}
    assert all({"core.file_type", "core.run_type"} <= set(f.metadata) for f in files)
    created = [f.created_timestamp for f in files]
    assert REFERENCE_DATE - 30 * 86400 <= min(created) and max(created) <= REFERENCE_DATE
    assert all(len(f.checksums["adler32"]) == 8 and len(f.checksums["md5"]) == 32 for f in files)
    assert all(f.size > 100_000_000 for f in files)
    missing = sum(1 for f in files if f.did not in s.replicas)
    assert 10 <= missing <= 80                              # about 2%
    assert {r for f in files if f.did in s.replicas for r in s.replicas[f.did]} == {DISK, TAPE}
    reco = s.files_by_fid[s.datasets["hypot:reco"].fids[0]]
    parent = s.files_by_fid[reco.parents[0]]
    assert parent.did.startswith("hypot:hypot_raw_") and reco.fid in parent.children
    assert s.named_queries["hypot:run1000"].source == "files from hypot:raw where core.runs[any] = 1000"
    assert "hypot" in s.scopes and s.rses[TAPE].is_tape and not s.rses[DISK].is_tape
    assert s.accounts["poms"].admin and not s.accounts["alice"].admin


def test_seed_is_deterministic():
    a, b = seed(Store(), files=500), seed(Store(), files=500)
    fa = [(f.did, f.size, f.created_timestamp, f.checksums["md5"]) for f in a.files_by_fid.values()]
    fb = [(f.did, f.size, f.created_timestamp, f.checksums["md5"]) for f in b.files_by_fid.values()]
    assert fa == fb and sorted(a.replicas) == sorted(b.replicas)


def test_100k_seed_is_quick():
    t0 = time.time()
    s = seed(Store(), files=100_000)
    assert len(s.datasets["hypot:raw"].fids) == 100_000 and time.time() - t0 < 30


def test_persist_round_trip(tmp_path):
    s = seed(Store(), files=50)
    s.clock_offset = 42.0
    path = str(tmp_path / "state.pickle")
    persist.save(s, path)
    t = Store()
    assert persist.load(t, path) and not persist.load(Store(), str(tmp_path / "missing"))
    assert t.clock_offset == 42.0 and len(t.files_by_fid) == len(s.files_by_fid)
    with t.lock:            # the loaded store keeps a working lock
        assert t.datasets["hypot:raw"].fids == s.datasets["hypot:raw"].fids


def test_saver_writes_after_changes(tmp_path):
    s = seed(Store(), files=10)
    path = tmp_path / "state.pickle"
    saver = persist.Saver(s, str(path), interval=0.1).start()
    s.clock_offset = 7.0
    s.touch()
    deadline = time.time() + 5
    while not path.exists() and time.time() < deadline:
        time.sleep(0.05)
    saver.stop()
    t = Store()
    persist.load(t, str(path))
    assert t.clock_offset == 7.0
