"""Data Dispatcher face of the testbed, driven by the real DataDispatcherClient 2.0.3 over HTTP."""
from __future__ import annotations

import time

import pytest
import requests
from metacat.common.http_client import WebAPIError  # noqa: F401  (the client's error base)

from poms_dd.testbed.seed import DISK, TAPE


def replicated(tb, n, rse=DISK):
    """n raw-file DIDs that have a replica on ``rse``."""
    out = [did for did, reps in tb.store.replicas.items() if "_raw_" in did and rse in reps]
    return out[:n]


def no_replica(tb, n):
    return [f.did for f in tb.store.files_by_did.values() if "_raw_" in f.name and f.did not in tb.store.replicas][:n]


def test_version_and_content_type(tb, dd):
    assert dd("anon", login=False).version() == "2.0.3"
    resp = requests.get(f"{tb.dd_url}/rses", timeout=10)
    assert resp.headers["Content-Type"] == "text/json"


def test_create_project_strings_and_dicts(tb, dd):
    files = replicated(tb, 2)
    ns, name = files[1].split(":")
    p = dd().create_project([files[0], {"namespace": ns, "name": name, "attributes": {"k": 2}}],
                            common_attributes={"k": 1, "c": "x"}, project_attributes={"campaign": 7},
                            worker_timeout=600, users=["bob"], roles=["hypot"])
    assert p["state"] == "active" and p["owner"] == "poms" and p["active"] is True
    assert p["attributes"] == {"campaign": 7} and p["users"] == ["bob"] and p["roles"] == ["hypot"]
    assert p["worker_timeout"] == 600 and p["idle_timeout"] == 259200 and p["retry_count"] is None
    assert abs(p["created_timestamp"] - time.time()) < 60
    hs = {h["name"]: h for h in p["file_handles"]}
    assert hs[name]["attributes"] == {"k": 2, "c": "x"}
    assert all(h["state"] == "initial" and h["attempts"] == 0 for h in hs.values())


def test_create_project_needs_login_and_valid_files(tb, dd):
    anon = dd("anon", login=False)
    with pytest.raises(Exception, match="401|uthentic"):
        anon.create_project(["hypot:a"])
    resp = requests.post(f"{tb.dd_url}/create_project", data='{"files": [17]}',
                         headers={"X-Authentication-Token": dd().Token.encode()}, timeout=10)
    assert resp.status_code == 400


def test_get_project_shapes_and_404(tb, dd):
    c = dd()
    pid = c.create_project(replicated(tb, 1))["project_id"]
    bare = c.get_project(pid, with_files=False)
    assert "file_handles" not in bare
    full = c.get_project(pid, with_files=True, with_replicas=True)
    reps = full["file_handles"][0]["replicas"]
    assert DISK in reps and set(reps[DISK]) >= {"name", "namespace", "path", "rse", "url", "urls", "preference",
                                                "available", "rse_available"}
    assert c.get_project(99999) is None


def test_next_file_and_done_completes_project(tb, dd):
    c = dd()
    pid = c.create_project(replicated(tb, 2))["project_id"]
    seen = []
    for _ in range(2):
        h = c.next_file(pid, stagger=0, timeout=3)
        assert isinstance(h, dict) and h["state"] == "reserved" and h["worker_id"] == "w1" and h["attempts"] == 1
        assert DISK in h["replicas"] and h["replicas"][DISK]["proximity"] is None
        assert h["project_attributes"] == {}
        seen.append(h["name"])
        assert c.file_done(pid, f"{h['namespace']}:{h['name']}")["state"] == "done"
    assert len(set(seen)) == 2
    p = c.get_project(pid, with_files=False)
    assert p["state"] == "done" and p["ended_timestamp"] is not None and p["active"] is False
    assert c.next_file(pid, stagger=0, timeout=2) is False        # 400 "Inactive project. State=done"


