"""Split benchmark (a script, not a test; it prints figures):

    .venv/bin/python benchmarks/split_bench.py [--files 100000] [--slices 200] [--n 50]

On a private PostgreSQL and a testbed of N raw files (both started here, as in launch_bench.py):

  (a) drainingn(n): the time and the MetaCat calls to compute slice 1 of a fresh stage, versus slice ``--slices``
      of a stage that really launched the slices before it (each through the launch runner: a DD project per
      slice, the delivered files recorded) — the same computation a launch makes (``next_slice`` on the stage's
      split context).  Goal: ratio ≤ 1.2.  For comparison, the cost of the simple way (stream the ordered query
      and drop the files delivered before) at the same slice.
  (b) the preview (dry run) of 5 slices of nfiles(1000) with replica availability: time, MetaCat and Rucio calls.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).parent))
from launch_bench import SYSTEM, add_stage, bench_world  # noqa: E402

from poms_dd.models import CampaignStage, User  # noqa: E402
from poms_dd.permissions import Actor  # noqa: E402
from poms_dd.services.factory import Services  # noqa: E402
from poms_dd.services.launch.resolve import LaunchSource, split_context  # noqa: E402
from poms_dd.tasks.queue import JobQueue  # noqa: E402


class Counting:
    """Counts the MetaCat (and Rucio) requests a split or a preview makes, by wrapping the adapters' methods."""

    def __init__(self, adapters):
        self.calls = {"metacat": 0, "rucio": 0}
        for name in ("iter_files", "count", "validate", "get_files"):
            self._wrap(adapters.metacat, name, "metacat")
        self._wrap(adapters.rucio, "_replica_chunk", "rucio")

    def _wrap(self, obj, name: str, service: str) -> None:
        original = getattr(obj, name)

        def counted(*args, **kwargs):
            if name != "validate":                    # validate counts through count()
                self.calls[service] += 1
            return original(*args, **kwargs)
        setattr(obj, name, counted)

    def reset(self) -> None:
        self.calls = {k: 0 for k in self.calls}


def compute(db, settings, sid: int, repeat: int = 5) -> tuple[float, int, int]:
    """(median seconds, MetaCat calls, files in the slice) of computing the stage's next slice."""
    times, calls, size = [], 0, 0
    with db.session() as s:
        svc = Services(s, SYSTEM, settings=settings)
        stage = s.get(CampaignStage, sid)
        adapters = svc.adapters(stage.campaign.experiment)
        counter = Counting(adapters)
        for _ in range(repeat):
            ctx = split_context(s, stage, False, adapters)
            counter.reset()
            t0 = time.perf_counter()
            chosen = ctx.spec.split_type.next_slice(ctx.spec.params, ctx.query, ctx.cursor, ctx.source)
            times.append(time.perf_counter() - t0)
            calls, size = counter.calls["metacat"], len(chosen.fids or ())
        s.rollback()
    return statistics.median(times), calls, size


def simple_way(db, settings, sid: int, n: int) -> float:
    """Stream the ordered query, drop what was delivered (looked up per file batch), take n: the cost that grows."""
    with db.session() as s:
        stage = s.get(CampaignStage, sid)
        adapters = Services(s, SYSTEM, settings=settings).adapters(stage.campaign.experiment)
        ctx = split_context(s, stage, False, adapters)
        source: LaunchSource = ctx.source
        t0 = time.perf_counter()
        picked: list[str] = []
        batch: list[str] = []
        for fid in source.fids(f"({ctx.query}) ordered"):
            batch.append(fid)
            if len(batch) == 1000:
                delivered = source.delivered_among(batch)
                picked.extend(f for f in batch if f not in delivered)
                batch = []
                if len(picked) >= n:
                    break
        elapsed = time.perf_counter() - t0
        s.rollback()
    return elapsed


def launch_slices(db, settings, sid: int, count: int) -> float:
    queue = JobQueue(db.engine)
    t0 = time.perf_counter()
    for _ in range(count):
        with db.session() as s:
            person = Actor.person(s.scalars(select(User)).first())
            svc = Services(s, person, settings=settings, queue=queue)
            sub, _ = svc.launches.request("hypot", s.get(CampaignStage, sid).campaign_id, sid)
            status = Services(s, SYSTEM, settings=settings).launch_runner().run(sub.id)
            if status != "created":
                raise SystemExit(f"launch {sub.id} ended {status}")
    queue.close()
    return time.perf_counter() - t0


def preview(db, settings, sid: int) -> None:
    with db.session() as s:
        person = Actor.person(s.scalars(select(User)).first())
        svc = Services(s, person, settings=settings)
        stage = s.get(CampaignStage, sid)
        split = getattr(svc, "split_control", None)
        if split is None:
            print("(b) preview: not built in this checkout")
            return
        counter = Counting(svc.adapters(stage.campaign.experiment))
        t0 = time.perf_counter()
        doc = split.preview("hypot", stage.campaign_id, sid, slices=5).to_json()
        elapsed = time.perf_counter() - t0
        files = sum(sl.get("file_count") or 0 for sl in doc["slices"])
        avail = sum((sl.get("replicas") or {}).get("available", 0) for sl in doc["slices"])
        print(f"(b) preview of {len(doc['slices'])} slices of nfiles(1000), {files} files, {avail} with an available "
              f"replica: {elapsed:.2f} s; MetaCat calls {counter.calls['metacat']}, Rucio calls "
              f"{counter.calls['rucio']} (≤ 1,000 DIDs each)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=100000)
    ap.add_argument("--slices", type=int, default=200)
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--preview-only", action="store_true", help="only (b)")
    args = ap.parse_args()
    with bench_world(args.files) as (root, testbed, db, settings, env):
        query = "files from hypot:raw"
        if args.preview_only:
            preview(db, settings, add_stage(db, "preview", query, "nfiles(1000)"))
            return
        split = f"drainingn({args.n})"
        fresh = add_stage(db, "fresh", query, split)
        walked = add_stage(db, "walked", query, split)
        took = launch_slices(db, settings, walked, 1)
        t2, c2, n2 = compute(db, settings, walked)
        took += launch_slices(db, settings, walked, args.slices - 2)
        t1, c1, n1 = compute(db, settings, fresh)
        tk, ck, nk = compute(db, settings, walked)
        ts = simple_way(db, settings, walked, args.n)
        print(f"(a) {split} over {args.files} files ({args.slices - 1} slices launched first in {took:.1f} s):")
        print(f"    slice 1:   {t1 * 1000:.1f} ms, {c1} MetaCat call(s), {n1} files")
        print(f"    slice 2:   {t2 * 1000:.1f} ms, {c2} MetaCat call(s), {n2} files (slice 1 also counts the "
              "query once, for drift reports)")
        print(f"    slice {args.slices}: {tk * 1000:.1f} ms, {ck} MetaCat call(s), {nk} files; "
              f"ratio to slice 1 {tk / t1:.2f} (goal <= 1.2), to slice 2 {tk / t2:.2f}")
        print(f"    the simple way at slice {args.slices} (stream the ordered query, drop delivered files): "
              f"{ts * 1000:.1f} ms ({ts / tk:.1f}x slower)")
        big = add_stage(db, "preview", query, "nfiles(1000)")
        preview(db, settings, big)


if __name__ == "__main__":
    main()
