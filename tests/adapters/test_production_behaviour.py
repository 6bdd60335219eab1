"""Paths real servers take that the basic contract tests do not: Rucio bearer tokens, MetaCat refusing a token,
a MetaCat stream breaking partway, per-service timeouts, process state left alone, several threads at once, and
the real-server behaviours of PROTOCOLS §8 as the adapters expose them."""
from __future__ import annotations

import os
import sys
import threading
import uuid

import pytest
import requests
from adapter_helpers import fault, make_conn, tick
from tls_helpers import CuttingProxy

from poms_dd.adapters import (Credential, DataDispatcherAdapter, ExperimentAdapters, MetaCatAdapter, RucioAdapter,
                              namespace_query)
from poms_dd.adapters.metacat import server_problem
from poms_dd.errors import ExternalServiceError, InvalidInput

RUN_1000 = "files from hypot:raw where core.runs[any] = 1000"


def _rucio_token(tb, user: str) -> str:
    """A token the testbed's Rucio accepts, standing in for an OIDC access token issued elsewhere."""
    r = requests.get(f"{tb.rucio_url}/auth/userpass", headers={"X-Rucio-Username": user, "X-Rucio-Password": user,
                                                                "X-Rucio-Account": user}, timeout=5)
    r.raise_for_status()
    return r.headers["X-Rucio-Auth-Token"]


def test_rucio_bearer_token_file_ignores_the_process_environment(testbed, tmp_path, monkeypatch, no_faults):
    token_file = tmp_path / "bt_alice"
    token_file.write_text(_rucio_token(testbed, "alice") + "\n")
    monkeypatch.setenv("BEARER_TOKEN", _rucio_token(testbed, "bob"))     # rucio-clients would prefer this one
    cred = Credential(method="token_file", username="alice", token_file=str(token_file))
    rucio = RucioAdapter(make_conn(testbed, tmp_path / "s", rucio=cred, rucio_account="alice"))
    assert rucio.whoami().username == "alice"
    assert {r.name for r in rucio.list_rses()} == {"FNAL_DCACHE_DISK", "FNAL_ENSTORE"}


def test_rucio_bearer_token_refused_then_refreshed_in_the_file(fresh_testbed, tmp_path, no_faults):
    token_file = tmp_path / "bt"
    token_file.write_text(_rucio_token(fresh_testbed, "alice"))
    cred = Credential(method="token_file", username="alice", token_file=str(token_file))
    rucio = RucioAdapter(make_conn(fresh_testbed, tmp_path / "s", rucio=cred, rucio_account="alice"))
    assert rucio.whoami().username == "alice"
    tick(fresh_testbed, 4000)                                   # the testbed's Rucio tokens live 1 h
    with pytest.raises(ExternalServiceError, match="bearer token was refused; refresh the token file"):
        rucio.whoami()
    token_file.write_text(_rucio_token(fresh_testbed, "alice"))  # what a token renewer (htgettoken) does
    assert rucio.whoami().username == "alice"
    missing = Credential(method="token_file", username="alice", token_file=str(tmp_path / "none"))
    with pytest.raises(ExternalServiceError, match="cannot read token file"):
        RucioAdapter(make_conn(fresh_testbed, tmp_path / "t", rucio=missing, rucio_account="alice")).whoami()


def test_metacat_token_refused_leads_to_one_new_login(testbed, tmp_path, no_faults):
    mc = MetaCatAdapter(make_conn(testbed, tmp_path))
    mc.login()
    before = mc.client.Token.tid
    fault(testbed, "mc", status=401, count=1)                  # e.g. the server's signing key was rotated
    assert mc.count(RUN_1000).count == 100
    assert mc.client.Token.tid != before
    fault(testbed, "mc", status=401, count=3)    # refused again, and the new login (ldap, then digest) too
    with pytest.raises(ExternalServiceError, match=r"MetaCat refused the login for user '\[redacted\]'"):
        mc.count(RUN_1000)            # (the testbed's password is the user name: redacted like any password)


def test_metacat_stream_breaking_partway_raises_with_the_count_received(testbed, tmp_path, no_faults):
    proxy = CuttingProxy(("127.0.0.1", testbed.port), cut_after=40_000)
    try:
        conn = make_conn(testbed, tmp_path, metacat_url=proxy.url + "/mc", metacat_auth_url=testbed.mc_url + "/auth")
        mc = MetaCatAdapter(conn)
        received = []
        with pytest.raises(ExternalServiceError) as err:
            for f in mc.iter_files("files from hypot:raw"):
                received.append(f)
        assert 0 < len(received) < 2000
        assert f"broke off after {len(received)} files" in err.value.detail
        assert "incomplete" in err.value.detail and err.value.service == "MetaCat"
        proxy.cut_after = 100                                    # cut inside the response headers
        with pytest.raises(ExternalServiceError, match="MetaCat") as err:
            mc.iter_files("files from hypot:raw")
        assert "broke off" not in err.value.detail               # nothing was received: a plain failure
    finally:
        proxy.stop()


