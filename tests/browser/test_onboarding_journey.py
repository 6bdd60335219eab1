"""Onboarding journey in a real browser: a superuser onboards an experiment against the local testbed, tests the
connections (all OK, then one Data Dispatcher fault), never sees the password again, and adds a member."""
from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect

from sqlalchemy import select

from factories import make_user
from poms_dd.models import AuditEvent, Experiment
from poms_dd.permissions import Actor
from poms_dd.testbed.store import Account

ACCOUNT = "pomsbrowser"
PASSWORD = "Browser-Canary-Pw-93xQ"
VERSIONS = {"MetaCat": "4.1.4", "Data Dispatcher": "2.0.3", "Rucio": "41.5.1"}


@pytest.fixture(scope="module")
def people(live_db):
    with live_db.session() as s:
        make_user(s, "boss", "boss-pw", superuser=True)
        make_user(s, "bob", "bob-pw")
        s.commit()


@pytest.fixture
def service_account(testbed):
    """A service account with a distinctive password, and no fault left behind for other tests."""
    with testbed.store.lock:
        testbed.store.accounts[ACCOUNT] = Account(ACCOUNT, PASSWORD, admin=True, roles=["hypot/production"])
    yield testbed
    requests.delete(f"{testbed.url}/_testbed/fault", timeout=10)


def check_row(page, service):
    return page.locator(f'#connection-test tr.check[data-service="{service}"]')


def test_superuser_onboards_tests_connections_and_adds_a_member(live_server, page, sign_in, people,
                                                                 service_account):
    tb = service_account
    base, _ = live_server
    html_seen: list[str] = []
    sign_in(page, "boss", "boss-pw")
    page.get_by_role("link", name="Admin", exact=True).click()
    expect(page.get_by_role("heading", name="Admin", exact=True)).to_be_visible()
    page.get_by_role("link", name="Onboard a new experiment").click()
    expect(page.get_by_role("heading", name="Onboard an experiment")).to_be_visible()

    page.get_by_label("Experiment name").fill("hypot")
    page.get_by_label("Default namespace").fill("hypot")
    page.get_by_label("Shared MetaCat/DD role (group)").fill("hypot/production")
    for label, value in (("MetaCat server URL", tb.mc_url), ("MetaCat auth URL", tb.mc_url + "/auth"),
                         ("Data Dispatcher server URL", tb.dd_url), ("Data Dispatcher auth URL", tb.dd_url + "/auth"),
                         ("Rucio host", tb.rucio_url), ("Rucio account", ACCOUNT)):
        page.get_by_label(label, exact=True).fill(value)
    tls = page.get_by_role("group", name="TLS and timeouts")
    expect(tls.get_by_label("Verify server certificates")).to_be_checked()      # on unless an admin unticks it
    expect(tls.get_by_label("CA bundle or directory")).to_have_value("")
    for key in ("metacat", "data_dispatcher", "rucio"):
        creds = page.locator(f"#credential-{key}")
        expect(creds.get_by_label("Authentication method")).to_have_value("password")
        creds.get_by_label("Service account").fill(ACCOUNT)

    def type_passwords():
        for key in ("metacat", "data_dispatcher", "rucio"):
            page.locator(f"#credential-{key}").get_by_label("Password or pasted token").fill(PASSWORD)

    # A mistyped URL: a message next to that field; the form comes back without the password in it.
    mc_url = page.get_by_label("MetaCat server URL", exact=True)
    mc_url.fill("ftp://" + tb.mc_url.split("://", 1)[1])
    type_passwords()
    page.get_by_role("button", name="Onboard").click()
    expect(page.locator(".form-field", has=mc_url).locator(".field-error")).to_contain_text("http")
    expect(page.get_by_label("Data Dispatcher server URL", exact=True)).to_have_value(tb.dd_url)
    html_seen.append(page.content())
    mc_url.fill(tb.mc_url)
    type_passwords()
    page.get_by_role("button", name="Onboard").click()

    expect(page).to_have_url(f"{base}/admin/experiments/hypot")
    expect(page.get_by_text("Experiment hypot onboarded.")).to_be_visible()
    expect(page.locator(".tls-warning")).to_have_count(0)
    for key in ("metacat", "data_dispatcher", "rucio"):
        expect(page.locator(f"#credential-{key}").get_by_label("Password or pasted token")).to_have_value("")
    html_seen.append(page.content())

    page.get_by_role("button", name="Test connection").click()
    for service, version in VERSIONS.items():
        row = check_row(page, service)
        expect(row).to_contain_text("OK")
        expect(row).to_contain_text(version)
        expect(row.locator("td").nth(4)).to_have_text(ACCOUNT)            # "Signed in as"
        expect(row.locator(".error-message")).to_have_count(0)
    expect(check_row(page, "Data Dispatcher")).to_contain_text(tb.dd_url)
    html_seen.append(page.content())

    r = requests.post(f"{tb.url}/_testbed/fault", params={"service": "dd", "status": 500}, timeout=10)
    assert r.status_code == 200
    page.get_by_role("button", name="Test connection").click()
    dd = check_row(page, "Data Dispatcher")
    expect(dd).to_have_class("check check-fail")
    expect(dd.locator("td").nth(1)).to_have_text("FAIL")
    expect(dd.locator(".error-message")).to_contain_text("injected fault: HTTP 500")
    for service in ("MetaCat", "Rucio"):
        expect(check_row(page, service).locator("td").nth(1)).to_have_text("OK")
    html_seen.append(page.content())

    assert requests.delete(f"{tb.url}/_testbed/fault", timeout=10).status_code == 200
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator("#connection-test tr.check-ok")).to_have_count(3)

    # Members: from the admin list to the experiment's members page.
    page.get_by_role("link", name="← Admin").click()
    page.locator("tr", has_text="hypot").get_by_role("link", name="members").click()
    expect(page.get_by_role("heading", name="Members of hypot")).to_be_visible()
    expect(page.get_by_text("No members yet.")).to_be_visible()
    page.get_by_label("Username").fill("bob")
    page.get_by_label("Role", exact=True).select_option("production")
    page.get_by_role("button", name="Add member").click()
    expect(page.get_by_text("bob added as production.")).to_be_visible()
    member = page.locator("table.members tbody tr", has_text="bob")
    expect(member.locator("td").nth(2)).to_have_text("production")
    html_seen.append(page.content())

    # An unknown user gets a message next to the field.
    page.goto(f"{base}/admin/experiments/hypot/members")
    page.get_by_label("Username").fill("nobody_here")
    page.get_by_role("button", name="Add member").click()
    expect(page.locator(".form-field.has-error .field-error")).to_be_visible()
    expect(page.locator("table.members tbody tr")).to_have_count(1)

    for html in html_seen:
        assert PASSWORD not in html


