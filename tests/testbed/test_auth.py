"""Testbed auth servers (/mc/auth, /dd/auth) with the real MetaCat and DD clients."""
from __future__ import annotations

import pytest
import requests
from metacat.common.auth_client import AuthenticationError

from poms_dd.testbed import tokens


def test_ldap_login_dd_and_metacat(dd, mc):
    client = dd("alice", login=False)
    user, exp = client.login_ldap("alice", "alice")
    assert user == "alice" and exp > 0
    assert client.auth_info()[0] == "alice"
    m = mc()
    assert m.login_password("bob", "bob")[0] == "bob"
    assert m.auth_info()[0] == "bob"


def test_bad_password_is_401(tb, dd):
    with pytest.raises(AuthenticationError):
        dd("alice", login=False).login_ldap("alice", "wrong")
    resp = requests.post(f"{tb.url}/mc/auth/auth?method=ldap", data=b"alice:wrong", timeout=10)
    assert resp.status_code == 401 and "X-Authentication-Token" not in resp.headers


def test_digest_challenge_and_login(tb, dd):
    first = requests.get(f"{tb.dd_url}/auth/auth?method=digest", timeout=10)
    assert first.status_code == 401 and first.headers["WWW-Authenticate"].startswith("Digest ")
    assert dd("bob", login=False).login_digest("bob", "bob")[0] == "bob"
    with pytest.raises(AuthenticationError):
        dd("bob", login=False).login_digest("bob", "nope")


def test_token_login_with_jwt_and_registered_bearer(tb, dd):
    client = dd("alice", login=False)
    assert client.login_token("alice", tokens.mint(tb.store, "alice"))[0] == "alice"
    assert dd("bob", login=False).login_token("bob", "bob-bearer-token")[0] == "bob"
    with pytest.raises(AuthenticationError):
        dd("bob", worker_id="w9", login=False).login_token("bob", tokens.mint(tb.store, "alice"))
    with pytest.raises(AuthenticationError):
        dd("bob", worker_id="w8", login=False).login_token("bob", "garbage")


def test_x509_over_http(tb, dd, tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_text("not checked")
    key.write_text("not checked")
    assert dd("alice", login=False).login_x509("alice", str(cert), str(key))[0] == "alice"
    with pytest.raises(AuthenticationError):
        dd("ghost", login=False).login_x509("ghost", str(cert), str(key))


def test_verify_whoami_mydn(tb):
    tok = tokens.mint(tb.store, "alice")
    assert requests.get(f"{tb.mc_url}/auth/verify", headers={"X-Authentication-Token": tok}, timeout=10).text == "OK"
    assert requests.get(f"{tb.mc_url}/auth/verify", headers={"X-Authentication-Token": "x"}, timeout=10).status_code == 401
    assert requests.get(f"{tb.dd_url}/auth/whoami", headers={"Authorization": f"Bearer {tok}"}, timeout=10).text == "alice"
    assert requests.get(f"{tb.dd_url}/auth/mydn", timeout=10).status_code == 401


def test_expired_token_is_rejected_by_data_calls(tb, dd, hook):
    client = dd("alice")
    assert client.list_projects() == []
    hook("tick", seconds=8 * 24 * 3600)          # past the 7-day token lifetime on the testbed clock
    with pytest.raises(Exception, match="401|uthentic"):
        client.list_projects()
