"""The admin onboarding pages and JSON API, driven over HTTP as an administrator, an experiment superuser and
a plain experimenter would; connection tests run the real clients against the testbed."""
from __future__ import annotations

import json
import logging
import re

import pytest
import requests
from sqlalchemy import select, text

from poms_dd.crypto import SecretBox
from poms_dd.models import AuditEvent, Experiment, ExperimentMembership
from poms_dd.permissions import Actor
from poms_dd.services.accounts.users import UserService
from factories import csrf_token, login, make_experiment, make_user
from tls_helpers import HttpsServer, make_pki

SECRET = "Very-Secret-Pw-0451"


def form_fields(name="neutrino", secret=SECRET, **overrides):
    data = {
        "name": name, "description": "A neutrino experiment", "active": "y",
        "metacat_url": "https://metacat.example.org/app", "metacat_auth_url": "", "metacat_gui_url": "",
        "dd_url": "https://dd.example.org/dd", "dd_auth_url": "", "dd_gui_url": "",
        "rucio_host": "https://rucio.example.org", "rucio_auth_host": "", "rucio_account": "nupro",
        "service_role": "nu_people", "default_namespace": "nu", "default_worker_timeout": "3600",
        "default_idle_timeout": "", "verify_tls": "y",          # checked, as the browser shows it
        "metacat-method": "password", "metacat-username": "nupro", "metacat-secret": secret,
        "data_dispatcher-method": "password", "data_dispatcher-username": "nupro", "data_dispatcher-secret": secret,
        "rucio-method": "password", "rucio-username": "nupro", "rucio-secret": secret,
    }
    data.update(overrides)
    return data


def post_form(client, path, fields, form_page=None):
    fields = dict(fields, csrf_token=csrf_token(client, form_page or path))
    return client.post(path, data=fields)


@pytest.fixture
def admin_client(client, session):
    make_user(session, "boss", superuser=True)
    assert login(client, "boss").status_code == 302
    return client


@pytest.fixture
def experimenter_client(app, session):
    hypot = make_experiment(session, "hypot", metacat_url="https://metacat.example.org/app")
    make_user(session, "eve", roles={hypot: "production"})
    c = app.test_client()
    assert login(c, "eve").status_code == 302
    return c


def body(response) -> str:
    return response.get_data(as_text=True)


# --- onboarding over the form -------------------------------------------------------------------------------

def test_admin_onboards_through_the_form(admin_client, session, settings):
    page = admin_client.get("/admin/experiments/new")
    assert page.status_code == 200
    text_ = body(page)
    assert "Rucio is set up for the experiment" in text_ and "project owner" in text_
    response = post_form(admin_client, "/admin/experiments/new", form_fields())
    assert response.status_code == 302, body(response)
    assert response.headers["Location"] == "/admin/experiments/neutrino"
    exp = session.scalar(select(Experiment).where(Experiment.name == "neutrino"))
    assert exp.rucio_account == "nupro" and exp.default_worker_timeout == 3600 and exp.default_idle_timeout is None
    raw = bytes(session.execute(text(
        "SELECT secret_encrypted FROM service_credential WHERE experiment_id = :e AND service = 'rucio'"),
        {"e": exp.id}).scalar())
    assert SECRET.encode() not in raw
    assert SecretBox.from_settings(settings).decrypt(raw) == SECRET
    listing = body(admin_client.get("/admin"))
    assert "neutrino" in listing and SECRET not in listing


def test_edit_page_never_shows_the_secret_and_empty_keeps_it(admin_client, session):
    post_form(admin_client, "/admin/experiments/new", form_fields(), "/admin/experiments/new")
    exp = session.scalar(select(Experiment).where(Experiment.name == "neutrino"))
    before = bytes(exp.credential("metacat").secret_encrypted)
    page = admin_client.get("/admin/experiments/neutrino")
    assert page.status_code == 200
    html = body(page)
    assert SECRET not in html
    assert 'value="https://metacat.example.org/app"' in html
    assert re.search(r'<input[^>]*name="metacat-secret"[^>]*type="password"[^>]*value=""', html) or \
        re.search(r'<input[^>]*type="password"[^>]*name="metacat-secret"(?![^>]*value="[^"])', html)
    response = post_form(admin_client, "/admin/experiments/neutrino",
                         form_fields(secret="", metacat_url="https://metacat2.example.org/app"))
    assert response.status_code == 302, body(response)
    session.expire_all()
    exp = session.scalar(select(Experiment).where(Experiment.name == "neutrino"))
    assert exp.metacat_url == "https://metacat2.example.org/app"
    assert bytes(exp.credential("metacat").secret_encrypted) == before


def test_clear_checkbox_removes_a_pasted_token(admin_client, session, settings):
    token_file = f"{settings.token_files_dir()}/dd.token"
    fields = form_fields(**{"data_dispatcher-method": "token_file", "data_dispatcher-token_file": token_file,
                            "data_dispatcher-secret": "pasted.jwt.token"})
    assert post_form(admin_client, "/admin/experiments/new", fields).status_code == 302
    fields = form_fields(secret="", **{"data_dispatcher-method": "token_file",
                                       "data_dispatcher-token_file": token_file,
                                       "data_dispatcher-clear_secret": "y"})
    assert post_form(admin_client, "/admin/experiments/neutrino", fields).status_code == 302
    session.expire_all()
    exp = session.scalar(select(Experiment).where(Experiment.name == "neutrino"))
    assert exp.credential("data_dispatcher").secret_encrypted is None
    assert exp.credential("metacat").secret_encrypted is not None


