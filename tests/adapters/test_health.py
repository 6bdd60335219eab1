"""check_connection ("Test connection", SPEC §7) against the testbed: never raises, says what is wrong."""
from __future__ import annotations

import datetime as dt

from adapter_helpers import make_conn

from poms_dd.adapters import Credential, MetaCatAdapter, check_connection


def test_all_services_report_version_identity_expiry_and_samples(testbed, tmp_path, no_faults):
    conn = make_conn(testbed, tmp_path)
    mc, dd, rucio = check_connection(conn)
    assert [c.service for c in (mc, dd, rucio)] == ["MetaCat", "Data Dispatcher", "Rucio"]
    assert all(c.ok and c.error is None and c.identity == "poms" for c in (mc, dd, rucio))
    assert mc.version and dd.version == "2.0.3" and rucio.version == "41.5.1"
    now = dt.datetime.now(dt.timezone.utc)
    assert mc.token_expires > now and dd.token_expires > now
    expected = MetaCatAdapter(conn).count('files where namespace = "hypot"').count
    assert mc.details["sample_count"] == expected == 3050
    assert dd.details["rses"] == ["FNAL_DCACHE_DISK (disk)", "FNAL_ENSTORE (tape)"]
    assert rucio.details["rses"] == ["FNAL_DCACHE_DISK (disk)", "FNAL_ENSTORE (tape)"]


def test_wrong_credentials_are_reported_per_service(testbed, tmp_path, no_faults):
    bad = Credential(method="password", username="poms", secret="Xq7-not-the-password")
    conn = make_conn(testbed, tmp_path, metacat=bad, data_dispatcher=bad, rucio=bad)
    checks = check_connection(conn)
    assert [c.ok for c in checks] == [False, False, False]
    assert "MetaCat refused the login for user 'poms'" in checks[0].error
    assert "Data Dispatcher refused the login for user 'poms'" in checks[1].error
    assert "Rucio refused the login for userpass user 'poms' (Rucio account 'poms')" in checks[2].error
    assert all("Xq7-not-the-password" not in c.error for c in checks)


def test_a_good_saved_token_does_not_hide_a_wrong_password(testbed, tmp_path, no_faults):
    assert all(c.ok for c in check_connection(make_conn(testbed, tmp_path)))
    bad = Credential(method="password", username="poms", secret="wrong")
    checks = check_connection(make_conn(testbed, tmp_path, metacat=bad, data_dispatcher=bad, rucio=bad))
    assert [c.ok for c in checks] == [False, False, False]


def test_services_down_and_not_configured(fresh_testbed, tmp_path):
    conn = make_conn(fresh_testbed, tmp_path, rucio_host=None)
    fresh_testbed.stop()
    mc, dd, rucio = check_connection(conn)
    assert not mc.ok and "MetaCat at http://127.0.0.1:" in mc.error and "connection refused" in mc.error
    assert not dd.ok and "not reachable (connection refused)" in dd.error
    assert not rucio.ok and rucio.error == "No Rucio URL is configured."
