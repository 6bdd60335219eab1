"""Launch benchmark (a script, not a test; it prints figures):

    .venv/bin/python benchmarks/launch_bench.py [--files 100000] [--scale 40] [--scale-files 1000]

On a private PostgreSQL and a testbed of N raw files (both started here), with experiment ``hypot`` onboarded:

  (a) bare: the real clients doing the launch's work — one streamed MetaCat query fed into DD ``create_project``;
  (b) poms_dd: the same files launched end to end — a queued submission, a real ``poms-dd worker`` process that
      resolves, validates and counts, creates the tagged project from the stream and records it — timed from the
      request to status ``created``; the worker's peak RSS (VmHWM) is read from /proc;
  (c) scale-out: ``--scale`` launches of ``--scale-files``-file stages by 1 worker process, then by 4.

Goals (issue "Launch"): (b)/(a) ≤ 1.2, worker RSS ≤ 300 MB, 4 workers ≥ 3× faster than 1 until DD is the limit.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from cryptography.fernet import Fernet
from data_dispatcher.api import DataDispatcherClient
from metacat.webapi import MetaCatClient
from sqlalchemy import select

from poms_dd import migrate
from poms_dd.db import Database
from poms_dd.dev.devdb import DevPostgres, free_port
from poms_dd.models import Campaign, CampaignStage, Submission, SubmissionStatus, User
from poms_dd.permissions import Actor
from poms_dd.services.factory import Services
from poms_dd.settings import Settings
from poms_dd.tasks.queue import JobQueue


class SubprocessTestbed:
    """``poms-dd testbed`` in a process of its own (in this process its threads would share our GIL)."""

    def __init__(self, files: int, root: Path):
        port = free_port()
        self.proc = subprocess.Popen([POMS_DD, "testbed", "--files", str(files), "--port", str(port)], cwd=root,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        banner = ""
        while "serving on" not in banner:
            line = self.proc.stdout.readline()
            if not line:
                raise SystemExit(f"the testbed did not start:\n{banner}")
            banner += line
        self.url = f"http://127.0.0.1:{port}"
        self.mc_url, self.dd_url, self.rucio_url = self.url + "/mc", self.url + "/dd", self.url + "/rucio"

    def cpu_seconds(self) -> float:
        """CPU time the testbed process used so far (user + system)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)

POMS_DD = str(Path(sys.executable).with_name("poms-dd"))
SYSTEM = Actor.system_actor("bench")


def setup(root: Path, files: int):
    pg = DevPostgres(root / "pg", free_port())
    pg.start()
    pg.create_database("bench")
    env = {"POMS_DD_DATABASE_URL": pg.url("bench"), "POMS_DD_SECRET_KEY": "bench",
           "POMS_DD_ENCRYPTION_KEY": Fernet.generate_key().decode(), "POMS_DD_INSTANCE_PATH": str(root / "inst")}
    settings = Settings.from_env(env)
    migrate.upgrade(settings.database_url)
    testbed = SubprocessTestbed(files, root)
    db = Database(settings.database_url)
    with db.session() as s:
        svc = Services(s, SYSTEM, settings=settings)
        svc.onboarding.create({"name": "hypot", "metacat_url": testbed.mc_url, "dd_url": testbed.dd_url,
                               "rucio_host": testbed.rucio_url, "rucio_account": "poms",
                               "credentials": {k: {"method": "password", "username": "poms", "secret": "poms"}
                                               for k in ("metacat", "data_dispatcher", "rucio")}})
        exp = svc.scope.experiment("hypot")
        user = User(username="bench", full_name="Bench", is_superuser=True)
        camp = Campaign(experiment_id=exp.id, name="bench", data_handling_service="data_dispatcher")
        s.add_all([user, camp])
        s.commit()
    return pg, testbed, db, settings, env


@contextmanager
def bench_world(files: int):
    """``(root, testbed, db, settings, env)`` of :func:`setup` in a temporary directory, stopped afterwards."""
    with tempfile.TemporaryDirectory() as tmpdir:
        root = Path(tmpdir)
        pg, testbed, db, settings, env = setup(root, files)
        try:
            yield root, testbed, db, settings, env
        finally:
            db.engine.dispose()
            testbed.stop()
            pg.stop()