def _onboard_directly(app, live_db, tb, name):
    """An active experiment with TLS verification on, onboarded as a script would (the state under test)."""
    with live_db.session() as s:
        services = app.extensions["poms_dd"].services(s, Actor.system_actor("cli:test"))
        services.onboarding.create({
            "name": name, "metacat_url": tb.mc_url, "metacat_auth_url": tb.mc_url + "/auth", "dd_url": tb.dd_url,
            "dd_auth_url": tb.dd_url + "/auth", "rucio_host": tb.rucio_url, "rucio_account": ACCOUNT,
            "default_namespace": "hypot", "active": True, "verify_tls": True,
            "credentials": {k: {"method": "password", "username": ACCOUNT, "secret": PASSWORD}
                            for k in ("metacat", "data_dispatcher", "rucio")}})


def test_save_after_test_connection_changes_nothing_and_long_errors_wrap(live_server, page, sign_in, people,
                                                                        live_db, service_account):
    tb = service_account
    base, app = live_server
    _onboard_directly(app, live_db, tb, "keepexp")
    sign_in(page, "boss", "boss-pw", path="/login?next=/admin/experiments/keepexp")
    page.goto(f"{base}/admin/experiments/keepexp")
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator("#connection-test tr.check-ok")).to_have_count(3)
    expect(page.get_by_label("Active", exact=True)).to_be_checked()
    expect(page.get_by_label("Verify server certificates")).to_be_checked()
    expect(page.locator(".tls-warning")).to_have_count(0)
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Settings saved.")).to_be_visible()
    with live_db.session() as s:
        exp = s.scalar(select(Experiment).where(Experiment.name == "keepexp"))
        assert exp.active is True and exp.verify_tls is True
        changes = [(e.before or {}) | (e.after or {}) for e in s.scalars(
            select(AuditEvent).where(AuditEvent.experiment_id == exp.id, AuditEvent.action == "experiment.update"))]
        assert not any("active" in c or "verify_tls" in c for c in changes), changes

    # A long error (one unbroken word and a long sentence) wraps inside the page instead of widening it.
    message = "x" * 400 + " " + "the server explains at length what went wrong " * 20
    r = requests.post(f"{tb.url}/_testbed/fault", params={"service": "dd", "status": 500, "message": message},
                      timeout=10)
    assert r.status_code == 200
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("button", name="Test connection").click()
    expect(check_row(page, "Data Dispatcher").locator(".error-message")).to_contain_text("x" * 50)
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], widths
