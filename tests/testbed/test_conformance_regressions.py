"""Regressions found by the independent conformance script (``benchmarks/testbed_conformance.py``), each
checked through the real clients or the real ``poms-dd testbed`` process."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

POMS_DD = os.path.join(os.path.dirname(sys.executable), "poms-dd")


def _ids(projects):
    return sorted(p["project_id"] for p in projects)


def test_list_projects_missing_state_means_every_state_and_all_matches_nothing(dd, hook):
    """2.0.3 ``projects``: ``state``/``not_state`` default to no filter; ``state`` is compared by equality, so
    ``state=all`` matches no project (the ``ddisp project list -s all`` CLI loops over the states instead)."""
    poms = dd("poms")
    active = poms.create_project(["hypot:a.root"], project_attributes={"t": 1})["project_id"]
    cancelled = poms.create_project(["hypot:b.root"], project_attributes={"t": 1})["project_id"]
    poms.cancel_project(cancelled)
    idle = poms.create_project(["hypot:c.root"], project_attributes={"t": 1}, idle_timeout=10)["project_id"]
    hook("tick", seconds=11)
    assert poms.get_project(idle)["state"] == "abandoned"
    # client defaults: state=active, not_state=abandoned
    assert _ids(poms.list_projects(attributes={"t": 1})) == [active]
    # state=None: the client omits it and the server applies no state filter (not_state=abandoned still sent)
    assert _ids(poms.list_projects(state=None, attributes={"t": 1})) == [active, cancelled]
    assert _ids(poms.list_projects(state=None, not_state=None, attributes={"t": 1})) == [active, cancelled, idle]
    assert poms.list_projects(state="all", attributes={"t": 1}) == []
    assert _ids(poms.list_projects(state="abandoned", not_state=None, attributes={"t": 1})) == [idle]


def test_sigterm_right_after_the_banner_stops_cleanly_and_saves_state(tmp_path):
    """The signal handlers are installed before the URLs are printed: a supervisor that stops the testbed as
    soon as it has read them gets exit status 0 and a saved state file (before the fix: killed by SIGTERM)."""
    state = tmp_path / "state.pickle"
    proc = subprocess.Popen([POMS_DD, "testbed", "--port", "0", "--files", "10", "--state", str(state)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        while "testbed serving on" not in proc.stdout.readline():
            assert proc.poll() is None, proc.stderr.read()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "testbed stopped" in out
    assert state.exists()


def test_release_clears_the_worker_id(dd):
    """2.0.3 ``DBFileHandle.done()`` / ``failed()`` set ``WorkerID = None`` before saving: the release answer and
    the project's handles show ``worker_id: null`` once a file is done or failed (``reserved_since`` is kept)."""
    poms = dd("poms", worker_id="w9")
    p = poms.create_project([f"hypot:v{i}.root" for i in range(3)], project_attributes={"virtual": True})
    pid = p["project_id"]
    answers = []
    for release in (lambda d: poms.file_done(pid, d), lambda d: poms.file_failed(pid, d, retry=False),
                    lambda d: poms.file_failed(pid, d, retry=True)):
        h = poms.next_file(pid, stagger=0, timeout=5)
        assert h["worker_id"] == "w9"
        answers.append(release(f"hypot:{h['name']}"))
    assert [(a["state"], a["worker_id"]) for a in answers] == [("done", None), ("failed", None), ("initial", None)]
    handles = poms.get_project(pid)["file_handles"]
    assert all(h["worker_id"] is None and h["reserved_since"] is not None for h in handles)


def test_second_cancel_keeps_the_first_end_time(dd, hook):
    """2.0.3 ``DBProject.cancel()`` only acts when the project is not cancelled yet."""
    poms = dd("poms")
    pid = poms.create_project(["hypot:a.root"])["project_id"]
    first = poms.cancel_project(pid)["ended_timestamp"]
    hook("tick", seconds=100)
    again = poms.cancel_project(pid)
    assert again["state"] == "cancelled" and again["ended_timestamp"] == first
