"""`poms-dd worker-example` consumes a Data Dispatcher project of the testbed as a grid job would: run as the
installed command in a subprocess with the launch environment (SPEC §2.5), checked through the real clients."""
from __future__ import annotations

import os
import subprocess
import sys
import zlib

import pytest
from data_dispatcher.api import DataDispatcherClient
from metacat.webapi import MetaCatClient

from poms_dd.dev.worker_example_job import payload_for
from poms_dd.testbed.runner import TestbedServer

CMD = [sys.executable, "-c", "from poms_dd.cli import run_main; run_main()", "worker-example"]
FAST = ["--seconds", "0.05", "--stagger", "0", "--timeout", "20"]


@pytest.fixture(scope="module")
def tb():
    """A testbed of this module's own: the runs declare files, which other tests must not see."""
    server = TestbedServer(seed="demo").start()
    yield server
    server.stop()


def _dd(tb, tmp_path, user: str = "poms") -> DataDispatcherClient:
    client = DataDispatcherClient(server_url=tb.dd_url, worker_id="test-side",
                                  token_library=str(tmp_path / f"test_dd_{user}"))
    client.login_password(user, user)
    return client


def _mc(tb, tmp_path, user: str = "poms") -> MetaCatClient:
    client = MetaCatClient(server_url=tb.mc_url, token_library=str(tmp_path / f"test_mc_{user}"))
    client.login_password(user, user)
    return client


def _project(tb, tmp_path, run: int, n: int, users=()) -> tuple[int, list[dict]]:
    """A project (owner poms) of n raw files of ``run`` that have a usable replica; returns (id, MetaCat files)."""
    dd, mc = _dd(tb, tmp_path), _mc(tb, tmp_path)
    files = list(mc.query(f"files from hypot:raw where core.runs[any] = {run} ordered", with_metadata=True))
    probe = dd.create_project([f"{f['namespace']}:{f['name']}" for f in files[:3 * n]])
    reservable = {h["name"] for h in dd.get_project(probe["project_id"], with_replicas=True)["file_handles"]
                  if any(r["available"] and r["rse_available"] for r in h["replicas"].values())}
    dd.delete_project(probe["project_id"])
    chosen = [f for f in files if f["name"] in reservable][:n]
    assert len(chosen) == n
    project = dd.create_project([f"hypot:{f['name']}" for f in chosen], users=list(users))
    return project["project_id"], chosen


def _run(tb, tmp_path, *args, user: str = "poms", project_id: int | None = None, secret: str = "password"):
    """The command as a launch runs it: env vars for the services and the project, a password file."""
    for d in ("home", "cwd", "tmp"):
        (tmp_path / d).mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POMS_DD_JOB_", "BEARER_TOKEN"))}
    env.update(DATA_DISPATCHER_URL=tb.dd_url, DATA_DISPATCHER_AUTH_URL=tb.dd_url + "/auth",
               METACAT_SERVER_URL=tb.mc_url, METACAT_AUTH_SERVER_URL=tb.mc_url + "/auth", POMS_DD_JOB_USER=user,
               HOME=str(tmp_path / "home"), TMPDIR=str(tmp_path / "tmp"), POMS_DATA_DISPATCHER_TASK_ID="77",
               POMS_DATA_DISPATCHER_DATASET_QUERY="files from hypot:raw")
    if project_id is not None:
        env["POMS_DATA_DISPATCHER_PROJECT_ID"] = str(project_id)
    if secret == "password":
        (tmp_path / "pw").write_text(user + "\n")
        env["POMS_DD_JOB_PASSWORD_FILE"] = str(tmp_path / "pw")
    elif secret == "bearer":
        (tmp_path / "bearer").write_text(f"{user}-bearer-token\n")     # the testbed's registered bearer tokens
        env["BEARER_TOKEN_FILE"] = str(tmp_path / "bearer")
    return subprocess.run(CMD + list(args), cwd=tmp_path / "cwd", env=env, capture_output=True, text=True,
                          timeout=180)


