"""Launch chaos (a script, not a test; it prints figures):

    .venv/bin/python benchmarks/launch_chaos.py [--launches 200] [--workers 3] [--seed 1]

On a private PostgreSQL and a testbed started here: ``--launches`` launches of nfiles / drainingn / limitn stages
through the JSON API (``POST .../launches``), a third of them sent twice with the same Idempotency-Key, while
worker processes are SIGKILLed at random moments (and restarted) and the testbed injects MetaCat and DD faults
(``/_testbed/fault``).  Then everything settles (faults off, workers kept alive until no submission is queued or
launching; stalled jobs are retried by heartbeat) and the script prints:

  duplicates   DD projects beyond one per submission, and slices launched twice (same stage, cursor, slice)
  orphans      DD projects with our poms_task_id that we did not record, or recorded as failed while active
  lost         accepted launches without a submission, or submissions still queued/launching at the end
Each must be 0.
"""
from __future__ import annotations

import argparse
import collections
import os
import random
import signal
import sys
import time
from pathlib import Path

import requests
from data_dispatcher.api import DataDispatcherClient
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent))
from launch_bench import add_stage, bench_world, stop, workers  # noqa: E402  (a sibling script)

from poms_dd import create_app  # noqa: E402
from poms_dd.models import DataDispatcherSubmission, Submission, SubmissionStatus, User  # noqa: E402
from poms_dd.permissions import Actor  # noqa: E402
from poms_dd.services.factory import Services  # noqa: E402

ACTIVE = (SubmissionStatus.QUEUED, SubmissionStatus.LAUNCHING)
SPLITS = ("nfiles(7)", "drainingn(5)", "limitn(3)", "nfiles(11)")


def token(db, settings) -> str:
    with db.session() as s:
        user = s.scalars(select(User).where(User.username == "bench")).one()
        return Services(s, Actor.system_actor("chaos"), settings=settings).users.create_token(user, "chaos")[1]


def fault(testbed, rng: random.Random) -> None:
    service = rng.choice(["mc", "dd"])
    requests.post(f"{testbed.url}/_testbed/fault", params={"service": service, "status": rng.choice([500, 503]),
                                                            "count": rng.randint(1, 3)}, timeout=5)


def chaos(args, db, settings, env, testbed) -> tuple[set[int], int]:
    rng = random.Random(args.seed)
    client = create_app(settings, db=db).test_client()
    auth = {"Authorization": f"Bearer {token(db, settings)}"}
    with db.session() as s:
        from poms_dd.models import Campaign
        cid = s.scalars(select(Campaign)).one().id
    stages = [add_stage(db, f"c{i}", f"files from hypot:raw where core.runs[any] = {1000 + i}", SPLITS[i % 4])
              for i in range(12)]
    procs = workers(env, args.workers)
    accepted: set[int] = set()
    refused = 0
    for n in range(args.launches):
        sid = rng.choice(stages)
        key = f"chaos-{n}"
        for _ in range(2 if rng.random() < 0.33 else 1):
            r = client.post(f"/api/experiments/hypot/campaigns/{cid}/stages/{sid}/launches", json={},
                            headers={**auth, "Idempotency-Key": key})
            if r.status_code == 202:
                accepted.add(r.json["submission_id"])
            else:
                refused += 1
        if rng.random() < 0.05:
            victim = rng.randrange(len(procs))
            os.kill(procs[victim].pid, signal.SIGKILL)          # mid-launch, whatever it was doing
            procs[victim].wait()
            procs[victim] = workers(env, 1)[0]
        if rng.random() < 0.05:
            fault(testbed, rng)
        time.sleep(rng.random() * 0.05)
    requests.delete(f"{testbed.url}/_testbed/fault", timeout=5)
    deadline = time.monotonic() + args.settle
    while time.monotonic() < deadline:
        with db.session() as s:
            active = s.scalar(select(Submission.id).where(Submission.status.in_(ACTIVE)).limit(1))
        if active is None:
            break
        time.sleep(2)
    stop(procs)
    return accepted, refused


def report(db, testbed, accepted: set[int], root: Path) -> None:
    dd = DataDispatcherClient(testbed.dd_url, token_library=str(root / "lib"), worker_id="c")
    dd.login_password("poms", "poms")
    projects = dd.list_projects(owner="all", state=None, not_state=None, attributes={"poms_experiment": "hypot"},
                                with_files=False)
    with db.session() as s:
        subs = {sub.id: sub for sub in s.scalars(select(Submission))}
        tasks = {t.id: t for t in s.scalars(select(DataDispatcherSubmission))}
        per_sub = collections.Counter(p["attributes"].get("poms_submission_id") for p in projects)
        duplicates = sum(n - 1 for n in per_sub.values() if n > 1)
        slices = collections.Counter(
            (t.stage_id, (t.split_slice or {}).get("test"), (t.split_slice or {}).get("key"))
            for t in tasks.values() if subs[t.submission_id].status not in
            (SubmissionStatus.LAUNCH_FAILED,) and (t.split_slice or {}).get("key") not in ("first", "query"))
        duplicates += sum(n - 1 for n in slices.values() if n > 1)
        orphans = 0
        for p in projects:
            task = tasks.get(p["attributes"].get("poms_task_id"))
            if task is None or task.project_id != p["project_id"]:
                orphans += 1
            elif subs[task.submission_id].status == SubmissionStatus.LAUNCH_FAILED and p["state"] == "active":
                orphans += 1
        lost = len(accepted - set(subs)) + sum(1 for sub in subs.values() if sub.status in ACTIVE)
        by_status = collections.Counter(sub.status for sub in subs.values())
    print(f"submissions: {len(subs)} ({dict(by_status)}); DD projects of ours: {len(projects)}")
    print(f"duplicates: {duplicates}")
    print(f"orphans:    {orphans}")
    print(f"lost:       {lost}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--launches", type=int, default=200)
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--files", type=int, default=5000)
    ap.add_argument("--settle", type=float, default=300, help="seconds to wait for everything to settle")
    args = ap.parse_args()
    with bench_world(args.files) as (root, testbed, db, settings, env):
        t0 = time.perf_counter()
        accepted, refused = chaos(args, db, settings, env, testbed)
        print(f"{args.launches} launch requests ({len(accepted)} submissions accepted, {refused} refused) "
              f"settled in {time.perf_counter() - t0:.0f} s")
        report(db, testbed, accepted, root)


if __name__ == "__main__":
    main()