def test_failed_without_retry_makes_project_failed_and_retry_goes_to_back(tb, dd):
    c = dd()
    a, b = replicated(tb, 2)
    pid = c.create_project([a, b])["project_id"]
    h = c.next_file(pid, stagger=0, timeout=3)
    first = f"{h['namespace']}:{h['name']}"
    assert c.file_failed(pid, first, retry=True)["state"] == "initial"
    h2 = c.next_file(pid, stagger=0, timeout=3)
    assert f"{h2['namespace']}:{h2['name']}" != first           # lowest attempts first
    c.file_failed(pid, f"{h2['namespace']}:{h2['name']}", retry=False)
    h3 = c.next_file(pid, stagger=0, timeout=3)
    assert h3["attempts"] == 2
    c.file_done(pid, first)
    assert c.get_project(pid, with_files=False)["state"] == "failed"


def test_next_file_waits_then_times_out_when_all_reserved(tb, dd):
    c = dd()
    pid = c.create_project(replicated(tb, 1))["project_id"]
    assert isinstance(c.next_file(pid, stagger=0, timeout=3), dict)
    resp = requests.get(f"{tb.dd_url}/next_file", params={"project_id": pid, "worker_id": "w2"},
                        headers={"X-Authentication-Token": c.Token.encode()}, timeout=10)
    assert resp.json() == {"handle": None, "reason": "retry", "retry": True}


def test_files_without_replicas_are_never_reserved_unless_virtual(tb, dd):
    c = dd()
    files = no_replica(tb, 2)
    pid = c.create_project(files)["project_id"]
    resp = requests.get(f"{tb.dd_url}/next_file", params={"project_id": pid, "worker_id": "w1"},
                        headers={"X-Authentication-Token": c.Token.encode()}, timeout=10)
    assert resp.json()["retry"] is True
    vpid = c.create_project(files, project_attributes={"virtual": True})["project_id"]
    h = c.next_file(vpid, stagger=0, timeout=3)
    assert h["replicas"] == {} and h["project_attributes"] == {"virtual": True}


def test_tape_only_file_is_reserved_with_empty_replicas(tb, dd):
    """2.0.3 quirk: the reservation ignores the replica's own availability (tape is unavailable until pinned)."""
    tape_only = [d for d, reps in tb.store.replicas.items() if set(reps) == {TAPE}][:1]
    c = dd()
    pid = c.create_project(tape_only)["project_id"]
    h = c.next_file(pid, stagger=0, timeout=3)
    assert h["replicas"] == {}
    full = c.get_project(pid, with_replicas=True)["file_handles"][0]["replicas"]
    assert full[TAPE]["available"] is False


def test_next_file_permissions_users_roles_and_release_owner_only(tb, dd):
    owner = dd("poms")
    pid = owner.create_project(replicated(tb, 3), users=["bob"])["project_id"]
    bob = dd("bob", worker_id="wb")
    h = bob.next_file(pid, stagger=0, timeout=3)
    assert isinstance(h, dict)
    with pytest.raises(Exception, match="403|authorized"):
        bob.file_done(pid, f"{h['namespace']}:{h['name']}")
    alice = dd("alice", worker_id="wa")
    assert alice.next_file(pid, stagger=0, timeout=2) is False      # 403 → False (client quirk)
    rpid = dd("bob").create_project(replicated(tb, 1), roles=["hypot"])["project_id"]
    assert isinstance(alice.next_file(rpid, stagger=0, timeout=3), dict)   # alice has role hypot
    # the owner may release a handle reserved by another worker only with the right worker_id
    with pytest.raises(Exception, match="wrong worker_id"):
        owner.file_done(pid, f"{h['namespace']}:{h['name']}", worker_id="w-other")
    assert owner.file_done(pid, f"{h['namespace']}:{h['name']}", worker_id="wb")["state"] == "done"