@pytest.mark.parametrize("overrides, message", [
    ({"metacat_url": "ftp://metacat.example.org"}, "must be an http:// or https:// URL"),
    ({"rucio-method": "x509", "rucio-cert_path": "/etc/c.pem"}, "needs the path of the private key file"),
    ({"data_dispatcher-method": "token_file", "data_dispatcher-secret": ""},
     "needs the path of a bearer-token file"),
    ({"default_worker_timeout": "-1"}, "Number must be at least 0"),
    ({"name": "No Spaces"}, "lower-case letter"),
])
def test_field_errors_are_shown_next_to_the_field(admin_client, session, overrides, message):
    response = post_form(admin_client, "/admin/experiments/new", form_fields(**overrides))
    assert response.status_code == 400
    html = body(response)
    assert message in html
    assert 'class="field-error"' in html
    assert SECRET not in html
    assert session.scalar(select(Experiment).where(Experiment.name.in_(["neutrino", "No Spaces"]))) is None


# --- who may do it ------------------------------------------------------------------------------------------

def test_experimenter_is_refused_and_nothing_changes(experimenter_client, session):
    c = experimenter_client
    assert c.get("/admin/experiments/new").status_code == 403
    assert c.get("/admin/experiments/hypot").status_code == 403
    assert c.get("/admin").status_code == 403
    token = csrf_token(c, "/account")
    r = c.post("/admin/experiments/new", data=dict(form_fields(), csrf_token=token))
    assert r.status_code == 403
    r = c.post("/admin/experiments/hypot", data=dict(form_fields(name="hypot", metacat_url="https://evil.org"),
                                                     csrf_token=token))
    assert r.status_code == 403
    assert c.post("/admin/experiments/hypot/test-connection", data={"csrf_token": token}).status_code == 403
    assert c.post("/admin/experiments/hypot/refresh-tokens", data={"csrf_token": token}).status_code == 403
    r = c.post("/api/admin/experiments", json={"name": "sneaky"}, headers={"X-CSRFToken": token})
    assert r.status_code == 403
    session.expire_all()
    assert session.scalar(select(Experiment).where(Experiment.name.in_(["neutrino", "sneaky"]))) is None
    assert session.scalar(select(Experiment.metacat_url).where(Experiment.name == "hypot")) == \
        "https://metacat.example.org/app"
    assert session.scalars(select(AuditEvent).where(AuditEvent.action.like("experiment.%"))).all() == []


def test_csrf_is_required_on_every_admin_form(admin_client, session):
    make_experiment(session, "hypot")
    make_user(session, "carol")
    posts = ["/admin/experiments/new", "/admin/experiments/hypot", "/admin/experiments/hypot/test-connection",
             "/admin/experiments/hypot/refresh-tokens", "/admin/experiments/hypot/members",
             "/admin/experiments/hypot/members/carol/role", "/admin/experiments/hypot/members/carol/remove"]
    for path in posts:
        r = admin_client.post(path, data=dict(form_fields(name="csrfexp"), username="carol", role="analysis"))
        assert r.status_code == 400, path
        assert "CSRF" in body(r), path
    r = admin_client.post("/api/admin/experiments", json={"name": "csrfexp"})   # cookie-authenticated JSON
    assert r.status_code == 400
    session.expire_all()
    assert session.scalar(select(Experiment).where(Experiment.name == "csrfexp")) is None
    assert session.scalars(select(ExperimentMembership)).all() == []


# --- members ------------------------------------------------------------------------------------------------

