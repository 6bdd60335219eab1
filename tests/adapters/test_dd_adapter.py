"""DataDispatcherAdapter against the testbed through the real data_dispatcher client."""
from __future__ import annotations

import time
import uuid
from urllib.parse import parse_qs

import pytest
import requests

from poms_dd.adapters import NO_TIMEOUT, DataDispatcherAdapter, FileSpec
from poms_dd.errors import ExternalServiceError, InvalidInput, NotFound

from adapter_helpers import clear_faults, fault, forge_token, make_conn, write_library
from fake_server import FakeServer

RAW = [f"hypot:raw_{i}" for i in range(3)]


def _raw_dids(tb, n: int) -> list[str]:
    """DIDs of real seeded raw files that have a disk replica, read from the testbed's own store."""
    store = tb.store
    out = [did for did, reps in sorted(store.replicas.items()) if "FNAL_DCACHE_DISK" in reps]
    assert len(out) >= n
    return out[:n]


def _tag() -> int:
    return uuid.uuid4().int % 10**9


@pytest.fixture
def dd(conn, no_faults):
    return DataDispatcherAdapter(conn)


def test_create_project_carries_attributes_users_roles_timeouts_and_virtual(dd, testbed):
    tag = _tag()
    files = [FileSpec("hypot", "a.root", {"k": 1}), "hypot:b.root", {"namespace": "hypot", "name": "c.root"}]
    project = dd.create_project(files, attributes={"poms_task_id": tag}, common_attributes={"stage": 7},
                                query="files from hypot:raw", users=["alice"], roles=["hypot_pro"],
                                worker_timeout=600, idle_timeout=NO_TIMEOUT, virtual=True, with_handles=True)
    assert project.owner == "poms" and project.state == "active"
    assert project.attributes == {"poms_task_id": tag, "virtual": True} and project.virtual
    assert project.users == ("alice",) and project.roles == ("hypot_pro",)
    assert project.worker_timeout == 600 and project.idle_timeout is None
    assert project.counts.initial == 3 and project.counts.total == 3
    by_did = {h.did: h for h in project.handles}
    assert by_did["hypot:a.root"].attributes == {"stage": 7, "k": 1}
    again = dd.get_project(project.project_id)
    assert again.project_id == project.project_id and again.handles is None and again.counts is None


def test_create_project_refuses_an_empty_file_list(dd):
    with pytest.raises(InvalidInput, match="no files"):
        dd.create_project(iter(()), attributes={"poms_task_id": 1})


def test_list_projects_requires_attributes_and_matches_type_exactly(dd):
    tag = _tag()
    p = dd.create_project(["hypot:x.root"], attributes={"poms_task_id": tag}, virtual=True)
    with pytest.raises(InvalidInput, match="attribute filter"):
        dd.list_projects({})
    assert [q.project_id for q in dd.list_projects({"poms_task_id": tag})] == [p.project_id]
    assert dd.list_projects({"poms_task_id": str(tag)}) == []
    dd.cancel_project(p.project_id)
    assert [q.project_id for q in dd.list_projects({"poms_task_id": tag}, state=None)] == [p.project_id]
    assert dd.list_projects({"poms_task_id": tag}, state="active") == []


def test_list_projects_sees_other_owners_projects(testbed, tmp_path, no_faults):
    tag = _tag()
    alice = DataDispatcherAdapter(make_conn(testbed, tmp_path / "alice", user="alice"))
    p = alice.create_project(["hypot:y.root"], attributes={"poms_task_id": tag}, virtual=True)
    poms = DataDispatcherAdapter(make_conn(testbed, tmp_path / "poms"))
    found = poms.list_projects({"poms_task_id": tag})
    assert [(q.project_id, q.owner) for q in found] == [(p.project_id, "alice")]


def test_search_projects_by_attribute_query(dd):
    tag = _tag()
    p = dd.create_project(["hypot:s.root"], attributes={"campaign": tag, "stage": 3}, virtual=True)
    found = dd.search_projects(f"campaign = {tag} and stage in (2, 3)")
    assert [q.project_id for q in found] == [p.project_id]
    assert dd.search_projects(f"campaign = {tag} and stage = 4") == []


def test_copy_project_with_numeric_timeouts(dd):
    tag = _tag()
    p = dd.create_project(["hypot:c1.root", "hypot:c2.root"], attributes={"poms_task_id": tag, "kind": "orig"},
                          worker_timeout=100, virtual=True)
    copy = dd.copy_project(p.project_id, attributes={"kind": "copy"}, worker_timeout=3600, idle_timeout=NO_TIMEOUT)
    assert copy.project_id != p.project_id
    assert copy.attributes["kind"] == "copy" and copy.attributes["poms_task_id"] == tag
    assert copy.worker_timeout == 3600 and copy.idle_timeout is None
    assert copy.counts.initial == 2
    kept = dd.copy_project(p.project_id)
    assert kept.worker_timeout == 100


