"""Testbed hooks: clock ticks with DD daemon timeouts, RSE changes, faults, seed/reset and state."""
from __future__ import annotations

import time

import pytest
import requests

from poms_dd.testbed.seed import DISK


def replicated(tb, n):
    return [d for d, reps in tb.store.replicas.items() if DISK in reps][:n]


@pytest.mark.parametrize("retry_on_timeout, expected", [(None, "initial"), ("True", "initial"),
                                                         ("False", "failed"), (True, "failed")])
def test_worker_timeout(tb, dd, hook, retry_on_timeout, expected):
    c = dd()
    attrs = {} if retry_on_timeout is None else {"retry_on_timeout": retry_on_timeout}
    pid = c.create_project(replicated(tb, 2), worker_timeout=100, project_attributes=attrs)["project_id"]
    h = c.next_file(pid, stagger=0, timeout=3)
    assert hook("tick", seconds=50)["released"] == 0
    hook("tick", seconds=60)
    handle = c.get_handle(pid, h["namespace"], h["name"])
    assert handle["state"] == expected and handle["worker_id"] is None
    assert handle["attributes"]["timeouts"] == 1
    assert c.get_project(pid, with_files=False)["state"] == "active"     # a timeout never ends a project


def test_idle_timeout_abandons_and_next_file_reactivates(tb, dd, hook):
    c = dd()
    pid = c.create_project(replicated(tb, 1), idle_timeout=3600)["project_id"]
    hook("tick", seconds=1800)
    assert c.get_project(pid, with_files=False)["state"] == "active"
    assert hook("tick", seconds=1900)["abandoned"] == 1
    assert c.get_project(pid, with_files=False)["state"] == "abandoned"
    assert c.list_projects(with_files=False) == []                     # not_state=abandoned by default
    assert isinstance(c.next_file(pid, stagger=0, timeout=3), dict)
    assert c.get_project(pid, with_files=False)["state"] == "active"


def test_activity_keeps_a_project_alive(tb, dd, hook):
    c = dd()
    pid = c.create_project(replicated(tb, 2), idle_timeout=3600)["project_id"]
    hook("tick", seconds=3000)
    c.next_file(pid, stagger=0, timeout=3)
    hook("tick", seconds=3000)
    assert c.get_project(pid, with_files=False)["state"] == "active"


def test_rse_hook_creates_and_disables(tb, dd, hook):
    assert hook("rse", name="NEW_DISK", type="DISK")["available"] is True
    hook("rse", name=DISK, enabled="no")
    assert {r["name"] for r in dd().list_rses()} == {"FNAL_ENSTORE", "NEW_DISK"}


def test_fault_injection_status_count_delay_and_clear(tb, dd, hook):
    c = dd()
    hook("fault", service="dd", status=500, count=1)
    with pytest.raises(Exception, match="500"):
        c.list_rses()
    assert c.list_rses()                                   # count exhausted
    hook("fault", service="dd", status=500)
    for _ in range(2):
        with pytest.raises(Exception):
            c.list_rses()
    hook("fault", method="DELETE", service="dd")
    assert c.list_rses()
    hook("fault", service="rucio", delay=0.5)
    t0 = time.time()
    assert requests.get(f"{tb.rucio_url}/ping", timeout=10).status_code == 401
    assert time.time() - t0 >= 0.5
    hook("fault", method="DELETE")
    assert hook("state", method="GET")["faults"] == {}


def test_unhandled_errors_are_500_application_error_pages_never_retried_statuses(tb, dd):
    tok = dd().Token.encode()
    resp = requests.post(f"{tb.dd_url}/search_projects", data='{"query": "(("}',
                         headers={"X-Authentication-Token": tok}, timeout=10)
    assert resp.status_code == 500 and resp.headers["Content-Type"].startswith("text/html")
    assert "<h2>Application error</h2>" in resp.text and "Unexpected" in resp.text     # lark's exception


def test_seed_reset_and_state(tb, dd, hook):
    dd().create_project(replicated(tb, 1))
    assert hook("state", method="GET")["projects"]
    small = hook("seed", name="demo", files=100)
    assert small["datasets"]["hypot:raw"] == 100 and small["projects"] == {}
    empty = hook("seed", name="empty")
    assert empty["files"] == 0 and set(empty["accounts"]) == {"poms", "alice", "bob"}
    again = hook("reset")
    assert again["datasets"]["hypot:raw"] == 2000
    assert requests.post(f"{tb.url}/_testbed/seed", params={"name": "bogus"}, timeout=10).status_code == 400


def test_stop_and_start_keep_url_and_state(fresh_testbed, tmp_path):
    from data_dispatcher.api import DataDispatcherClient
    c = DataDispatcherClient(server_url=fresh_testbed.dd_url, worker_id="w", token_library=str(tmp_path / "t"))
    c.login_password("poms", "poms")
    pid = c.create_project(["hypot:x"], project_attributes={"virtual": True})["project_id"]
    url = fresh_testbed.url
    fresh_testbed.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/dd/version", timeout=5)
    fresh_testbed.start()
    assert fresh_testbed.url == url and c.get_project(pid)["project_id"] == pid
