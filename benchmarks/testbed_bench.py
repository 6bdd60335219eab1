"""Testbed benchmark (a script, not a test): ``.venv/bin/python benchmarks/testbed_bench.py [N ...]``.

For each N (default 10k, 100k, 1M raw files) it starts ``poms-dd testbed --files N`` as a separate process and
prints, measured through the real clients: startup time (import + seed), MetaCat ``summary="count"``, a
``where`` + ``ordered skip limit`` query, DD ``create_project`` of 100k files, and the testbed process RSS.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time

POMS_DD = os.path.join(os.path.dirname(sys.executable), "poms-dd")


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def timed(fn):
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def bench(n: int, tmp: str) -> None:
    t0 = time.perf_counter()
    proc = subprocess.Popen([POMS_DD, "testbed", "--port", "0", "--files", str(n)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, cwd=tmp)
    banner = ""
    while "bob/" not in banner:
        line = proc.stdout.readline()
        if not line:
            raise SystemExit(f"testbed did not start:\n{banner}")
        banner += line
    startup = time.perf_counter() - t0
    base = re.search(r"serving on (\S+)", banner).group(1)
    print(f"N={n:>9,}  startup incl. seed {startup:6.2f} s   RSS after seed {rss_mb(proc.pid):7.0f} MB")
    try:
        _metacat(base, tmp, n)
        _dd(base, tmp)
        print(f"{'':13}RSS at end {rss_mb(proc.pid):7.0f} MB")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


def _metacat(base: str, tmp: str, n: int) -> None:
    from metacat.webapi import MetaCatClient
    mc = MetaCatClient(server_url=base + "/mc", token_library=os.path.join(tmp, f"mc{n}"))
    try:
        dt, res = timed(lambda: list(mc.query("files from hypot:raw", summary="count")))
        print(f"{'':13}MetaCat summary=count          {dt:6.2f} s  -> {res[0]['count']:,} files")
        q = "files from hypot:raw where core.runs[any] in (1003, 1004) and core.run_type = physics ordered skip 100 limit 1000"
        dt, res = timed(lambda: list(mc.query(q)))
        print(f"{'':13}MetaCat where+ordered skip/limit {dt:6.2f} s  -> {len(res):,} files")
    except Exception as err:        # the MetaCat face may be incomplete; report and go on
        print(f"{'':13}MetaCat query failed: {type(err).__name__}: {str(err)[:200]}")


def _dd(base: str, tmp: str) -> None:
    from data_dispatcher.api import DataDispatcherClient
    dd = DataDispatcherClient(server_url=base + "/dd", worker_id="bench", token_library=os.path.join(tmp, "dd"))
    dd.login_password("poms", "poms")
    files = [{"namespace": "hypot", "name": f"bench_{i:06d}.root"} for i in range(100_000)]
    dt, p = timed(lambda: dd.create_project(files, project_attributes={"virtual": True}))
    print(f"{'':13}DD create_project 100k files   {dt:6.2f} s  -> project {p['project_id']}")
    dt, _ = timed(lambda: [dd.file_done(p["project_id"], f"{h['namespace']}:{h['name']}")
                           for h in [dd.next_file(p["project_id"], stagger=0, timeout=5) for _ in range(50)]])
    print(f"{'':13}DD next_file+file_done (100k)  {dt / 50 * 1000:6.1f} ms per file")


def main(argv: list[str]) -> None:
    sizes = [int(a) for a in argv] or [10_000, 100_000, 1_000_000]
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            bench(n, tmp)


if __name__ == "__main__":
    main(sys.argv[1:])
