"""Adapter streaming benchmark (a script, not a test):

    .venv/bin/python benchmarks/adapter_streaming.py [--files 100000] [--no-batch]

Starts ``poms-dd testbed --files N --port <free>`` in a subprocess, then measures in this process, through the
real clients, the wall time and the peak Python memory (tracemalloc) of

  (a) ``MetaCatAdapter.iter_files`` streamed and counted, nothing kept;
  (b) the same stream collected into a list;
  (c) the metacat client's own ``query(..., batch_size=1000)`` paging, counted (one ordered
      ``skip K limit 1000`` query per page: the server re-runs the query for every page);
  (d) ``DataDispatcherAdapter.create_project`` fed from the streamed iterator (a virtual project of N files).

tracemalloc slows Python code down for every row alike; the figures are for comparison side by side.
"""
from __future__ import annotations

import argparse
import gc
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from poms_dd.adapters import Credential, DataDispatcherAdapter, ExperimentConnection, MetaCatAdapter

POMS_DD = os.path.join(os.path.dirname(sys.executable), "poms-dd")
QUERY = "files from hypot:raw"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_testbed(files: int, cwd: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([POMS_DD, "testbed", "--files", str(files), "--port", str(port)], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    banner = ""
    while "serving on" not in banner:
        line = proc.stdout.readline()
        if not line:
            raise SystemExit(f"the testbed did not start:\n{banner}")
        banner += line
    return proc, re.search(r"serving on (\S+)", banner).group(1)


def measure(label: str, fn) -> tuple[str, float, float, object]:
    gc.collect()
    tracemalloc.start()
    t0 = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return label, elapsed, peak / 2**20, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--no-batch", action="store_true", help="skip (c), the client's batch_size paging")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        proc, base = start_testbed(args.files, tmp)
        try:
            cred = Credential(method="password", username="poms", secret="poms")
            conn = ExperimentConnection(experiment="bench", state_dir=Path(tmp) / "state", metacat_url=base + "/mc",
                                        dd_url=base + "/dd", metacat=cred, data_dispatcher=cred, timeout=600)
            mc, dd = MetaCatAdapter(conn), DataDispatcherAdapter(conn)
            mc.login(), dd.login()
            rows = [measure("(a) adapter iter_files, streamed and counted",
                            lambda: sum(1 for _ in mc.iter_files(QUERY))),
                    measure("(b) adapter iter_files collected into a list",
                            lambda: len(list(mc.iter_files(QUERY))))]
            if not args.no_batch:
                rows.append(measure("(c) client query(batch_size=1000), counted",
                                    lambda: sum(1 for _ in mc.client.query(QUERY, batch_size=1000))))
            rows.append(measure("(d) DD create_project from the stream (virtual)",
                                lambda: dd.create_project(mc.iter_files(QUERY), attributes={"poms_task_id": 1},
                                                          virtual=True).counts.total))
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
    print(f"{args.files:,} raw files in hypot:raw, query {QUERY!r}, python {sys.version.split()[0]}")
    print(f"{'':50} {'files':>9} {'time s':>8} {'peak MB':>8}")
    for label, elapsed, peak, result in rows:
        print(f"{label:50} {result:>9,} {elapsed:8.2f} {peak:8.1f}")


if __name__ == "__main__":
    main()
