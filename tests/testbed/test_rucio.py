"""Testbed Rucio face with the real rucio Client 41.5.1 over HTTP."""
from __future__ import annotations

import pytest
import requests
from rucio.common.exception import (CannotAuthenticate, DataIdentifierNotFound, Duplicate, InvalidObject,
                                    RSENotFound, ScopeNotFound)

from poms_dd.testbed.seed import DISK, TAPE


def test_login_ping_whoami(rucio):
    c = rucio("alice")
    assert c.ping() == {"version": "41.5.1"}
    assert c.whoami()["account"] == "alice"
    assert c.get_account("poms")["account"] == "poms"


def test_bad_credentials(rucio):
    with pytest.raises(CannotAuthenticate):
        rucio("bob", password="wrong")


def test_unknown_token_is_401_and_client_relogs(tb, rucio):
    c = rucio("poms")
    tb.store.rucio_tokens.clear()
    assert c.whoami()["account"] == "poms"
    resp = requests.get(f"{tb.rucio_url}/ping", headers={"X-Rucio-Auth-Token": "nope"}, timeout=10)
    assert resp.status_code == 401 and resp.headers["ExceptionClass"] == "CannotAuthenticate"


def test_rses_and_expressions(rucio):
    c = rucio()
    assert sorted(r["rse"] for r in c.list_rses()) == [DISK, TAPE]
    assert [r["rse"] for r in c.list_rses(f"{DISK}|{TAPE}")] == [DISK, TAPE]
    assert [r["rse"] for r in c.list_rses("rse_type=TAPE")] == [TAPE]
    assert c.get_rse(DISK)["rse_type"] == "DISK"
    with pytest.raises(RSENotFound):
        c.get_rse("NOWHERE")


def test_list_replicas_content_type_schemes_and_expression(tb, rucio):
    did = next(d for d, reps in tb.store.replicas.items() if set(reps) == {DISK, TAPE})
    scope, name = did.split(":")
    c = rucio()
    [rep] = list(c.list_replicas([{"scope": scope, "name": name}]))
    assert set(rep["rses"]) == {DISK, TAPE} and rep["adler32"] and rep["bytes"] > 0
    [rep] = list(c.list_replicas([{"scope": scope, "name": name}], rse_expression=DISK))
    assert set(rep["rses"]) == {DISK}
    [rep] = list(c.list_replicas([{"scope": scope, "name": name}], schemes=["https"]))
    assert rep["rses"] == {}
    assert list(c.list_replicas([{"scope": "hypot", "name": "unknown.root"}])) == []
    resp = requests.post(f"{tb.rucio_url}/replicas/list", json={"dids": [{"scope": scope, "name": name}]},
                         headers={"X-Rucio-Auth-Token": next(iter(tb.store.rucio_tokens))}, timeout=10)
    assert resp.headers["Content-Type"] == "application/x-json-stream"
    with pytest.raises(InvalidObject):
        list(c.list_replicas([{"scope": "hypot", "name": f"f{i}"} for i in range(1001)]))


def test_unavailable_rse_respected_unless_ignored(tb, rucio, hook):
    did = next(d for d, reps in tb.store.replicas.items() if set(reps) == {DISK})
    scope, name = did.split(":")
    hook("rse", name=DISK, available="no")
    c = rucio()
    [rep] = list(c.list_replicas([{"scope": scope, "name": name}], ignore_availability=False))
    assert rep["rses"] == {}
    [rep] = list(c.list_replicas([{"scope": scope, "name": name}], ignore_availability=True))
    assert set(rep["rses"]) == {DISK}


def test_dataset_replicas_and_did_calls(tb, rucio):
    c = rucio()
    reps = list(c.list_replicas([{"scope": "hypot", "name": "mc"}]))
    assert len(reps) == len(tb.store.datasets["hypot:mc"].fids)
    did = c.get_did("hypot", "raw")
    assert did["type"] == "DATASET" and did["length"] is None        # Rucio 41.5.1 leaves it null
    assert len(list(c.list_files("hypot", "raw"))) == sum(
        1 for fid in tb.store.datasets["hypot:raw"].fids if tb.store.files_by_fid[fid].did in tb.store.replicas)
    with pytest.raises(DataIdentifierNotFound):
        c.get_did("hypot", "missing")
    assert len(list(c.list_files("hypot", "mc"))) == len(reps)


def test_scopes_replicas_datasets_attach_and_dd_sees_them(tb, rucio, dd):
    c = rucio()
    c.add_scope("poms", "user.alice")
    with pytest.raises(Duplicate):
        c.add_scope("poms", "user.alice")
    assert "user.alice" in c.list_scopes()
    files = [{"scope": "user.alice", "name": f"a{i}.root", "bytes": 100 + i, "adler32": "0badcafe"} for i in range(3)]
    c.add_replicas(DISK, files)
    with pytest.raises(RSENotFound):
        c.add_replicas("NOPE", files)
    with pytest.raises(ScopeNotFound):
        c.add_replicas(DISK, [{"scope": "nosuch", "name": "x", "bytes": 1, "adler32": "00000001"}])
    c.add_dataset("user.alice", "ds")
    c.attach_dids("user.alice", "ds", [{"scope": f["scope"], "name": f["name"]} for f in files])
    assert sorted(f["name"] for f in c.list_files("user.alice", "ds")) == ["a0.root", "a1.root", "a2.root"]
    assert len(list(c.list_content("user.alice", "ds"))) == 3
    assert list(c.list_dids("user.alice", [{"name": "d*"}], did_type="dataset")) == ["ds"]
    # DD sees the new replica at once
    client = dd()
    pid = client.create_project(["user.alice:a0.root"])["project_id"]
    h = client.next_file(pid, stagger=0, timeout=3)
    assert h["replicas"][DISK]["url"].endswith("/user.alice/a0.root")
