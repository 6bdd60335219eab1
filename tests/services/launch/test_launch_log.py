"""The launch log text: header, quoted environment, capped output, result line; and the capping buffer."""
from __future__ import annotations

import datetime as dt

from poms_dd.services.launch.executors import LaunchResult, LocalExecutor
from poms_dd.services.launch.launch_log import OutputBuffer, cap, compose, header, result_line

STARTED = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.timezone.utc)


def test_the_buffer_never_holds_more_than_its_cap_and_keeps_head_and_tail():
    buf = OutputBuffer(1000)
    buf.add(b"HEAD")
    for i in range(20000):
        buf.add(b"%08d\n" % i)
        assert buf.held_bytes <= 1000
    buf.add(b"TAIL")
    text = buf.text()
    assert buf.truncated and buf.total == 4 + 20000 * 9 + 4
    assert text.startswith("HEAD00000000\n") and text.endswith("00019999\nTAIL")
    assert f"[... {buf.total - 1000} bytes omitted ...]" in text


def test_cap_leaves_short_text_alone_and_cuts_long_text():
    assert cap("short \x00 text", 100) == "short \ufffd text"
    long = "a" * 500 + "b" * 500
    out = cap(long, 100)
    assert out.startswith("a" * 50) and out.endswith("b" * 50) and "[... 900 bytes omitted ...]" in out


def test_the_log_of_a_failed_launch_reads_top_to_bottom():
    env = {"POMS_DATA_DISPATCHER_DATASET_QUERY": "files from a:b where x = 'y'", "POMS_DATA_DISPATCHER_TASK_ID": "5"}
    ex = LocalExecutor()
    result = ex.run("echo working; exit 2", env, timeout=10, setup="source /etc/profile")
    log = compose(started_at=STARTED, executor=ex.describe(), timeout=10, setup="source /etc/profile",
                  command="echo working; exit 2", env=env, result=result)
    assert log.startswith("=== poms_dd launch ===\nstarted:  2024-05-01 12:00:00 UTC\nexecutor: local (/bin/bash)\n")
    assert "--- setup ---\nsource /etc/profile\n--- command ---\necho working; exit 2\n" in log
    assert "POMS_DATA_DISPATCHER_DATASET_QUERY='files from a:b where x = '\"'\"'y'\"'\"''\n" in log
    assert "--- output ---\nworking\n--- result ---\nLaunch failed: exit status 2 (" in log
    assert log.index("POMS_DATA_DISPATCHER_DATASET_QUERY") < log.index("POMS_DATA_DISPATCHER_TASK_ID")


def test_the_result_line_says_success_timeout_or_start_failure():
    assert result_line(LaunchResult(0, False, "", False, 1.25)) == "Launch succeeded: exit status 0 (1.2 s)"
    assert result_line(LaunchResult(None, True, "", False, 600)) == \
        "Launch failed: timed out after 600 s; the process group was killed (600.0 s)"
    assert result_line(LaunchResult(None, False, "", False, 0, "could not start: ssh: No such file")) == \
        "Launch failed: could not start: ssh: No such file (0.0 s)"


def test_a_capped_log_keeps_the_output_and_result_and_caps_huge_environment_values():
    env = {"POMS_DATA_DISPATCHER_DATASET_QUERY": "fids " + ",".join(str(i) for i in range(100000))}
    assert len(header(started_at=STARTED, executor="x", timeout=1, setup="", command="c", env=env)) < 5000
    result = LaunchResult(0, False, "out\n", False, 0.1)
    log = compose(started_at=STARTED, executor="x", timeout=1, setup="", command="c" * 20000, env=env,
                  result=result, max_bytes=8192)
    assert len(log.encode()) < 8192 + 200 and log.endswith("--- output ---\nout\n--- result ---\n"
                                                           "Launch succeeded: exit status 0 (0.1 s)\n")
