"""The local executor: exit status, timeout killing the process group, capped output, a minimal environment."""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from poms_dd.services.launch.executors import LocalExecutor


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie nobody reaped yet counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _wait_gone(pid: int, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def _env_of(path: Path) -> dict[str, str]:
    return dict(item.split("=", 1) for item in path.read_text().split("\0") if item)


def test_a_successful_command_and_its_output():
    result = LocalExecutor().run("echo hello; echo err >&2", {"X": "1"}, timeout=10)
    assert result.ok and result.exit_code == 0 and result.reason == "exit status 0"
    assert result.output == "hello\nerr\n" and not result.truncated and result.error is None


def test_setup_lines_run_first_and_a_comment_in_them_does_not_swallow_the_command():
    result = LocalExecutor().run("echo cmd $S", {}, timeout=10, setup="S=from-setup # a comment")
    assert result.ok and result.output == "cmd from-setup\n"


def test_a_non_zero_exit_fails_with_its_status():
    result = LocalExecutor().run("echo oops; exit 3", {}, timeout=10)
    assert not result.ok and result.exit_code == 3 and result.reason == "exit status 3"
    assert "oops" in result.output


def test_a_command_killed_by_a_signal_says_so():
    result = LocalExecutor().run("kill -KILL $$", {}, timeout=10)
    assert not result.ok and result.exit_code == -signal.SIGKILL and result.reason == "killed by SIGKILL"


def test_a_command_that_cannot_start_says_why(tmp_path):
    result = LocalExecutor(shell=str(tmp_path / "no-such-shell")).run("true", {}, timeout=10)
    assert not result.ok and result.reason.startswith("could not start: ") and "no-such-shell" in result.reason
    result = LocalExecutor().run("true", {}, timeout=10, cwd=str(tmp_path / "missing"))
    assert not result.ok and "could not start" in result.reason


def test_a_timeout_kills_the_whole_process_group_including_a_child_ignoring_sigterm(tmp_path):
    pidfile = tmp_path / "child.pid"
    command = f"(trap '' TERM; exec sleep 300) & echo $! > {pidfile}; echo started; wait"
    started = time.monotonic()
    result = LocalExecutor(kill_grace=0.5).run(command, {}, timeout=1)
    assert time.monotonic() - started < 10
    child = int(pidfile.read_text())
    try:
        assert result.timed_out and not result.ok and result.exit_code is None
        assert result.reason == "timed out after 1 s; the process group was killed"
        assert "started" in result.output
        assert _wait_gone(child), "the child that ignored SIGTERM survived the timeout"
    finally:
        if _alive(child):
            os.kill(child, signal.SIGKILL)


def test_background_children_outlive_the_launch_without_holding_it(tmp_path):
    """Documented choice: a launch may start workers; they are left running and do not hold the launch."""
    pidfile = tmp_path / "bg.pid"
    started = time.monotonic()
    result = LocalExecutor(linger=0.5).run(f"sleep 30 & echo $! > {pidfile}; echo launched", {}, timeout=20)
    child = int(pidfile.read_text())
    try:
        assert result.ok and result.output == "launched\n" and time.monotonic() - started < 5
        assert _alive(child)
    finally:
        os.kill(child, signal.SIGKILL)


def test_huge_output_keeps_its_head_and_tail_with_a_marker():
    command = "echo START; head -c 3000000 /dev/zero | tr '\\0' x; echo; echo END"
    result = LocalExecutor(max_output=64 * 1024).run(command, {}, timeout=30)
    assert result.ok and result.truncated
    assert result.output.startswith("START\nxxx") and result.output.endswith("xxx\nEND\n")
    omitted = 6 + 3_000_000 + 1 + 4 - 64 * 1024
    assert f"[... {omitted} bytes omitted ...]" in result.output
    assert len(result.output.encode()) < 64 * 1024 + 100


def test_the_command_gets_a_minimal_environment_without_the_workers_secrets(tmp_path, monkeypatch):
    monkeypatch.setenv("POMS_DD_ENCRYPTION_KEY", "secret-key-of-the-worker")
    monkeypatch.setenv("POMS_DD_DATABASE_URL", "postgresql://u:pw@h/db")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "another-secret")
    monkeypatch.setenv("LANG", "C.UTF-8")
    out = tmp_path / "env"
    result = LocalExecutor().run(f"env -0 > {out}", {"POMS_DATA_DISPATCHER_TASK_ID": "5"}, timeout=10)
    assert result.ok
    received = _env_of(out)
    assert not [k for k in received if k.startswith("POMS_DD_")] and "AWS_SECRET_ACCESS_KEY" not in received
    assert received["POMS_DATA_DISPATCHER_TASK_ID"] == "5"
    assert received["PATH"] == os.environ["PATH"] and received["HOME"] == os.environ["HOME"]
    assert received["LANG"] == "C.UTF-8"
    bash_own = {"PWD", "SHLVL", "_", "OLDPWD"}
    assert set(received) - bash_own <= {"PATH", "HOME", "LANG", "USER", "LOGNAME", "POMS_DATA_DISPATCHER_TASK_ID"}


def test_output_with_nul_and_bad_utf8_becomes_storable_text():
    result = LocalExecutor().run("printf 'a\\0b\\377c'", {}, timeout=10)
    assert result.ok and "\x00" not in result.output and result.output == "a\ufffdb\ufffdc"


def test_an_environment_value_with_nul_is_refused():
    with pytest.raises(ValueError, match="NUL"):
        LocalExecutor().run("true", {"X": "a\x00b"}, timeout=10)
