"""The Content-Security-Policy in a real browser: the sign-in page, a campaign page and the campaign form load
their CSS and JS with no CSP violation in the console, while an injected inline script is refused (so the
policy is really enforced and the console check can see a violation)."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from factories import make_campaign, make_experiment, make_user

CSP_WORDS = "Content Security Policy"


@pytest.fixture(scope="module")
def campaign(live_db):
    with live_db.session() as s:
        exp = make_experiment(s, "hypot", description="Hypothetical neutrino experiment")
        make_user(s, "alice", "alice-pw", roles={exp: "analysis"})
        camp = make_campaign(s, exp, "reco2026")
        s.commit()
        return camp.id


@pytest.fixture
def console(page):
    """Every console message and page error of the test's page, as text."""
    messages: list[str] = []
    page.on("console", lambda msg: messages.append(f"{msg.type}: {msg.text}"))
    page.on("pageerror", lambda err: messages.append(f"pageerror: {err}"))
    return messages


def _violations(console):
    return [m for m in console if CSP_WORDS in m]


def _assert_styled(page):
    """poms_dd.css applied: the site header has its dark blue background."""
    expect(page.locator(".site-header")).to_have_css("background-color", "rgb(24, 50, 79)")


def test_login_page_renders_under_the_csp(live_server, page, console, campaign):
    base, _ = live_server
    response = page.goto(base + "/login")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    _assert_styled(page)
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert _violations(console) == []


def test_campaign_pages_render_and_run_their_script_under_the_csp(live_server, page, console, sign_in,
                                                                  campaign):
    base, _ = live_server
    sign_in(page, "alice", "alice-pw")
    response = page.goto(f"{base}/experiments/hypot/campaigns/{campaign}")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    expect(page.get_by_role("heading", name="reco2026")).to_be_visible()
    _assert_styled(page)
    page.goto(f"{base}/experiments/hypot/campaigns/new")
    _assert_styled(page)
    service = page.get_by_label("Data handling service")
    service.select_option("sam")                                   # campaign_form.js runs
    expect(page.get_by_label("DD worker timeout (s)")).to_be_hidden()
    assert _violations(console) == []


def test_an_inline_script_is_refused(live_server, page, console, campaign):
    base, _ = live_server
    page.goto(base + "/login")
    page.evaluate("""() => { const s = document.createElement('script');
                             s.textContent = 'window.inlineRan = true'; document.body.appendChild(s); }""")
    expect(page.locator("body")).to_be_visible()
    page.wait_for_timeout(200)
    assert page.evaluate("() => window.inlineRan === true") is False
    assert _violations(console), console