def _states(tb, tmp_path, project_id: int) -> dict[str, str]:
    project = _dd(tb, tmp_path).get_project(project_id)
    return {h["name"]: h["state"] for h in project["file_handles"]}


def _leaves_no_files(tmp_path) -> None:
    for d in ("home", "cwd", "tmp"):             # no token library, no worker-id file, the private dir removed
        assert list((tmp_path / d).iterdir()) == [], d


def test_workers_consume_the_project_and_declare_children_then_a_second_run_has_nothing_to_do(tb, tmp_path):
    pid, inputs = _project(tb, tmp_path, run=1001, n=5)
    result = _run(tb, tmp_path, "--workers", "2", *FAST, "--output-pattern", "%(stem)s.reco.root",
                  "--output-dataset", "hypot:wx_reco", "--worker-id", "wx", project_id=pid)
    assert result.returncode == 0, result.stderr
    assert set(_states(tb, tmp_path, pid).values()) == {"done"}
    assert result.stdout.count(" done hypot:") == 5
    assert f"summary: project {pid}: 5 done, 0 failed, 0 errors; project state done" in result.stdout
    assert "[wx-1]" in result.stdout or "[wx-2]" in result.stdout
    mc = _mc(tb, tmp_path)
    for f in inputs:
        out = mc.get_file(did=f"hypot:{f['name'][:-len('.root')]}.reco.root", with_metadata=True,
                          with_provenance=True)
        assert out is not None, f["name"]
        assert [p["fid"] for p in out["parents"]] == [f["fid"]]
        assert out["metadata"]["core.runs"] == f["metadata"]["core.runs"] == [1001]
        assert out["metadata"]["core.data_tier"] == "full-reconstructed"
        data = payload_for(f"hypot:{out['name']}", f["fid"])      # what the job "wrote"
        assert (out["size"], out["checksums"]["adler32"]) == (len(data), f"{zlib.adler32(data):08x}")
    dataset_files = {f["name"] for f in mc.get_dataset_files("hypot:wx_reco")}
    assert dataset_files == {f["name"][:-5] + ".reco.root" for f in inputs}
    _leaves_no_files(tmp_path)

    again = _run(tb, tmp_path, *FAST, "--output-dataset", "hypot:wx_reco", project_id=pid)
    assert again.returncode == 0, again.stderr
    assert f"project {pid} has ended (state done): nothing to do" in again.stdout
    assert " done hypot:" not in again.stdout


def test_an_output_kept_from_an_earlier_attempt_is_reused(tb, tmp_path):
    pid, inputs = _project(tb, tmp_path, run=1002, n=2)
    first = _run(tb, tmp_path, *FAST, "--output-dataset", "hypot:wx_again", "--max-files", "1", project_id=pid)
    assert first.returncode == 0, first.stderr
    _dd(tb, tmp_path).restart_handles(pid, done=True)          # the operator reruns the done file
    second = _run(tb, tmp_path, *FAST, "--output-dataset", "hypot:wx_again", project_id=pid)
    assert second.returncode == 0, second.stderr
    assert second.stdout.count("(output was already declared)") == 1
    assert set(_states(tb, tmp_path, pid).values()) == {"done"}


def test_failure_rate_one_fails_every_file_and_declares_nothing(tb, tmp_path):
    pid, inputs = _project(tb, tmp_path, run=1003, n=3)
    result = _run(tb, tmp_path, *FAST, "--failure-rate", "1", "--no-retry", "--output-dataset", "hypot:wx_fail",
                  project_id=pid, secret="bearer")
    assert result.returncode == 0, result.stderr
    assert set(_states(tb, tmp_path, pid).values()) == {"failed"}
    assert result.stdout.count("(simulated; retry: no)") == 3
    assert f"0 done, 3 failed, 0 errors; project state failed" in result.stdout
    mc = _mc(tb, tmp_path)
    assert all(mc.get_file(did=f"hypot:{f['name'][:-5]}.reco.root") is None for f in inputs)