def add_stage(db, name: str, query: str, split: str | None = None) -> int:
    with db.session() as s:
        camp = s.scalars(select(Campaign)).one()
        stage = CampaignStage(campaign_id=camp.id, name=name, data_dispatcher_dataset_query=query, split_type=split)
        s.add(stage)
        s.commit()
        return stage.id


def bare(testbed, tmp: Path, query: str) -> float:
    mc = MetaCatClient(testbed.mc_url, token_library=str(tmp / "mc-lib"))
    mc.login_password("poms", "poms")
    dd = DataDispatcherClient(testbed.dd_url, token_library=str(tmp / "dd-lib"), worker_id="b")
    dd.login_password("poms", "poms")
    t0 = time.perf_counter()
    files = ({"namespace": f["namespace"], "name": f["name"]} for f in mc.query(query))
    dd.create_project(list(files), project_attributes={"bench": "bare"})
    return time.perf_counter() - t0


def launch_all(db, settings, stage_ids: list[int]) -> tuple[float, list[int]]:
    """Queue one launch per stage id; wait until every submission is final.  Returns (seconds, ids)."""
    queue = JobQueue(db.engine)
    t0 = time.perf_counter()
    ids = []
    with db.session() as s:
        launches = Services(s, SYSTEM, settings=settings, queue=queue).launches
        for sid in stage_ids:
            sub, _ = launches.request("hypot", s.get(CampaignStage, sid).campaign_id, sid)
            ids.append(sub.id)
    while True:
        with db.session() as s:
            statuses = [s.get(Submission, i).status for i in ids]
        if all(st not in (SubmissionStatus.QUEUED, SubmissionStatus.LAUNCHING) for st in statuses):
            break
        time.sleep(0.05)
    elapsed = time.perf_counter() - t0
    queue.close()
    bad = [st for st in statuses if st != SubmissionStatus.CREATED]
    if bad:
        raise SystemExit(f"launches did not all succeed: {bad}")
    return elapsed, ids


def workers(env: dict, n: int) -> list[subprocess.Popen]:
    full = {**os.environ, **env, "POMS_DD_LOG_LEVEL": "WARNING"}
    return [subprocess.Popen([POMS_DD, "worker"], env=full, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(n)]


def stop(procs: list[subprocess.Popen]) -> list[int]:
    """Stop the workers; returns each one's peak RSS in kB (VmHWM)."""
    peaks = []
    for p in procs:
        with open(f"/proc/{p.pid}/status") as f:
            peaks.append(next(int(line.split()[1]) for line in f if line.startswith("VmHWM")))
        p.terminate()
    for p in procs:
        p.wait(timeout=30)
    return peaks


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=100000)
    ap.add_argument("--scale", type=int, default=40)
    ap.add_argument("--scale-files", type=int, default=1000)
    args = ap.parse_args()
    with bench_world(args.files) as (root, testbed, db, settings, env):
        query = "files from hypot:raw"
        t_bare = bare(testbed, root, query)
        big = add_stage(db, "big", query)
        procs = workers(env, 1)
        time.sleep(2)                                     # the worker connects and listens
        t_poms, _ = launch_all(db, settings, [big])
        peak = stop(procs)[0]
        print(f"(a) bare clients, {args.files} files: {t_bare:.2f} s")
        print(f"(b) poms_dd end to end (request -> created), {args.files} files: {t_poms:.2f} s; "
              f"ratio {t_poms / t_bare:.2f} (goal <= 1.2); worker peak RSS {peak / 1024:.0f} MB (goal <= 300)")
        small = [add_stage(db, f"s{i}", "files from hypot:raw", f"nfiles({args.scale_files})")
                 for i in range(args.scale)]
        for n in (1, 4):
            procs = workers(env, n)
            time.sleep(2)
            stages = small if n == 1 else [add_stage(db, f"t{i}", "files from hypot:raw",
                                                     f"nfiles({args.scale_files})") for i in range(args.scale)]
            cpu0 = testbed.cpu_seconds()
            t, _ = launch_all(db, settings, stages)
            busy = testbed.cpu_seconds() - cpu0
            stop(procs)
            print(f"(c) {args.scale} launches of {args.scale_files} files by {n} worker process(es): {t:.2f} s "
                  f"(the single-process testbed was busy {busy:.2f} s of them)")
            if n == 1:
                t1 = t
        print(f"    scale-out ratio 1 vs 4 workers: {t1 / t:.2f}x (goal >= 3x until DD is the limit)")


if __name__ == "__main__":
    main()
