"""Security headers on every kind of response (a page, /api, an error page, a static file), HSTS and Secure
cookies only when the deployment is HTTPS, and no inline script or style in the templates (the CSP allows
our own files only)."""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from poms_dd import create_app
from poms_dd.db import Database
from factories import login, make_user

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def _csp(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {part.split()[0]: " ".join(part.split()[1:]) for part in policy.split(";") if part.strip()}


def _assert_secure_headers(response):
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    csp = _csp(response)
    assert csp["default-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'" and csp["object-src"] == "'none'"
    assert csp["form-action"] == "'self'" and csp["base-uri"] == "'self'"
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert "Strict-Transport-Security" not in response.headers      # plain HTTP deployment


@pytest.fixture
def https_app(settings, engine, session_factory):
    db = Database(engine=engine)
    db.sessionmaker = session_factory
    application = create_app(dataclasses.replace(settings, https=True), db=db)
    application.config["TESTING"] = True
    return application


def test_headers_on_pages_api_errors_and_static_files(app, client, session):
    make_user(session, "alice", "secret-pw")
    _assert_secure_headers(client.get("/login"))
    _assert_secure_headers(client.get("/api/whoami"))                       # 401 JSON
    _assert_secure_headers(client.get("/no/such/page"))                     # 404 page
    _assert_secure_headers(client.get("/static/poms_dd.css"))
    login(client, "alice", "secret-pw")
    _assert_secure_headers(client.get("/"))
    _assert_secure_headers(client.get("/api/whoami"))                       # 200 JSON
    response = client.get("/experiments/nope")
    assert response.status_code == 404 and response.mimetype == "text/html"
    _assert_secure_headers(response)


def test_headers_on_an_unexpected_server_error(app, client):
    app.config["TESTING"] = False
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.route("/_boom")
    def _boom():
        raise RuntimeError("boom")

    response = client.get("/_boom")
    assert response.status_code == 500
    _assert_secure_headers(response)


def test_cookies_are_not_secure_on_plain_http(app, client, session):
    make_user(session, "alice", "secret-pw")
    response = login(client, "alice", "secret-pw")
    cookies = response.headers.getlist("Set-Cookie")
    assert cookies and not any("Secure" in c for c in cookies)


def test_https_deployment_gets_secure_cookies_and_hsts(https_app, session):
    make_user(session, "alice", "secret-pw")
    client = https_app.test_client()
    response = login(client, "alice", "secret-pw")
    assert response.status_code == 302
    cookies = response.headers.getlist("Set-Cookie")
    assert {c.split("=")[0] for c in cookies} >= {"session", "poms_dd_device"}
    assert all("Secure" in c and "HttpOnly" in c for c in cookies), cookies
    direct = client.get("/login", base_url="https://poms.example/")
    assert direct.headers["Strict-Transport-Security"].startswith("max-age=")
    proxied = https_app.test_client()        # http from the TLS proxy, which says the client used https
    page = proxied.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert page.headers["Strict-Transport-Security"].startswith("max-age=")
    assert page.status_code == 200            # never redirected to https by poms_dd itself
    assert proxied.get("/login").status_code == 200


def test_templates_have_no_inline_script_or_style():
    """What the CSP (script-src/style-src 'self') would block: inline <script>, on* handlers, style=."""
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        for pattern in (r"<script(?![^>]*\bsrc=)[^>]*>", r"\son[a-z]+\s*=", r"\sstyle\s*=", r"<style\b",
                        r"javascript:"):
            offenders += [f"{path.name}: {m.group(0)}" for m in re.finditer(pattern, text, re.IGNORECASE)]
    assert offenders == []
