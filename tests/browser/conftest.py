"""Browser journeys: the real app served on a free port in a thread, a committed database of its own (the
browser's requests run in other threads, so the rolled-back-transaction trick of the other tests does not
apply), and Debian's chromium driven by Playwright (never a downloaded browser).

Fixtures (``live_database_url`` / ``live_db``, a fresh committed database per test module, are in
tests/conftest.py): ``live_server`` → (base URL, app), ``browser``,
``page`` (a fresh browser context per test; on failure a screenshot is saved under the test's tmp_path and its
path printed) and ``sign_in`` (signs in through the real /login form).
"""
from __future__ import annotations

import os
import shutil
import threading

import pytest
from werkzeug.serving import make_server

from poms_dd import create_app
from poms_dd.settings import Settings

os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 15000


@pytest.fixture(scope="module")
def live_server(live_database_url, live_db, tmp_path_factory):
    """Yields (base URL, app) of the app running in a thread."""
    from cryptography.fernet import Fernet
    settings = Settings(database_url=live_database_url, secret_key="browser-secret",
                        encryption_key=Fernet.generate_key().decode(),
                        instance_path=str(tmp_path_factory.mktemp("instance")))
    app = create_app(settings, db=live_db)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", app
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser():
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("Debian's chromium is not installed: run `make test` (it installs it) or apt-get install chromium")
    from playwright.sync_api import expect, sync_playwright
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, "browser_report_" + report.when, report)


@pytest.fixture
def page(browser, request, tmp_path):
    context = browser.new_context(accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    yield pg
    report = getattr(request.node, "browser_report_call", None)
    if report is not None and report.failed:
        shot = tmp_path / "failure.png"
        try:
            pg.screenshot(path=str(shot), full_page=True)
            print(f"\nscreenshot of the failing page ({pg.url}): {shot}")
        except Exception as err:  # the page may be gone; the test's own failure is what matters
            print(f"\nno screenshot: {err}")
    context.close()


@pytest.fixture
def sign_in(live_server):
    """``sign_in(page, username, password, path="/login")``: fill and submit the real sign-in form (opening
    ``path`` first when the page is not already on it); waits until the browser has left /login."""
    base, _ = live_server

    def do(page, username: str, password: str, path: str | None = "/login"):
        if path is not None:
            page.goto(base + path)
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(lambda url: "/login" not in url)
    return do
