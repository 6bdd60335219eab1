"""The adapters against https servers with separate auth servers, as in production (PROTOCOLS §2: MetaCat auth at
``https://host:8143/auth/<instance>``): CA verification for logins and data, x509 client certificates, and the
TLS policy order (tls.py).  The testbed app is served over real TLS by ``HttpsServer`` from tests/tls_helpers.py
(shared with the onboarding tests)."""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from adapter_helpers import make_conn
from tls_helpers import HttpsServer, make_pki

from poms_dd.adapters import Credential, DataDispatcherAdapter, MetaCatAdapter, RucioAdapter, check_connection
from poms_dd.adapters.tls import resolve
from poms_dd.errors import ConfigurationError, ExternalServiceError


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("X509_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def pki(tmp_path):
    return make_pki(tmp_path / "pki")


@pytest.fixture
def servers(testbed, pki, no_faults):
    """Data on https://localhost:P1 (no auth paths), auth on https://127.0.0.1:P2 (auth paths only)."""
    data = HttpsServer(testbed.app, pki, auth=False)
    auth = HttpsServer(testbed.app, pki, auth=True)
    yield data, auth
    data.stop()
    auth.stop()


def _https_conn(tb, state, data, auth, **overrides):
    d, a = data.url("localhost"), auth.url("127.0.0.1")
    values = dict(metacat_url=f"{d}/mc", metacat_auth_url=f"{a}/mc/auth", dd_url=f"{d}/dd",
                  dd_auth_url=f"{a}/dd/auth", rucio_host=f"{d}/rucio", rucio_auth_host=f"{a}/rucio")
    values.update(overrides)
    return make_conn(tb, state, **values)


def test_https_with_separate_auth_servers_and_a_configured_ca(testbed, tmp_path, servers, pki, clean_env):
    data, auth = servers
    conn = _https_conn(testbed, tmp_path / "s", data, auth, ca_path=str(pki.ca))
    checks = check_connection(conn)
    assert [c.ok for c in checks] == [True, True, True], [c.error for c in checks]
    assert checks[0].details["auth_url"] == f"{auth.url('127.0.0.1')}/mc/auth"
    mc = MetaCatAdapter(conn)
    files = list(mc.iter_files("files from hypot:raw where core.runs[any] = 1000"))
    assert len(files) == 100
    project = DataDispatcherAdapter(conn).create_project(files[:3], attributes={"poms_task_id": 424242},
                                                         virtual=True)
    assert project.counts.initial == 3 and project.owner == "poms"
    replicas = list(RucioAdapter(conn).replicas([f.did for f in files[:20]]))
    assert replicas and all(r.locations for r in replicas)


def test_an_untrusted_server_certificate_stops_logins_and_data_calls(testbed, tmp_path, servers, clean_env):
    data, auth = servers
    conn = _https_conn(testbed, tmp_path / "s", data, auth)      # certifi bundle: our test CA is unknown
    assert resolve(None, True).source == "certifi default bundle"
    for adapter in (MetaCatAdapter(conn), DataDispatcherAdapter(conn)):
        with pytest.raises(ExternalServiceError) as err:
            adapter.login()              # the clients' own login would have sent the password unverified
        assert "TLS certificate problem" in err.value.detail and "127.0.0.1" in err.value.detail
    with pytest.raises(ExternalServiceError, match="TLS certificate problem|not reachable"):
        RucioAdapter(conn).whoami()
    assert not any(c.ok for c in check_connection(conn))


def test_verification_can_be_switched_off_for_test_servers(testbed, tmp_path, servers, clean_env):
    data, auth = servers
    conn = _https_conn(testbed, tmp_path / "s", data, auth, verify_tls=False)
    assert all(c.ok for c in check_connection(conn))
    assert "NOT verified" in MetaCatAdapter(conn).tls.describe()


def test_x509_cert_dir_from_the_environment_is_used_when_no_ca_path_is_set(testbed, tmp_path, servers, pki,
                                                                          clean_env):
    data, auth = servers
    cert_dir = tmp_path / "certificates"
    cert_dir.mkdir()
    subject_hash = subprocess.run(["openssl", "x509", "-hash", "-noout", "-in", str(pki.ca)], check=True,
                                  capture_output=True, text=True).stdout.strip()
    shutil.copy(pki.ca, cert_dir / f"{subject_hash}.0")
    clean_env.setenv("X509_CERT_DIR", str(cert_dir))
    conn = _https_conn(testbed, tmp_path / "s", data, auth)
    assert MetaCatAdapter(conn).tls.verify == str(cert_dir)
    assert all(c.ok for c in check_connection(conn))
    explicit = resolve(str(pki.ca), True)                      # ca_path wins over the environment
    assert explicit.verify == str(pki.ca) and explicit.source == "experiment setting ca_path"


def test_a_missing_ca_path_is_a_configuration_error(testbed, tmp_path):
    conn = make_conn(testbed, tmp_path, ca_path=str(tmp_path / "nope.pem"))
    with pytest.raises(ConfigurationError, match="nope.pem configured for https does not exist"):
        MetaCatAdapter(conn)
    assert "does not exist" in check_connection(conn)[1].error


def test_x509_logins_present_the_client_certificate(testbed, tmp_path, pki, no_faults, clean_env):
    data = HttpsServer(testbed.app, pki, auth=False)
    auth = HttpsServer(testbed.app, pki, auth=True, require_client_cert=True)
    try:
        cred = Credential(method="x509", username="alice", cert_path=str(pki.client_cert),
                          key_path=str(pki.client_key))
        conn = _https_conn(testbed, tmp_path / "s", data, auth, ca_path=str(pki.ca), metacat=cred,
                           data_dispatcher=cred, rucio=cred, rucio_account="alice")
        assert MetaCatAdapter(conn).login().username == "alice"
        assert DataDispatcherAdapter(conn).login().username == "alice"
        assert RucioAdapter(conn).whoami().username == "alice"
        no_cert = Credential(method="password", username="alice", secret="alice")
        refused = _https_conn(testbed, tmp_path / "t", data, auth, ca_path=str(pki.ca), metacat=no_cert)
        with pytest.raises(ExternalServiceError):            # the auth server insists on a client certificate
            MetaCatAdapter(refused).login()
    finally:
        data.stop()
        auth.stop()


def test_x509_files_are_checked_before_any_request(testbed, tmp_path, pki, no_faults):
    missing = Credential(method="x509", username="alice", cert_path=str(tmp_path / "gone.pem"),
                         key_path=str(pki.client_key))
    conn = make_conn(testbed, tmp_path / "s", metacat=missing, data_dispatcher=missing, rucio=missing)
    for adapter in (MetaCatAdapter(conn), DataDispatcherAdapter(conn)):
        with pytest.raises(ConfigurationError, match="gone.pem does not exist or cannot be read"):
            adapter.login()
    with pytest.raises(ConfigurationError, match="gone.pem"):
        RucioAdapter(conn).whoami()
    os.chmod(pki.client_key, 0o644)
    loose = Credential(method="x509", username="alice", cert_path=str(pki.client_cert), key_path=str(pki.client_key))
    conn = make_conn(testbed, tmp_path / "t", rucio=loose, data_dispatcher=loose)
    with pytest.raises(ConfigurationError, match=r"mode 644; Rucio requires 400 or 600 \(run: chmod 600"):
        RucioAdapter(conn).whoami()
    assert DataDispatcherAdapter(conn).login().username == "alice"      # DD/MetaCat do not insist on the mode
    os.chmod(pki.client_key, 0o400)
    assert RucioAdapter(make_conn(testbed, tmp_path / "u", rucio=loose, rucio_account="alice")).whoami().username \
        == "alice"
