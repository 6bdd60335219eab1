"""``poms-dd testbed`` as a person runs it: prints the URLs, serves, stops on SIGTERM and keeps --state."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

from data_dispatcher.api import DataDispatcherClient

POMS_DD = os.path.join(os.path.dirname(sys.executable), "poms-dd")


def start(tmp_path, *args):
    proc = subprocess.Popen([POMS_DD, "testbed", "--port", "0", "--files", "100", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path)
    lines = []
    while True:
        line = proc.stdout.readline()
        assert line, "".join(lines)
        lines.append(line)
        if line.startswith("  bob/"):
            return proc, "".join(lines)


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    return out


def test_help():
    out = subprocess.run([POMS_DD, "testbed", "--help"], capture_output=True, text=True, check=True).stdout
    assert "--state" in out and "--files" in out


def test_serves_prints_urls_and_keeps_state(tmp_path):
    state = tmp_path / "tb.state"
    proc, banner = start(tmp_path, "--state", str(state))
    try:
        dd_url = re.search(r"DATA_DISPATCHER_URL=(\S+)", banner).group(1)
        for key in ("DATA_DISPATCHER_AUTH_URL", "METACAT_SERVER_URL", "METACAT_AUTH_SERVER_URL", "rucio_host"):
            assert key in banner
        assert "poms/poms" in banner and "alice/alice" in banner
        c = DataDispatcherClient(server_url=dd_url, worker_id="w", token_library=str(tmp_path / "tl"))
        c.login_password("alice", "alice")
        pid = c.create_project(["hypot:a", "hypot:b"], project_attributes={"virtual": True})["project_id"]
    finally:
        out = stop(proc)
    assert "state saved" in out and state.exists()
    proc, banner = start(tmp_path, "--state", str(state))
    try:
        dd_url = re.search(r"DATA_DISPATCHER_URL=(\S+)", banner).group(1)
        c = DataDispatcherClient(server_url=dd_url, worker_id="w", token_library=str(tmp_path / "tl2"))
        c.login_password("alice", "alice")
        assert c.get_project(pid, with_files=False)["attributes"] == {"virtual": True}
    finally:
        stop(proc)