def test_worker_cycle_counts_restart_cancel_activate(dd):
    p = dd.create_project(["hypot:w1.root", "hypot:w2.root", "hypot:w3.root"],
                          attributes={"poms_task_id": _tag()}, virtual=True)
    first = dd.next_file(p.project_id, "wk1")
    assert first.handle is not None and first.handle.state == "reserved" and first.handle.worker_id == "wk1"
    dd.file_done(p.project_id, first.handle.did, "wk1")
    second = dd.next_file(p.project_id, "wk1")
    dd.file_failed(p.project_id, second.handle.did, "wk1", retry=False)
    dd.next_file(p.project_id, "wk2")
    counts = dd.handle_counts(p.project_id)
    assert (counts.initial, counts.reserved, counts.done, counts.failed) == (0, 1, 1, 1)
    assert counts.unknown == 0 and round(counts.percent_done) == 33
    restarted = dd.restart_handles(p.project_id, failed=True)
    assert restarted.counts.failed == 0 and restarted.counts.initial == 1
    with pytest.raises(InvalidInput):
        dd.restart_handles(p.project_id)
    assert dd.cancel_project(p.project_id).state == "cancelled"
    assert dd.activate_project(p.project_id).state == "active"


def test_next_file_raises_on_an_inactive_project_instead_of_returning_false(dd):
    p = dd.create_project(["hypot:n.root"], attributes={"poms_task_id": _tag()}, virtual=True)
    dd.cancel_project(p.project_id)
    with pytest.raises(ExternalServiceError, match="Inactive project"):
        dd.next_file(p.project_id, "wk")


def test_next_file_reports_project_end(dd):
    p = dd.create_project(["hypot:e.root"], attributes={"poms_task_id": _tag()}, virtual=True)
    got = dd.next_file(p.project_id, "wk")
    dd.file_done(p.project_id, got.handle.did, "wk")
    assert dd.get_project(p.project_id).state == "done"


WORKER = "node 7 & co #1/a+b=c%20?"


def test_worker_ids_and_dids_with_url_characters_reach_the_server_intact(dd):
    """The client pastes worker_id, cpu_site and the handle id into the URL unencoded (PROTOCOLS §0.4)."""
    did = "hypot:odd & name #2+x.root"
    p = dd.create_project([did], attributes={"poms_task_id": _tag()}, virtual=True)
    got = dd.next_file(p.project_id, WORKER, cpu_site="FNAL & GPU")
    assert got.handle is not None and got.handle.worker_id == WORKER and got.handle.did == did
    held = dd.get_project(p.project_id, with_handles=True).handles
    assert [(h.did, h.state, h.worker_id) for h in held] == [(did, "reserved", WORKER)]
    dd.file_done(p.project_id, did, WORKER)          # released by the same worker id, whatever it holds
    assert dd.get_project(p.project_id).state == "done"


def test_next_file_and_release_send_every_value_percent_encoded(tmp_path):
    def route(method, path, query):
        if path.endswith("/auth/auth"):
            return 200, "text/plain", "", {"X-Authentication-Token": forge_token("poms")}
        if path.endswith("/next_file"):
            return 200, "text/json", '{"handle": null, "reason": "retry", "retry": true}', {}
        return 200, "text/json", "{}", {}
    with FakeServer(route) as server:
        tb = type("TB", (), {"mc_url": None, "dd_url": server.url + "/dd", "rucio_url": None})()
        dd = DataDispatcherAdapter(make_conn(tb, tmp_path))
        assert dd.next_file(5, WORKER, cpu_site="FNAL & GPU#2").retry
        dd.file_failed(5, "hypot:a&b#c.root", WORKER, retry=False)
    (_, _, reserve), (_, _, release) = [r for r in server.requests if not r[1].endswith("/auth/auth")]
    assert parse_qs(reserve) == {"project_id": ["5"], "worker_id": [WORKER], "cpu_site": ["FNAL & GPU#2"]}
    assert parse_qs(release) == {"handle_id": ["5:hypot:a&b#c.root"], "failed": ["yes"], "retry": ["no"],
                                 "worker_id": [WORKER]}


def test_changes_to_a_project_dd_does_not_know_raise_not_found(dd):
    """The DD client's post() turns a 404 into None (copy, restart); its get() raises (cancel, activate)."""
    for change in (lambda: dd.copy_project(987654321), lambda: dd.restart_handles(987654321, all=True),
                   lambda: dd.restart_handles(987654321, dids=["hypot:x.root"]),
                   lambda: dd.cancel_project(987654321), lambda: dd.activate_project(987654321)):
        with pytest.raises(NotFound, match="Data Dispatcher project 987654321 does not exist"):
            change()


