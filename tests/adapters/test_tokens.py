"""Per-experiment token libraries and logins (real clients, real testbed auth endpoints)."""
from __future__ import annotations

import os
import threading

import pytest
from adapter_helpers import fault, make_conn

from poms_dd.adapters import Credential, DataDispatcherAdapter, MetaCatAdapter
from poms_dd.errors import ExternalServiceError
from poms_dd.testbed import tokens as testbed_tokens


def _mode(path) -> str:
    return oct(os.stat(path).st_mode)[-3:]


def test_library_is_private_and_never_in_home_or_cwd(testbed, tmp_path, monkeypatch, no_faults):
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    home.mkdir(), cwd.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(cwd)
    conn = make_conn(testbed, tmp_path / "state")
    MetaCatAdapter(conn).login()
    DataDispatcherAdapter(conn).login()
    for service in ("metacat", "data_dispatcher"):
        library = conn.state_dir / service / "token_library"
        assert _mode(library.parent) == "700" and _mode(library) == "600"
        assert library.read_text().startswith(conn.metacat_url if service == "metacat" else conn.dd_url)
    assert list(home.iterdir()) == [] and list(cwd.iterdir()) == []


def test_experiments_do_not_share_tokens(testbed, tmp_path, no_faults):
    a = DataDispatcherAdapter(make_conn(testbed, tmp_path / "a", user="alice"))
    b = DataDispatcherAdapter(make_conn(testbed, tmp_path / "b", user="bob", experiment="other"))
    assert a.login().username == "alice" and b.login().username == "bob"
    assert a.client.Token.encode() != b.client.Token.encode()
    assert (tmp_path / "a" / "data_dispatcher" / "token_library").read_text() != \
        (tmp_path / "b" / "data_dispatcher" / "token_library").read_text()


def test_a_saved_token_is_reused_without_logging_in_again(testbed, tmp_path, no_faults):
    conn = make_conn(testbed, tmp_path)
    first = DataDispatcherAdapter(conn)
    first.login()
    second = DataDispatcherAdapter(conn)
    second.list_rses()
    assert second.client.Token.tid == first.client.Token.tid


def test_changed_credential_drops_saved_tokens(testbed, tmp_path, no_faults):
    DataDispatcherAdapter(make_conn(testbed, tmp_path)).login()
    wrong = DataDispatcherAdapter(make_conn(testbed, tmp_path, password="changed-and-wrong"))
    assert wrong.client.Token is None
    with pytest.raises(ExternalServiceError, match="refused the login"):
        wrong.list_projects({"poms_task_id": 1})
    other = DataDispatcherAdapter(make_conn(testbed, tmp_path, user="alice"))
    assert other.login().username == "alice"


def test_concurrent_logins_leave_one_valid_library(testbed, tmp_path, no_faults):
    conn = make_conn(testbed, tmp_path)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            DataDispatcherAdapter(conn).login(force=True)
        except BaseException as exc:      # noqa: BLE001 - collected for the assertion
            errors.append(exc)
    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    lines = (conn.state_dir / "data_dispatcher" / "token_library").read_text().splitlines()
    assert len(lines) == 1 and lines[0].split()[0] == conn.dd_url
    assert DataDispatcherAdapter(conn).client.Token.subject == "poms"


def test_bearer_token_file_login(testbed, tmp_path, no_faults):
    token_file = tmp_path / "bt"
    token_file.write_text(testbed_tokens.mint(testbed.store, "bob") + "\n")
    cred = Credential(method="token_file", username="bob", token_file=str(token_file))
    conn = make_conn(testbed, tmp_path / "state", metacat=cred, data_dispatcher=cred)
    assert DataDispatcherAdapter(conn).login().username == "bob"
    assert MetaCatAdapter(conn).login().username == "bob"
    missing = make_conn(testbed, tmp_path / "s2", data_dispatcher=Credential(
        method="token_file", username="bob", token_file=str(tmp_path / "missing")))
    with pytest.raises(ExternalServiceError, match="cannot read token file"):
        DataDispatcherAdapter(missing).login()


def test_x509_login(testbed, tmp_path, no_faults):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_text("not checked by the testbed over http\n")
    key.write_text("not checked by the testbed over http\n")
    cred = Credential(method="x509", username="alice", cert_path=str(cert), key_path=str(key))
    assert DataDispatcherAdapter(make_conn(testbed, tmp_path / "s", data_dispatcher=cred)).login().username == "alice"


def test_login_that_hangs_is_abandoned_after_the_timeout(testbed, tmp_path, no_faults):
    dd = DataDispatcherAdapter(make_conn(testbed, tmp_path, timeout=0.5))
    fault(testbed, "dd", delay=2, count=1)
    with pytest.raises(ExternalServiceError, match=r"did not answer within 0.5 s"):
        dd.login()