def test_release_errors(tb, dd):
    c = dd()
    files = replicated(tb, 2)
    pid = c.create_project(files)["project_id"]
    with pytest.raises(Exception, match="wrong worker_id"):     # never reserved, so not by this worker: 403
        c.file_done(pid, files[0])
    headers = {"X-Authentication-Token": c.Token.encode()}
    resp = requests.get(f"{tb.dd_url}/release", params={"handle_id": f"{pid}:{files[0]}", "failed": "no"},
                        headers=headers, timeout=10)
    assert (resp.status_code, resp.text) == (404, "Handle not found or was not reserved")    # no worker_id sent
    resp = requests.get(f"{tb.dd_url}/release", params={"handle_id": f"{pid}:hypot:nope", "failed": "no"},
                        headers=headers, timeout=10)
    assert resp.status_code == 500                                  # mirrored 2.0.3 crash
    assert requests.get(f"{tb.dd_url}/release", params={"handle_id": "x"}, headers=headers,
                        timeout=10).status_code == 400
    assert requests.get(f"{tb.dd_url}/release", params={"handle_id": f"999:a:b"}, headers=headers,
                        timeout=10).status_code == 404


def test_list_projects_owner_state_and_type_exact_attributes(tb, dd):
    poms, bob = dd("poms"), dd("bob")
    p1 = poms.create_project(replicated(tb, 1), project_attributes={"stage_id": 12, "tag": "a"})["project_id"]
    p2 = bob.create_project(replicated(tb, 1), project_attributes={"stage_id": 12})["project_id"]
    ids = lambda ps: sorted(p["project_id"] for p in ps)  # noqa: E731
    assert ids(poms.list_projects(with_files=False)) == [p1]
    assert ids(poms.list_projects(owner="all", attributes={"stage_id": 12}, with_files=False)) == [p1, p2]
    assert poms.list_projects(owner="all", attributes={"stage_id": "12"}, with_files=False) == []
    assert ids(poms.list_projects(owner="bob", with_files=False)) == [p2]
    poms.cancel_project(p1)
    assert poms.list_projects(with_files=False) == []
    assert ids(poms.list_projects(state="cancelled", with_files=False)) == [p1]
    assert "file_handles" in poms.list_projects(owner="all", with_files=True)[0]
    with pytest.raises(Exception, match="401|uthentic"):
        dd("anon", login=False).list_projects()


def test_search_projects_query_language(tb, dd):
    c = dd()
    a = c.create_project(replicated(tb, 1), project_attributes={"campaign": "test1", "step": 2, "runs": [5, 6]})
    b = c.create_project(replicated(tb, 1), project_attributes={"campaign": "other", "priority": 3})
    ids = lambda q, **kw: sorted(p["project_id"] for p in c.search_projects(q, with_files=False, **kw))  # noqa
    assert ids("campaign = test1") == [a["project_id"]]
    assert ids("campaign = test1 and step in (1,2,3)") == [a["project_id"]]
    assert ids("5 in runs or priority > 2") == [a["project_id"], b["project_id"]]
    assert ids("!(priority > 2)") == [a["project_id"]]
    assert ids("runs[all] > 3 and len(runs) = 2") == [a["project_id"]]
    assert ids("priority present") == [b["project_id"]]
    assert ids("campaign ~ 'oth.*'", owner="bob") == []
    c.cancel_project(b["project_id"])
    assert ids("priority present") == []
    assert ids("priority present", state="cancelled") == [b["project_id"]]
    assert ids("owner = poms and priority present", state="cancelled") == [b["project_id"]]
    with pytest.raises(Exception, match="500|rror"):
        c.search_projects("id = 1")                            # other object attributes: 2.0.3 answers 500


def test_copy_project_drops_users_and_parses_timeouts(tb, dd):
    c = dd()
    orig = c.create_project(replicated(tb, 2), project_attributes={"a": 1}, users=["bob"], worker_timeout=60,
                            common_attributes={"x": 1})
    bob = dd("bob")
    cp = bob.copy_project(orig["project_id"], common_attributes={"y": 2}, project_attributes={"b": 2},
                          worker_timeout="10m", idle_timeout="no timeout")
    assert cp["owner"] == "bob" and cp["users"] == [] and cp["attributes"] == {"a": 1, "b": 2}
    assert cp["worker_timeout"] == 600 and cp["idle_timeout"] is None
    assert all(h["attributes"] == {"x": 1, "y": 2} and h["state"] == "initial" for h in cp["file_handles"])
    same = c.copy_project(orig["project_id"])
    assert same["worker_timeout"] == 60 and same["idle_timeout"] == orig["idle_timeout"]


