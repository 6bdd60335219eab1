"""Launch journeys through the API and a real ``poms-dd worker`` process on a committed database of their own,
against the testbed with the real clients.

``launch_world`` (module scope): experiment ``hypot`` onboarded against the testbed, users ``paula``
(production), ``ana`` (analysis) with API tokens, a Data Dispatcher campaign, and a local launch template whose
command writes the environment it received to a file.  ``worker`` starts worker processes and stops them.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from launch_world import ENV_COMMAND, LaunchWorld, _stop, build_world  # noqa: F401 - re-exported to the tests

from poms_dd.models import Submission


@pytest.fixture(scope="module")
def testbed():
    """A testbed of this module's own: its projects must not meet those of other modules' databases, whose
    ids start at 1 too."""
    from poms_dd.testbed.runner import TestbedServer
    server = TestbedServer(seed="demo")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def launch_world(live_database_url, live_db, testbed, tmp_path_factory):
    yield from build_world(live_database_url, live_db, testbed, tmp_path_factory)


@pytest.fixture(scope="module")
def start_worker(launch_world):
    """``start_worker()`` → a running ``poms-dd worker`` process (stopped after the module)."""
    def start() -> subprocess.Popen:
        env = {**os.environ, **launch_world.env, "POMS_DD_LOG_LEVEL": "INFO"}
        proc = subprocess.Popen([sys.executable, "-c", "from poms_dd.cli import run_main; run_main()", "worker"],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        launch_world.procs.append(proc)
        return proc
    return start


@pytest.fixture(scope="module")
def worker(start_worker):
    return start_worker()


def submission_row(world: LaunchWorld, submission_id: int) -> Submission:
    with world.db.session() as s:
        sub = s.get(Submission, submission_id)
        s.expunge_all()
        return sub
