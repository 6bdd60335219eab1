"""RucioAdapter against the testbed through the real rucio client."""
from __future__ import annotations

import pytest
from adapter_helpers import fault, make_conn

from poms_dd.adapters import Credential, MetaCatAdapter, RucioAdapter
from poms_dd.errors import ExternalServiceError, InvalidInput


@pytest.fixture
def rucio(conn, no_faults):
    return RucioAdapter(conn)


def test_replicas_for_many_dids_in_chunks(rucio, conn):
    raw = [f.did for f in MetaCatAdapter(conn).iter_files("files from hypot:raw")]
    assert len(raw) == 2000
    got = list(rucio.replicas(raw + ["hypot:unknown_file"], chunk_size=5000))   # capped at 1000 per call
    by_did = {r.did: r for r in got}
    assert set(by_did) <= set(raw) and len(got) > 1900          # ~2% of raw files have no replica at all
    assert all(r.on_tape for r in got)
    on_disk = [r for r in got if r.on_disk]
    assert 0 < len(on_disk) < len(got)
    sample = on_disk[0]
    assert {(loc.rse, loc.is_tape) for loc in sample.locations} == {("FNAL_DCACHE_DISK", False),
                                                                    ("FNAL_ENSTORE", True)}
    assert sample.available_rses == ("FNAL_DCACHE_DISK", "FNAL_ENSTORE")


def test_replicas_with_an_rse_expression(rucio, conn):
    dids = [f.did for f in MetaCatAdapter(conn).iter_files("files from hypot:raw limit 50")]
    disk_only = list(rucio.replicas(dids, rse_expression="FNAL_DCACHE_DISK"))
    located = [r for r in disk_only if r.locations]
    assert located and all({loc.rse for loc in r.locations} == {"FNAL_DCACHE_DISK"} for r in located)
    assert all(r.on_disk and not r.on_tape for r in located)


def test_rses_dids_ping_whoami(rucio):
    rses = {r.name: r.kind for r in rucio.list_rses()}
    assert rses == {"FNAL_DCACHE_DISK": "disk", "FNAL_ENSTORE": "tape"}
    assert rucio.ping() == "41.5.1"
    assert rucio.whoami().username == "poms"
    assert rucio.get_did("hypot:nope") is None
    with pytest.raises(InvalidInput):
        rucio.get_did("no_scope")


def test_token_file_is_private_to_the_experiment_and_identity(testbed, tmp_path, no_faults):
    a = RucioAdapter(make_conn(testbed, tmp_path / "a"))
    b = RucioAdapter(make_conn(testbed, tmp_path / "b", experiment="other"))
    a.whoami(), b.whoami()
    file_a = a.token_dir / f"auth_token_{a.token_name}"
    assert file_a.exists() and str(file_a).startswith(str(tmp_path / "a"))
    assert (b.token_dir / f"auth_token_{b.token_name}").exists()
    assert oct(a.token_dir.stat().st_mode)[-3:] == "700"


def test_wrong_password_is_not_hidden_by_a_cached_token(testbed, tmp_path, no_faults):
    RucioAdapter(make_conn(testbed, tmp_path)).whoami()          # leaves a valid token behind
    wrong = RucioAdapter(make_conn(testbed, tmp_path, password="wrong"))
    with pytest.raises(ExternalServiceError, match=r"Rucio refused the login for userpass user 'poms' "
                                                   r"\(Rucio account 'poms'\)"):
        wrong.whoami()


def test_a_refused_login_names_the_userpass_user_and_the_rucio_account(testbed, tmp_path, no_faults):
    """The identity that failed is the userpass user; the account is what it acts for (here: not the same)."""
    cred = Credential(method="password", username="alice", secret="Xq7-not-alices-password")
    with pytest.raises(ExternalServiceError) as err:
        RucioAdapter(make_conn(testbed, tmp_path, rucio=cred, rucio_account="root")).whoami()
    assert "Rucio refused the login for userpass user 'alice' (Rucio account 'root')" in err.value.message
    assert "for user 'root'" not in err.value.message


def test_stale_token_is_renewed_by_a_new_login(testbed, tmp_path, no_faults):
    rucio = RucioAdapter(make_conn(testbed, tmp_path))
    rucio.whoami()
    token_file = rucio.token_dir / f"auth_token_{rucio.token_name}"
    token_file.write_text("stale-token")
    again = RucioAdapter(make_conn(testbed, tmp_path))
    assert again.whoami().username == "poms"
    assert token_file.read_text() != "stale-token"


def test_service_down(fresh_testbed, tmp_path):
    rucio = RucioAdapter(make_conn(fresh_testbed, tmp_path))
    rucio.whoami()
    fresh_testbed.stop()
    with pytest.raises(ExternalServiceError, match="not reachable"):
        rucio.list_rses()


def test_http_500(rucio, testbed):
    rucio.whoami()
    fault(testbed, "rucio", status=500, count=1)
    with pytest.raises(ExternalServiceError, match="Rucio"):
        rucio.list_rses()


def test_slow_server_beyond_the_timeout(testbed, tmp_path, no_faults):
    rucio = RucioAdapter(make_conn(testbed, tmp_path, timeout=0.5))
    rucio.whoami()
    fault(testbed, "rucio", delay=2, count=1)
    with pytest.raises(ExternalServiceError, match=r"did not answer within 0.5 s"):
        rucio.list_rses()