def test_per_service_timeouts(testbed, tmp_path, no_faults):
    conn = make_conn(testbed, tmp_path, timeout=5, dd_timeout=0.5, rucio_timeout=0.5)
    dd, mc, rucio = DataDispatcherAdapter(conn), MetaCatAdapter(conn), RucioAdapter(conn)
    dd.login(), mc.login(), rucio.whoami()
    assert (dd.timeout, mc.timeout, rucio.timeout) == (0.5, 5.0, 0.5)
    fault(testbed, "dd", delay=1.2, count=1)
    with pytest.raises(ExternalServiceError, match=r"did not answer within 0.5 s"):
        dd.get_project(1)
    fault(testbed, "mc", delay=1.2, count=1)
    assert mc.count(RUN_1000).count == 100                      # MetaCat keeps its 5 s
    fault(testbed, "rucio", delay=1.2, count=1)
    with pytest.raises(ExternalServiceError, match=r"did not answer within 0.5 s"):
        rucio.list_rses()


def test_home_cwd_tmp_environment_and_argv_are_left_alone(testbed, tmp_path, monkeypatch, no_faults):
    for name in ("home", "cwd", "tmp"):
        (tmp_path / name).mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    monkeypatch.chdir(tmp_path / "cwd")
    environ, argv = dict(os.environ), list(sys.argv)
    adapters = ExperimentAdapters(make_conn(testbed, tmp_path / "state"))
    files = list(adapters.metacat.iter_files(RUN_1000))
    adapters.data_dispatcher.create_project(files[:2], attributes={"poms_task_id": uuid.uuid4().int % 10**9},
                                            virtual=True)
    assert list(adapters.rucio.replicas([f.did for f in files[:5]]))
    assert dict(os.environ) == environ and sys.argv == argv
    for name in ("home", "cwd", "tmp"):
        assert list((tmp_path / name).iterdir()) == [], name


def test_one_experiments_adapters_shared_by_many_threads(testbed, tmp_path, no_faults):
    adapters = ExperimentAdapters(make_conn(testbed, tmp_path))
    dids = [f.did for f in adapters.metacat.iter_files("files from hypot:raw limit 300")]
    expected = {r.did for r in adapters.rucio.replicas(dids)}
    results: list[object] = []

    def work(i: int) -> None:
        try:
            if i % 3 == 0:
                results.append(("rucio", {r.did for r in adapters.rucio.replicas(dids, chunk_size=100)}))
            elif i % 3 == 1:
                results.append(("mc", adapters.metacat.count(RUN_1000).count))
            else:
                p = adapters.data_dispatcher.create_project(dids[:3], attributes={"poms_task_id": 10**9 + i},
                                                            virtual=True)
                results.append(("dd", adapters.data_dispatcher.get_project(p.project_id).project_id))
        except BaseException as exc:      # noqa: BLE001 - collected for the assertion
            results.append(("error", exc))
    threads = [threading.Thread(target=work, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r for r in results if r[0] == "error"] == []
    assert all(r[1] == expected for r in results if r[0] == "rucio")
    assert all(r[1] == 100 for r in results if r[0] == "mc")
    assert len([r for r in results if r[0] == "dd"]) == 4


def test_mql_that_real_metacat_fails_on_is_refused_and_never_generated(testbed, tmp_path, no_faults):
    mc = MetaCatAdapter(make_conn(testbed, tmp_path))
    with pytest.raises(InvalidInput, match="quoted UTC string"):
        mc.validate("files from hypot:raw where created_timestamp > datetime('2024-01-01')")
    with pytest.raises(InvalidInput, match="~\\*"):
        mc.validate("files from hypot:raw where name ~* 'RAW'")
    assert mc.validate("files from hypot:raw where created_timestamp > '2000-01-01 00:00:00'").count == 2000
    assert server_problem("files from hypot:raw where x.note = 'date(1) ~* y'") is None
    assert server_problem(namespace_query("hypot")) is None


def test_release_is_owner_only_and_copies_drop_users(testbed, tmp_path, no_faults):
    """PROTOCOLS §8: a project's listed user may reserve files but not release them; copy_project drops users."""
    poms = DataDispatcherAdapter(make_conn(testbed, tmp_path / "p"))
    alice = DataDispatcherAdapter(make_conn(testbed, tmp_path / "a", user="alice"))
    p = poms.create_project(["hypot:o1.root", "hypot:o2.root"], attributes={"poms_task_id": 777001},
                            users=["alice"], virtual=True)
    got = alice.next_file(p.project_id, "wa")
    assert got.handle is not None
    # the testbed's passwords are the user names, and a password never appears in a message (redaction.py)
    with pytest.raises(ExternalServiceError, match=r"refused permission for user '\[redacted\]'"):
        alice.file_done(p.project_id, got.handle.did, "wa")
    poms.file_done(p.project_id, got.handle.did, "wa")        # the owner can release it
    assert poms.copy_project(p.project_id).users == ()