def test_members_add_change_remove_as_admin(admin_client, session):
    hypot = make_experiment(session, "hypot")
    make_user(session, "carol")
    r = post_form(admin_client, "/admin/experiments/hypot/members", {"username": "carol", "role": "analysis"},
                  "/admin/experiments/hypot")
    assert r.status_code == 302
    page = body(admin_client.get("/admin/experiments/hypot"))
    assert "carol" in page
    token = csrf_token(admin_client, "/admin/experiments/hypot")
    r = admin_client.post("/admin/experiments/hypot/members/carol/role", data={"role": "production",
                                                                             "csrf_token": token})
    assert r.status_code == 302
    m = session.scalar(select(ExperimentMembership).where(ExperimentMembership.experiment_id == hypot.id))
    session.refresh(m)
    assert m.role == "production"
    r = admin_client.post("/admin/experiments/hypot/members/carol/role", data={"role": "wizard", "csrf_token": token})
    assert r.status_code == 400 and "Unknown role" in body(r)
    r = post_form(admin_client, "/admin/experiments/hypot/members", {"username": "ghost", "role": "analysis"},
                  "/admin/experiments/hypot")
    assert r.status_code == 400 and "No user" in body(r)
    r = admin_client.post("/admin/experiments/hypot/members/carol/remove", data={"csrf_token": token})
    assert r.status_code == 302
    session.expire_all()
    assert session.scalars(select(ExperimentMembership)).all() == []
    actions = [e.action for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions == ["membership.grant", "membership.grant", "membership.remove"]


def test_experiment_superuser_manages_members_but_not_onboarding(app, session):
    hypot = make_experiment(session, "hypot")
    make_experiment(session, "other")
    make_user(session, "sue", roles={hypot: "superuser"})
    make_user(session, "carol")
    c = app.test_client()
    login(c, "sue")
    assert c.get("/admin/experiments/hypot").status_code == 403
    listing = c.get("/admin")
    assert listing.status_code == 200 and "hypot" in body(listing) and "other" not in body(listing)
    r = post_form(c, "/admin/experiments/hypot/members", {"username": "carol", "role": "analysis"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/admin/experiments/hypot/members#members")
    assert "carol" in body(c.get("/admin/experiments/hypot/members"))
    assert c.get("/admin/experiments/other/members").status_code == 404
    r = post_form(c, "/admin/experiments/other/members", {"username": "carol", "role": "analysis"},
                  "/admin/experiments/hypot/members")
    assert r.status_code == 404


# --- JSON API -----------------------------------------------------------------------------------------------

def api_token(session, username):
    users = UserService(session, Actor.system_actor("cli:test"))
    return users.create_token(users.get_user(username), "script")[1]


def test_json_api_round_trip_without_secrets(client, session, settings):
    make_user(session, "boss", superuser=True)
    make_user(session, "carol")
    headers = {"Authorization": f"Bearer {api_token(session, 'boss')}"}
    payload = {"name": "apiexp", "metacat_url": "https://mc.example.org/app",
               "credentials": {"metacat": {"method": "password", "username": "svc", "secret": SECRET}}}
    r = client.post("/api/admin/experiments", json=payload, headers=headers)
    assert r.status_code == 201, body(r)
    assert r.get_json()["metacat.secret"] == "set"
    r = client.patch("/api/admin/experiments/apiexp", json={"default_idle_timeout": -3}, headers=headers)
    assert r.status_code == 400 and "default_idle_timeout" in r.get_json()["field_errors"]
    r = client.patch("/api/admin/experiments/apiexp", json={"default_idle_timeout": 60}, headers=headers)
    assert r.status_code == 200 and r.get_json()["default_idle_timeout"] == 60
    shown = client.get("/api/admin/experiments/apiexp", headers=headers)
    listing = client.get("/api/admin/experiments", headers=headers)
    r = client.post("/api/admin/experiments/apiexp/members", json={"username": "carol", "role": "analysis"},
                    headers=headers)
    assert r.status_code == 201
    r = client.patch("/api/admin/experiments/apiexp/members/carol", json={"role": "production"}, headers=headers)
    assert r.get_json()["role"] == "production"
    assert client.get("/api/admin/experiments/apiexp/members", headers=headers).get_json() == [
        {"username": "carol", "full_name": "Carol", "role": "production"}]
    assert client.delete("/api/admin/experiments/apiexp/members/carol", headers=headers).status_code == 204
    for response in (shown, listing):
        assert response.status_code == 200 and SECRET not in body(response)
    events = session.scalars(select(AuditEvent)).all()
    assert SECRET not in json.dumps([[e.before, e.after, e.summary] for e in events])


# --- connection tests against the testbed (real clients over HTTP) -----------------------------------------

def fields_for(tb, name="hypot", username="poms", password="poms"):
    fields = form_fields(name=name, secret=password, **{
        "metacat_url": tb.mc_url, "metacat_auth_url": tb.mc_url + "/auth",
        "dd_url": tb.dd_url, "dd_auth_url": tb.dd_url + "/auth",
        "rucio_host": tb.rucio_url, "rucio_auth_host": "", "rucio_account": username,
        "default_namespace": "hypot", "service_role": "hypot/production",
        "metacat-username": username, "data_dispatcher-username": username, "rucio-username": username})
    return fields


def check_rows(html: str) -> dict[str, str]:
    """Service label → the HTML of its row in the connection-test table."""
    rows = re.findall(r'<tr class="check check-(?:ok|fail)" data-service="([^"]+)">(.*?)</tr>', html, re.S)
    return {service: row for service, row in rows}


def onboard(client, tb, **kw):
    response = post_form(client, "/admin/experiments/new", fields_for(tb, **kw))
    assert response.status_code == 302, body(response)


def test_connection_test_is_green_for_all_three_services(admin_client, testbed):
    onboard(admin_client, testbed)
    token = csrf_token(admin_client, "/admin/experiments/hypot")
    response = admin_client.post("/admin/experiments/hypot/test-connection", data={"csrf_token": token})
    assert response.status_code == 200
    rows = check_rows(body(response))
    assert set(rows) == {"MetaCat", "Data Dispatcher", "Rucio"}
    for service, row in rows.items():
        assert ">OK<" in row and "FAIL" not in row, (service, row)
        assert ">poms<" in row, row                                # identity
    assert testbed.mc_url in rows["MetaCat"] and testbed.dd_url in rows["Data Dispatcher"]
    assert testbed.rucio_url in rows["Rucio"]
    assert "2.0.3" in rows["Data Dispatcher"] and "41.5.1" in rows["Rucio"]
    assert "sample count" in rows["MetaCat"]
    assert re.search(r"sample total size</dt>\s*<dd>[\d.]+ [kMGTP]B <span", rows["MetaCat"]), rows["MetaCat"]
    assert "FNAL_DCACHE_DISK" in rows["Rucio"] and "FNAL_ENSTORE" in rows["Data Dispatcher"]
    assert re.search(r"<td>20\d\d-\d\d-\d\d \d\d:\d\d UTC</td>", rows["MetaCat"])      # token expiry
    # The token panel now shows who poms_dd is at MetaCat and DD, and until when.
    page = body(admin_client.get("/admin/experiments/hypot"))
    panel = page.split('<section id="tokens">')[1].split("</section>")[0]
    assert panel.count("poms") >= 3 and "no token held" not in panel.split('data-service="Rucio"')[0]
    assert re.search(r"\(in \d+ h \d+ min\)", panel)


def test_refresh_tokens_now(admin_client, session, testbed):
    onboard(admin_client, testbed)
    token = csrf_token(admin_client, "/admin/experiments/hypot")
    response = admin_client.post("/admin/experiments/hypot/refresh-tokens", data={"csrf_token": token})
    assert response.status_code == 200
    panel = body(response).split('<section id="tokens">')[1].split("</section>")[0]
    assert "(just refreshed)" in panel and "error-message" not in panel
    for service in ("MetaCat", "Data Dispatcher", "Rucio"):
        row = panel.split(f'data-service="{service}"')[1].split("</tr>")[0]
        assert "<td>poms</td>" in row and "no token held" not in row, row
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "experiment.refresh_tokens")).one()
    assert event.actor == "boss"


@pytest.mark.parametrize("fault, label", [("dd", "Data Dispatcher"), ("mc", "MetaCat"), ("rucio", "Rucio")])
def test_one_failing_service_shows_its_exact_error_while_the_others_stay_green(admin_client, fresh_testbed,
                                                                            fault, label):
    onboard(admin_client, fresh_testbed)
    r = requests.post(f"{fresh_testbed.url}/_testbed/fault", params={"service": fault, "status": 500}, timeout=10)
    assert r.status_code == 200
    token = csrf_token(admin_client, "/admin/experiments/hypot")
    response = admin_client.post("/admin/experiments/hypot/test-connection", data={"csrf_token": token})
    assert response.status_code == 200
    rows = check_rows(body(response))
    assert ">FAIL<" in rows[label] and '<pre class="error-message">' in rows[label]
    assert "injected fault: HTTP 500" in rows[label], rows[label]      # the service's own words
    for other in set(rows) - {label}:
        assert ">OK<" in rows[other], (other, rows[other])
    api = admin_client.post("/api/admin/experiments/hypot/test-connection",
                            headers={"X-CSRFToken": token})
    data = api.get_json()
    assert api.status_code == 200 and data["ok"] is False
    failed = [c for c in data["checks"] if not c["ok"]]
    assert [c["service"] for c in failed] == [label] and "500" in failed[0]["error"]


def test_stopped_testbed_reports_every_service_unreachable(admin_client, fresh_testbed):
    onboard(admin_client, fresh_testbed)
    fresh_testbed.stop()
    token = csrf_token(admin_client, "/admin/experiments/hypot")
    response = admin_client.post("/admin/experiments/hypot/test-connection", data={"csrf_token": token})
    assert response.status_code == 200
    rows = check_rows(body(response))
    assert len(rows) == 3 and all(">FAIL<" in row for row in rows.values())
    assert all(str(fresh_testbed.port) in row for row in rows.values())


def test_secret_never_appears_in_responses_logs_or_audit(admin_client, session, fresh_testbed, caplog):
    from poms_dd.testbed.store import Account
    secret = "Leak-Canary-7fK2q9"
    with fresh_testbed.store.lock:
        fresh_testbed.store.accounts["pomsops"] = Account("pomsops", secret, admin=True,
                                                          roles=["hypot/production"])
    caplog.set_level(logging.DEBUG)
    bodies = [admin_client.get("/admin/experiments/new")]
    fields = fields_for(fresh_testbed, username="pomsops", password=secret)
    token = csrf_token(admin_client, "/admin/experiments/new")
    bodies.append(admin_client.post("/admin/experiments/new", data=dict(fields, csrf_token=token),
                                    follow_redirects=True))
    bodies.append(admin_client.post("/admin/experiments/hypot", data=dict(fields, name="", csrf_token=token),
                                    follow_redirects=True))
    bad = dict(fields, csrf_token=token, metacat_url="ftp://x")
    bodies.append(admin_client.post("/admin/experiments/hypot", data=bad))                       # 400 re-render
    bodies.append(admin_client.post("/admin/experiments/new", data=dict(bad, name="other")))     # 400 re-render
    tested = admin_client.post("/admin/experiments/hypot/test-connection", data={"csrf_token": token})
    bodies += [tested, admin_client.post("/admin/experiments/hypot/refresh-tokens", data={"csrf_token": token})]
    for path in ("/admin", "/api/admin/experiments", "/api/admin/experiments/hypot",
                 "/api/admin/experiments/hypot/tokens", "/api/admin/experiments/hypot/members"):
        bodies.append(admin_client.get(path))
    bodies.append(admin_client.post("/api/admin/experiments/hypot/test-connection", headers={"X-CSRFToken": token}))
    bodies.append(admin_client.post("/api/admin/experiments/hypot/tokens/refresh", headers={"X-CSRFToken": token}))
    rows = check_rows(body(tested))
    assert len(rows) == 3 and all(">OK<" in r and "pomsops" in r for r in rows.values()), rows
    for response in bodies:
        assert secret not in body(response), response.request.path
    assert secret not in caplog.text
    assert any(r.name.startswith(("urllib3", "poms_dd")) for r in caplog.records)    # logging was captured
    events = session.scalars(select(AuditEvent)).all()
    assert len(events) >= 3
    assert secret not in json.dumps([[e.before, e.after, e.summary] for e in events])


def test_secrets_under_another_key_are_reported_and_can_be_re_entered(admin_client, session, settings, testbed):
    from cryptography.fernet import Fernet
    from poms_dd.services.onboarding.connections import ConnectionService
    from poms_dd.services.onboarding.service import OnboardingService
    old = OnboardingService(session, Actor.system_actor("cli:test"),
                            ConnectionService(SecretBox(Fernet.generate_key()), settings.instance_path))
    data = {k: v for k, v in fields_for(testbed).items() if "-" not in k}
    data["credentials"] = {s: {"method": "password", "username": "poms", "secret": "poms"}
                           for s in ("metacat", "data_dispatcher", "rucio")}
    old.create(data)
    page = admin_client.get("/admin/experiments/hypot")
    assert page.status_code == 200
    assert "another POMS_DD_ENCRYPTION_KEY" in body(page)
    token = csrf_token(admin_client, "/admin/experiments/hypot")
    rows = check_rows(body(admin_client.post("/admin/experiments/hypot/test-connection", data={"csrf_token": token})))
    assert len(rows) == 3 and all(">FAIL<" in r and "another POMS_DD_ENCRYPTION_KEY" in r for r in rows.values())
    assert post_form(admin_client, "/admin/experiments/hypot", fields_for(testbed)).status_code == 302
    rows = check_rows(body(admin_client.post("/admin/experiments/hypot/test-connection", data={"csrf_token": token})))
    assert all(">OK<" in r for r in rows.values()), rows


# --- TLS and timeouts ---------------------------------------------------------------------------------------

def field_block(html: str, name: str) -> str:
    """The HTML of the form row holding the input called ``name`` (label, input, errors, help)."""
    start = html.index(f'name="{name}"')
    return html[html.rindex('<div class="form-field', 0, start):html.index("</div>\n</div>", start)]


def test_tls_fieldset_explains_the_defaults_and_stores_the_settings(admin_client, session, tmp_path):
    page = body(admin_client.get("/admin/experiments/new"))
    fieldset = page.split('<fieldset id="tls-and-timeouts">')[1].split("</fieldset>")[0]
    assert "<legend>TLS and timeouts</legend>" in fieldset
    assert "/etc/grid-security/certificates" in fieldset and "$X509_CERT_DIR" in fieldset
    assert "only for test servers" in fieldset and "Empty: 60 s." in fieldset and "Empty: def." in fieldset
    assert re.search(r'<input[^>]*checked[^>]*name="verify_tls"|<input[^>]*name="verify_tls"[^>]*checked', fieldset)
    assert "tls-warning" not in page
    ca_dir = tmp_path / "certificates"
    ca_dir.mkdir()
    response = post_form(admin_client, "/admin/experiments/new",
                         form_fields(ca_path=str(ca_dir), service_timeout="30", rucio_vo="dne"))
    assert response.status_code == 302, body(response)
    exp = session.scalar(select(Experiment).where(Experiment.name == "neutrino"))
    assert (exp.ca_path, exp.verify_tls, exp.service_timeout, exp.rucio_vo) == (str(ca_dir), True, 30, "dne")
    html = body(admin_client.get("/admin/experiments/neutrino"))
    assert f'value="{ca_dir}"' in html and 'value="30"' in field_block(html, "service_timeout")
    assert 'value="dne"' in html and "tls-warning" not in html


@pytest.mark.parametrize("overrides, field, message", [
    ({"ca_path": "/no/such/ca-bundle.pem"}, "ca_path", "does not exist on the poms_dd server"),
    ({"ca_path": "ca.pem"}, "ca_path", "absolute path"),
    ({"service_timeout": "0"}, "service_timeout", "Number must be at least 1"),
    ({"rucio_vo": "dune"}, "rucio_vo", "3-character VO tag"),
])
def test_tls_field_errors_are_shown_next_to_the_field(admin_client, session, overrides, field, message):
    response = post_form(admin_client, "/admin/experiments/new", form_fields(**overrides))
    assert response.status_code == 400
    assert message in field_block(body(response), field)
    assert session.scalar(select(Experiment).where(Experiment.name == "neutrino")) is None


def test_verification_off_warns_that_it_is_only_for_test_servers(admin_client, session):
    fields = form_fields()
    del fields["verify_tls"]                                  # the checkbox unticked
    assert post_form(admin_client, "/admin/experiments/new", fields).status_code == 302
    exp = session.scalar(select(Experiment).where(Experiment.name == "neutrino"))
    assert exp.verify_tls is False
    html = body(admin_client.get("/admin/experiments/neutrino"))
    warnings = re.findall(r'<div class="flash flash-warning tls-warning" role="alert">([^<]*)</div>', html)
    assert len(warnings) == 2 and all("Only for test servers" in w for w in warnings)
    assert post_form(admin_client, "/admin/experiments/neutrino", form_fields(secret="")).status_code == 302
    session.refresh(exp)
    assert exp.verify_tls is True and "tls-warning" not in body(admin_client.get("/admin/experiments/neutrino"))


def test_json_api_sets_and_clears_the_tls_settings(client, session, tmp_path):
    make_user(session, "boss", superuser=True)
    headers = {"Authorization": f"Bearer {api_token(session, 'boss')}"}
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    r = client.post("/api/admin/experiments", json={"name": "apiexp", "ca_path": str(ca), "verify_tls": False,
                                                   "service_timeout": 20, "rucio_vo": "dne"}, headers=headers)
    assert r.status_code == 201, body(r)
    got = r.get_json()
    assert (got["ca_path"], got["verify_tls"], got["service_timeout"], got["rucio_vo"]) == (str(ca), False, 20, "dne")
    r = client.patch("/api/admin/experiments/apiexp", json={"service_timeout": -1, "ca_path": "/missing.pem"},
                     headers=headers)
    assert r.status_code == 400 and set(r.get_json()["field_errors"]) == {"service_timeout", "ca_path"}
    r = client.patch("/api/admin/experiments/apiexp", json={"ca_path": None, "verify_tls": True,
                                                           "service_timeout": None, "rucio_vo": ""}, headers=headers)
    got = r.get_json()
    assert (got["ca_path"], got["verify_tls"], got["service_timeout"], got["rucio_vo"]) == (None, True, None, None)


@pytest.fixture
def https_testbed(testbed, tmp_path, monkeypatch):
    """The testbed served over https with a private CA; no CA from the environment (certifi only)."""
    for name in ("X509_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    requests.delete(f"{testbed.url}/_testbed/fault", timeout=10).raise_for_status()
    server = HttpsServer(testbed.app, make_pki(tmp_path / "pki"))
    yield server, make_pki(tmp_path / "other-pki").ca, tmp_path / "pki" / "ca.pem"
    server.stop()


def test_connection_test_over_https_with_a_wrong_ca_path_shows_the_tls_error(admin_client, session, https_testbed):
    server, wrong_ca, right_ca = https_testbed
    base = server.url("localhost")
    fields = form_fields(name="hypot", secret="poms", ca_path=str(wrong_ca), **{
        "metacat_url": f"{base}/mc", "dd_url": f"{base}/dd", "rucio_host": f"{base}/rucio",
        "rucio_account": "poms", "default_namespace": "hypot", "metacat-username": "poms",
        "data_dispatcher-username": "poms", "rucio-username": "poms"})
    assert post_form(admin_client, "/admin/experiments/new", fields).status_code == 302
    token = csrf_token(admin_client, "/admin/experiments/hypot")
    rows = check_rows(body(admin_client.post("/admin/experiments/hypot/test-connection", data={"csrf_token": token})))
    assert set(rows) == {"MetaCat", "Data Dispatcher", "Rucio"}
    assert all(">FAIL<" in row for row in rows.values()), rows
    for service in ("MetaCat", "Data Dispatcher"):
        assert "TLS certificate problem" in rows[service] and "check the CA path" in rows[service], rows[service]
    assert re.search(r"TLS certificate problem|not reachable", rows["Rucio"]), rows["Rucio"]
    # The same experiment with the CA that signed the servers' certificate: all green.
    assert post_form(admin_client, "/admin/experiments/hypot",
                     dict(fields, name="", secret="", ca_path=str(right_ca))).status_code == 302
    rows = check_rows(body(admin_client.post("/admin/experiments/hypot/test-connection", data={"csrf_token": token})))
    assert all(">OK<" in row for row in rows.values()), rows


# --- Hardening: what may be typed into the settings (issue "Hardening" 2, 3, 7, 11, 12) ---------------------

def _add_account(tb, username, password):
    from poms_dd.testbed.store import Account
    with tb.store.lock:
        tb.store.accounts[username] = Account(username, password, admin=True, roles=["hypot/production"])


def _everything_shown(client, token, name="hypot"):
    """Every page and API answer that could show settings, tokens or errors of the experiment."""
    responses = [client.post(f"/admin/experiments/{name}/test-connection", data={"csrf_token": token}),
                 client.post(f"/admin/experiments/{name}/refresh-tokens", data={"csrf_token": token})]
    for path in ("/admin", f"/admin/experiments/{name}", f"/api/admin/experiments/{name}",
                 f"/api/admin/experiments/{name}/tokens", f"/experiments/{name}/audit",
                 f"/api/experiments/{name}/audit"):
        responses.append(client.get(path))
    responses.append(client.post(f"/api/admin/experiments/{name}/test-connection", headers={"X-CSRFToken": token}))
    responses.append(client.post(f"/api/admin/experiments/{name}/tokens/refresh", headers={"X-CSRFToken": token}))
    return responses


def _audit_text(session) -> str:
    return json.dumps([[e.before, e.after, e.summary] for e in session.scalars(select(AuditEvent)).all()])


@pytest.mark.parametrize("secret", [" Lead-Space-Canary-55", "Trail-Space-Canary-55 ", "Two\nLines-Canary-55"])
def test_a_password_with_surrounding_spaces_is_refused_and_never_echoed(admin_client, app, session, secret):
    fields = form_fields(**{"rucio-secret": secret})
    response = post_form(admin_client, "/admin/experiments/new", fields)
    assert response.status_code == 400
    html = body(response)
    block = field_block(html, "rucio-secret")
    assert "Rucio password or pasted token" in block and re.search(r"space or tab|line break", block), block
    assert "Canary-55" not in html
    assert session.scalar(select(Experiment).where(Experiment.name == "neutrino")) is None
    make_user(session, "apiboss", superuser=True)
    headers = {"Authorization": f"Bearer {api_token(session, 'apiboss')}"}
    r = app.test_client().post("/api/admin/experiments", headers=headers, json={
        "name": "apiexp", "metacat_url": "https://mc.example.org/app",
        "credentials": {"metacat": {"method": "password", "username": "svc", "secret": secret}}})
    assert r.status_code == 400 and "metacat.secret" in r.get_json()["field_errors"], body(r)
    assert "Canary-55" not in body(r)
    assert session.scalars(select(AuditEvent).where(AuditEvent.object_type == "experiment")).all() == []


def test_a_pasted_trailing_newline_is_stripped_and_the_password_never_appears(admin_client, session,
                                                                              fresh_testbed, settings):
    secret = "Newline-Canary-8Hq2"
    _add_account(fresh_testbed, "pomsnl", secret)
    fields = fields_for(fresh_testbed, username="pomsnl", password=secret + "\n")
    response = post_form(admin_client, "/admin/experiments/new", fields)
    assert response.status_code == 302, body(response)
    exp = session.scalar(select(Experiment).where(Experiment.name == "hypot"))
    box = SecretBox.from_settings(settings)
    assert {box.decrypt(c.secret_encrypted) for c in exp.credentials} == {secret}
    token = csrf_token(admin_client, "/admin/experiments/hypot")
    responses = _everything_shown(admin_client, token)
    rows = check_rows(body(responses[0]))
    assert len(rows) == 3 and all(">OK<" in r and "pomsnl" in r for r in rows.values()), rows
    for r in responses:
        assert r.status_code == 200, r.request.path
        assert secret not in body(r), r.request.path
    assert secret not in _audit_text(session)


@pytest.mark.parametrize("field", ["metacat_url", "dd_auth_url", "rucio_host"])
def test_credentials_inside_a_url_are_refused_without_showing_them(admin_client, app, session, field):
    url = "https://svc:Url-Canary-31@mc.example.org/app"
    response = post_form(admin_client, "/admin/experiments/new", form_fields(**{field: url}))
    assert response.status_code == 400
    html = body(response)
    assert "must not contain a user name or password" in field_block(html, field)
    assert "Url-Canary-31" not in html                    # not even in the redrawn field
    assert session.scalar(select(Experiment).where(Experiment.name == "neutrino")) is None
    make_user(session, "apiboss", superuser=True)
    headers = {"Authorization": f"Bearer {api_token(session, 'apiboss')}"}
    r = app.test_client().post("/api/admin/experiments", json={"name": "apiexp", field: url}, headers=headers)
    assert r.status_code == 400 and field in r.get_json()["field_errors"]
    assert "Url-Canary-31" not in body(r)
    assert session.scalars(select(AuditEvent).where(AuditEvent.object_type == "experiment")).all() == []


def _token_dir(settings):
    from pathlib import Path
    path = Path(settings.token_files_dir())
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def _outside_files(settings, tmp_path):
    """Server files a token_file must never reach: /etc/shadow, the settings file, and a symlink to it."""
    env_file = tmp_path / "poms_dd.env"
    env_file.write_text(f"POMS_DD_ENCRYPTION_KEY={settings.encryption_key}\n")
    link = _token_dir(settings) / "innocent.token"
    link.symlink_to(env_file)
    return {"shadow": "/etc/shadow", "env": str(env_file), "symlink": str(link),
            "dotdot": f"{settings.token_files_dir()}/../../poms_dd.env"}


@pytest.mark.parametrize("which", ["shadow", "env", "symlink", "dotdot"])
def test_a_token_file_outside_the_token_directory_is_refused(admin_client, app, session, settings, tmp_path, which):
    path = _outside_files(settings, tmp_path)[which]
    fields = form_fields(**{"data_dispatcher-method": "token_file", "data_dispatcher-token_file": path,
                            "data_dispatcher-secret": ""})
    response = post_form(admin_client, "/admin/experiments/new", fields)
    assert response.status_code == 400
    block = field_block(body(response), "data_dispatcher-token_file")
    assert "must lie in poms_dd&#39;s token directory" in block and "POMS_DD_TOKEN_DIR" in block, block
    assert session.scalar(select(Experiment).where(Experiment.name == "neutrino")) is None
    # The same through the API, on an existing experiment: 400, nothing changed.
    assert post_form(admin_client, "/admin/experiments/new", form_fields()).status_code == 302
    make_user(session, "apiboss", superuser=True)
    headers = {"Authorization": f"Bearer {api_token(session, 'apiboss')}"}
    r = app.test_client().patch("/api/admin/experiments/neutrino", headers=headers, json={"credentials": {
        "rucio": {"method": "token_file", "token_file": path}}})
    assert r.status_code == 400 and "rucio.token_file" in r.get_json()["field_errors"], body(r)
    session.expire_all()
    exp = session.scalar(select(Experiment).where(Experiment.name == "neutrino"))
    assert exp.credential("rucio").method == "password" and exp.credential("rucio").token_file is None
    assert exp.credential("data_dispatcher").token_file is None


def test_x509_files_outside_the_token_directory_are_refused(admin_client, session, settings):
    inside = f"{_token_dir(settings)}/robot.key"
    fields = form_fields(**{"rucio-method": "x509", "rucio-cert_path": "/etc/passwd", "rucio-key_path": inside})
    response = post_form(admin_client, "/admin/experiments/new", fields)
    assert response.status_code == 400
    rows = {name: chunk for chunk in body(response).split('<div class="form-field')
            for name in ("rucio-cert_path", "rucio-key_path") if f'name="{name}"' in chunk}
    assert "token directory" in rows["rucio-cert_path"] and "token directory" not in rows["rucio-key_path"]


def test_a_token_file_inside_the_token_directory_signs_in_against_the_testbed(admin_client, session, settings,
                                                                             testbed):
    from poms_dd.testbed import tokens as testbed_tokens
    tokens = _token_dir(settings)
    jwt_file, rucio_file = tokens / "bob.jwt", tokens / "bob.rucio"
    jwt_file.write_text(testbed_tokens.mint(testbed.store, "bob") + "\n")
    r = requests.get(f"{testbed.rucio_url}/auth/userpass", timeout=5, headers={
        "X-Rucio-Username": "bob", "X-Rucio-Password": "bob", "X-Rucio-Account": "bob"})
    rucio_file.write_text(r.headers["X-Rucio-Auth-Token"] + "\n")
    for f in (jwt_file, rucio_file):
        f.chmod(0o600)
    fields = fields_for(testbed, username="bob", password="")
    for key, path in (("metacat", jwt_file), ("data_dispatcher", jwt_file), ("rucio", rucio_file)):
        fields.update({f"{key}-method": "token_file", f"{key}-token_file": str(path), f"{key}-secret": ""})
    response = post_form(admin_client, "/admin/experiments/new", fields)
    assert response.status_code == 302, body(response)
    token = csrf_token(admin_client, "/admin/experiments/hypot")
    rows = check_rows(body(admin_client.post("/admin/experiments/hypot/test-connection", data={"csrf_token": token})))
    assert len(rows) == 3 and all(">OK<" in r and ">bob<" in r for r in rows.values()), rows


def _checkbox_checked(html: str, name: str) -> bool:
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', html).group(0)
    return " checked" in tag


@pytest.mark.parametrize("action", ["test-connection", "refresh-tokens"])
def test_the_redrawn_form_after_a_test_or_refresh_shows_the_stored_checkboxes(admin_client, session, testbed, action):
    onboard(admin_client, testbed)                       # active and verify_tls ticked
    token = csrf_token(admin_client, "/admin/experiments/hypot")
    response = admin_client.post(f"/admin/experiments/hypot/{action}", data={"csrf_token": token})
    assert response.status_code == 200
    html = body(response)
    assert _checkbox_checked(html, "active") and _checkbox_checked(html, "verify_tls")
    assert "tls-warning" not in html
    assert f'value="{testbed.mc_url}"' in html
    # An inactive experiment without TLS verification is drawn as such, too.
    fields = dict(fields_for(testbed), name="", secret="")
    del fields["active"], fields["verify_tls"]
    assert post_form(admin_client, "/admin/experiments/hypot", fields).status_code == 302
    html = body(admin_client.post(f"/admin/experiments/hypot/{action}", data={"csrf_token": token}))
    assert not _checkbox_checked(html, "active") and not _checkbox_checked(html, "verify_tls")


def test_a_wrong_auth_url_path_says_the_url_is_wrong_not_the_password(admin_client, testbed):
    fields = fields_for(testbed)
    fields.update(metacat_auth_url=testbed.mc_url + "/no-such-auth", dd_auth_url=testbed.dd_url + "/no-such-auth")
    assert post_form(admin_client, "/admin/experiments/new", fields).status_code == 302
    token = csrf_token(admin_client, "/admin/experiments/hypot")
    rows = check_rows(body(admin_client.post("/admin/experiments/hypot/test-connection", data={"csrf_token": token})))
    for service in ("MetaCat", "Data Dispatcher"):
        assert ">FAIL<" in rows[service]
        assert "404" in rows[service] and "URL" in rows[service], rows[service]
        assert "check the service account and its password" not in rows[service], rows[service]


@pytest.mark.parametrize("field, value", [("default_worker_timeout", "10" * 15), ("default_idle_timeout", "1" * 5000),
                                          ("service_timeout", "99999999999")])
def test_numbers_beyond_the_database_range_are_field_messages_on_the_form(admin_client, session, testbed, field,
                                                                          value):
    fields = fields_for(testbed)
    fields[field] = value
    response = post_form(admin_client, "/admin/experiments/new", fields)
    assert response.status_code == 400
    page = body(response)
    assert "2147483647" in page or "Not a valid integer value" in page, page[:3000]
    assert session.scalar(select(Experiment).where(Experiment.name == "hypot")) is None