def test_unknown_counts_handles_without_an_available_replica(dd, testbed):
    dids = _raw_dids(testbed, 2) + ["hypot:no_such_replica.root"]
    p = dd.create_project(dids, attributes={"poms_task_id": _tag()})
    counts = dd.handle_counts(p.project_id, with_replicas=True)
    assert counts.initial == 3 and counts.unknown == 1
    with_handles = dd.get_project(p.project_id, with_handles=True, with_replicas=True)
    missing = [h for h in with_handles.handles if not h.has_available_replica]
    assert [h.did for h in missing] == ["hypot:no_such_replica.root"]
    assert dd.handle_counts(p.project_id, with_replicas=False).unknown == 0


def test_get_project_of_unknown_id_is_none_and_counts_raise_not_found(dd):
    assert dd.get_project(987654321) is None
    with pytest.raises(NotFound):
        dd.handle_counts(987654321)


def test_rses_version_and_identity(dd):
    rses = {r.name: r for r in dd.list_rses()}
    assert rses["FNAL_DCACHE_DISK"].kind == "disk" and rses["FNAL_ENSTORE"].kind == "tape"
    assert dd.version() == "2.0.3"
    assert dd.login().username == "poms" and dd.identity().expires is not None


def test_service_down_is_reported_as_not_reachable(fresh_testbed, tmp_path):
    dd = DataDispatcherAdapter(make_conn(fresh_testbed, tmp_path))
    dd.login()
    fresh_testbed.stop()
    with pytest.raises(ExternalServiceError) as err:
        dd.get_project(1)
    assert "Data Dispatcher at http://127.0.0.1:" in err.value.detail
    assert "not reachable (connection refused)" in err.value.detail


def test_http_500_is_reported_and_not_retried(dd, testbed):
    dd.login()
    fault(testbed, "dd", status=500, count=1)
    with pytest.raises(ExternalServiceError, match="HTTP 500"):
        dd.list_rses()
    assert len(dd.list_rses()) == 2           # the single fault was consumed by exactly one request


def test_503_on_a_read_is_retried(dd, testbed):
    dd.login()
    fault(testbed, "dd", status=503, count=2)
    assert dd.version() == "2.0.3"


def test_503_on_create_is_not_retried(dd, testbed):
    tag = _tag()
    dd.login()
    fault(testbed, "dd", status=503, count=1)
    with pytest.raises(ExternalServiceError, match="HTTP 503"):
        dd.create_project(["hypot:r.root"], attributes={"poms_task_id": tag}, virtual=True)
    assert dd.list_projects({"poms_task_id": tag}, state=None) == []
    clear_faults(testbed)


def test_slow_server_beyond_the_timeout(testbed, tmp_path, no_faults):
    dd = DataDispatcherAdapter(make_conn(testbed, tmp_path, timeout=0.5))
    dd.login()
    fault(testbed, "dd", delay=2, count=1)
    with pytest.raises(ExternalServiceError, match=r"did not answer within 0.5 s"):
        dd.get_project(1)


def test_token_refused_by_the_server_is_renewed_without_the_caller_noticing(testbed, tmp_path, no_faults):
    conn = make_conn(testbed, tmp_path)
    dd = DataDispatcherAdapter(conn)
    dd.login()
    forged = forge_token("poms")                  # well-formed, unexpired, but not signed by the server
    write_library(conn.state_dir / "data_dispatcher" / "token_library", dd.url, forged)
    fresh = DataDispatcherAdapter(conn)           # adopts the saved (forged) token: the server answers 401
    assert fresh.client.Token.encode().decode() == forged
    p = fresh.create_project(["hypot:t.root"], attributes={"poms_task_id": _tag()}, virtual=True)
    assert p.owner == "poms"
    assert fresh.client.Token.encode().decode() != forged


def test_expired_saved_token_leads_to_a_login_before_the_call(testbed, tmp_path, no_faults):
    conn = make_conn(testbed, tmp_path)
    DataDispatcherAdapter(conn).login()
    write_library(conn.state_dir / "data_dispatcher" / "token_library", testbed.dd_url,
                  forge_token("poms", lifetime=-10))
    dd = DataDispatcherAdapter(conn)
    assert dd.client.Token is None or dd.client.Token.expiration < time.time()
    assert dd.search_projects("nothing_here = 1") == []
    assert dd.identity().username == "poms" and dd.identity().expires.timestamp() > time.time() + 3600


def test_wrong_password_is_a_clear_error(testbed, tmp_path, no_faults):
    dd = DataDispatcherAdapter(make_conn(testbed, tmp_path, password="not-the-password"))
    with pytest.raises(ExternalServiceError) as err:
        dd.list_rses()
    assert "refused the login for user 'poms'" in err.value.detail
    assert "not-the-password" not in str(err.value)


def test_auth_server_down_names_the_auth_url(testbed, tmp_path, no_faults):
    conn = make_conn(testbed, tmp_path, dd_auth_url="http://127.0.0.1:9/auth")
    with pytest.raises(ExternalServiceError, match=r"127.0.0.1:9/auth/auth is not reachable"):
        DataDispatcherAdapter(conn).version()
    assert requests.get(testbed.dd_url + "/version", timeout=5).ok