def test_retried_failures_go_back_to_the_project_and_max_files_stops(tb, tmp_path):
    pid, _ = _project(tb, tmp_path, run=1004, n=2)
    result = _run(tb, tmp_path, *FAST, "--failure-rate", "1", "--retry", "--max-files", "3", "--seed", "3",
                  project_id=pid)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("(simulated; retry: yes)") == 3
    assert set(_states(tb, tmp_path, pid).values()) == {"initial"}


def test_a_user_only_listed_in_the_project_users_is_refused_the_release(tb, tmp_path):
    pid, _ = _project(tb, tmp_path, run=1005, n=2, users=["alice"])
    _mc(tb, tmp_path, "alice").create_namespace("alice_wx")             # she may declare there, not in hypot
    result = _run(tb, tmp_path, *FAST, "--output-namespace", "alice_wx", "--output-dataset", "alice_wx:out",
                  user="alice", project_id=pid)
    assert result.returncode == 1
    assert "note: alice is not the owner of project" in result.stderr
    assert "refused file_done" in result.stderr and "HTTP 403" in result.stderr
    assert "only the project's owner (poms) or a DD admin may mark files done or failed" in result.stderr
    assert "0 done, 0 failed, 1 errors" in result.stdout
    assert "done" not in set(_states(tb, tmp_path, pid).values())


def test_a_user_not_in_the_project_is_told_next_file_was_refused_not_that_the_project_ended(tb, tmp_path):
    pid, _ = _project(tb, tmp_path, run=1006, n=1)
    result = _run(tb, tmp_path, *FAST, user="bob", project_id=pid)
    assert result.returncode == 1
    assert f"refused next_file on project {pid}, which is still active" in result.stderr
    assert "has ended" not in result.stdout
    assert set(_states(tb, tmp_path, pid).values()) == {"initial"}


def test_a_wrong_project_id_is_named(tb, tmp_path):
    result = _run(tb, tmp_path, *FAST, "--project-id", "987654")
    assert result.returncode == 1
    assert "has no project 987654" in result.stderr
    missing = _run(tb, tmp_path, *FAST)
    assert missing.returncode == 2 and "missing --project-id" in missing.stderr


@pytest.mark.parametrize("args, secret, message", [
    (["--output-pattern", "%(steem)s.root"], "password", "unknown field %(steem)s"),
    (["--output-pattern", "out.root"], "password", "gives every input the same output name"),
    (["--output-dataset", "nocolon"], "password", "is not NAMESPACE:NAME"),
    ([], None, "give --password-file or --token-file"),
])
def test_bad_options_are_named(tb, tmp_path, args, secret, message):
    result = _run(tb, tmp_path, *FAST, *args, project_id=1, secret=secret)
    assert result.returncode == 2
    assert message in result.stderr


def test_a_wrong_password_is_a_login_error(tb, tmp_path):
    (tmp_path / "wrong").write_text("not-the-password")
    result = _run(tb, tmp_path, *FAST, "--password-file", str(tmp_path / "wrong"), project_id=1, secret=None)
    assert result.returncode == 1
    assert "Data Dispatcher login as poms with the password failed" in result.stderr



def test_a_worker_that_finds_every_file_held_by_others_gives_up_after_the_timeout(tb, tmp_path):
    pid, _ = _project(tb, tmp_path, run=1007, n=1)
    assert isinstance(_dd(tb, tmp_path).next_file(pid, timeout=5, stagger=0), dict)   # another job holds it
    result = _run(tb, tmp_path, "--seconds", "0", "--stagger", "0", "--timeout", "1", project_id=pid)
    assert result.returncode == 3, result.stderr
    assert f"no file of project {pid} became reservable within 1 s" in result.stderr
    assert "the project is still active" in result.stderr