def test_restart_handles_reactivates(tb, dd):
    c = dd()
    files = replicated(tb, 2)
    pid = c.create_project(files)["project_id"]
    for _ in files:
        h = c.next_file(pid, stagger=0, timeout=3)
        c.file_done(pid, f"{h['namespace']}:{h['name']}")
    assert c.get_project(pid, with_files=False)["state"] == "done"
    p = c.restart_handles(pid, handles=[files[0]])
    assert p["state"] == "active" and p["ended_timestamp"] is None
    states = {f"{h['namespace']}:{h['name']}": (h["state"], h["attempts"]) for h in p["file_handles"]}
    assert states[files[0]] == ("initial", 1) and states[files[1]] == ("done", 1)
    p = c.restart_handles(pid, done=True)
    assert all(h["state"] == "initial" for h in p["file_handles"])
    with pytest.raises(Exception, match="403|authorized"):
        dd("bob").restart_handles(pid, all=True)


def test_cancel_activate_delete_owner_or_admin(tb, dd):
    bob = dd("bob")
    pid = bob.create_project(replicated(tb, 1))["project_id"]
    with pytest.raises(Exception, match="403|authorized"):
        dd("alice").cancel_project(pid)
    assert dd("poms").cancel_project(pid)["state"] == "cancelled"        # admin
    assert bob.next_file(pid, stagger=0, timeout=2) is False
    assert bob.activate_project(pid)["state"] == "active"
    assert bob.delete_project(pid) is None
    assert bob.get_project(pid) is None


def test_rses_and_availability(tb, dd):
    c = dd()
    assert {r["name"] for r in c.list_rses()} == {DISK, TAPE}
    assert c.get_rse(DISK)["is_tape"] is False and c.get_rse("NOPE") is None
    with pytest.raises(Exception, match="403|authorized"):
        dd("bob").set_rse_availability(DISK, False)
    assert c.set_rse_availability(DISK, False)["is_available"] is False
    disk_only = [d for d, reps in tb.store.replicas.items() if set(reps) == {DISK}][:1]
    pid = c.create_project(disk_only)["project_id"]
    resp = requests.get(f"{tb.dd_url}/next_file", params={"project_id": pid, "worker_id": "w1"},
                        headers={"X-Authentication-Token": c.Token.encode()}, timeout=10)
    assert resp.json()["retry"] is True
    c.set_rse_availability(DISK, True)
    assert isinstance(c.next_file(pid, stagger=0, timeout=3), dict)


def test_deprecated_handles_and_missing_file_endpoint(tb, dd):
    c = dd()
    pid = c.create_project(replicated(tb, 3))["project_id"]
    c.next_file(pid, stagger=0, timeout=3)
    assert len(c.list_handles(pid, state="reserved")) == 1
    assert len(c.list_handles(pid, not_state="reserved")) == 2
    assert c.get_file("hypot", "x") is None


def test_proximity_map_annotates_replicas(tb, dd):
    tb.store.proximity[("FNAL", DISK)] = 0
    c = dd()
    pid = c.create_project(replicated(tb, 1))["project_id"]
    h = c.next_file(pid, cpu_site="FNAL", stagger=0, timeout=3)
    assert h["replicas"][DISK]["proximity"] == 0 and h["replicas"][DISK]["preference"] == 0


def test_large_project_is_fast(tb, dd):
    files = [{"namespace": "hypot", "name": f"big_{i:06d}.root"} for i in range(100_000)]
    c = dd()
    t0 = time.time()
    p = c.create_project(files, project_attributes={"virtual": True})
    created = time.time() - t0
    assert len(p["file_handles"]) == 100_000 and created < 20
    t0 = time.time()
    for _ in range(20):
        h = c.next_file(p["project_id"], stagger=0, timeout=3)
        c.file_done(p["project_id"], f"{h['namespace']}:{h['name']}")
    assert (time.time() - t0) / 20 < 0.25            # no per-call scan of the 100k handles
