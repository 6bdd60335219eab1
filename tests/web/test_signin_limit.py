"""The sign-in rate limit, through the real /login form: per user name and per client address, HTTP 429 with
Retry-After and a message saying when to try again, lifted by waiting (the app's clock, set by the test),
shared by two app instances on one database (as several gunicorn workers are), and a colleague behind the same
address still signs in."""
from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import func, select

from poms_dd import create_app
from poms_dd.db import Database
from poms_dd.models import SignInFailure
from factories import csrf_token, login, make_user

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)


class Clock:
    def __init__(self):
        self.now = START

    def __call__(self):
        return self.now

    def advance(self, **delta):
        self.now += dt.timedelta(**delta)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def make_app(settings, engine, session_factory, clock):
    """``make_app(**settings)``: another app instance (another gunicorn worker) on the same database."""
    def make(**overrides):
        db = Database(engine=engine)
        db.sessionmaker = session_factory
        application = create_app(dataclasses.replace(settings, **overrides), db=db)
        application.config["TESTING"] = True
        application.extensions["poms_dd"].clock = clock
        return application
    return make


def _attempt(client, username, password, address="192.0.2.7", headers=None):
    token = csrf_token(client, "/login")
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token},
                       environ_base={"REMOTE_ADDR": address}, headers=headers or {})


def _assert_limited(response, minutes):
    assert response.status_code == 429
    assert response.headers["Retry-After"].isdigit()
    assert (minutes - 1) * 60 < int(response.headers["Retry-After"]) <= minutes * 60
    page = response.get_data(as_text=True)
    assert "Too many failed sign-ins" in page and f"Try again in {minutes} minute" in page
    assert 'role="alert"' in page


def test_wrong_passwords_for_one_user_are_limited_then_waiting_lifts_it(make_app, session, clock):
    make_user(session, "alice", "secret-pw")
    client = make_app().test_client()
    for _ in range(5):
        assert _attempt(client, "alice", "guess").status_code == 401
        clock.advance(seconds=1)
    _assert_limited(_attempt(client, "alice", "guess"), 15)
    limited = _attempt(client, "alice", "secret-pw")           # even the right password waits
    _assert_limited(limited, 15)
    assert client.get("/api/whoami").status_code == 401
    clock.advance(minutes=15)
    assert _attempt(client, "alice", "secret-pw").status_code == 302
    assert client.get("/api/whoami").json["username"] == "alice"


def test_limit_per_user_name_counts_every_address(make_app, session, clock):
    make_user(session, "alice", "secret-pw")
    client = make_app().test_client()
    for i in range(5):
        assert _attempt(client, "alice", "guess", address=f"198.51.100.{i}").status_code == 401
    _assert_limited(_attempt(client, "alice", "guess", address="198.51.100.99"), 15)


def test_another_user_from_the_same_address_still_signs_in(make_app, session, clock):
    make_user(session, "alice", "secret-pw")
    make_user(session, "bob", "bob-secret")
    app = make_app()
    attacker = app.test_client()
    for _ in range(6):
        _attempt(attacker, "alice", "guess")
    assert _attempt(attacker, "alice", "guess").status_code == 429
    colleague = app.test_client()
    assert _attempt(colleague, "bob", "bob-secret").status_code == 302
    assert colleague.get("/api/whoami").json["username"] == "bob"


def test_limit_per_address_spares_users_who_signed_in_from_their_browser_before(make_app, session, clock):
    """One attacker sprays names from a shared address beyond its limit: new names from there wait, a colleague
    whose browser signed in before (the known-device cookie) still signs in, and so does anyone elsewhere."""
    make_user(session, "bob", "bob-secret")
    make_user(session, "carol", "carol-secret")
    app = make_app(signin_max_failures_per_address=8)
    colleague = app.test_client()
    assert _attempt(colleague, "bob", "bob-secret").status_code == 302
    colleague.post("/logout", data={"csrf_token": csrf_token(colleague, "/")})
    attacker = app.test_client()
    for i in range(8):
        assert _attempt(attacker, f"user{i}", "guess").status_code == 401
    response = _attempt(attacker, "user99", "guess")
    assert response.status_code == 429 and "from your network address" in response.get_data(as_text=True)
    assert _attempt(app.test_client(), "carol", "carol-secret").status_code == 429     # unknown browser
    assert _attempt(colleague, "bob", "bob-secret").status_code == 302                 # known browser
    assert _attempt(app.test_client(), "carol", "carol-secret", address="203.0.113.5").status_code == 302
    forged = app.test_client()
    forged.set_cookie("poms_dd_device", "bob-forged.value", path="/login")
    assert _attempt(forged, "bob", "bob-secret").status_code == 429


def test_limit_is_shared_by_two_app_instances_on_one_database(make_app, session, clock):
    make_user(session, "alice", "secret-pw")
    one, two = make_app().test_client(), make_app().test_client()
    for client in (one, two, one, two, one):
        assert _attempt(client, "alice", "guess").status_code == 401
    _assert_limited(_attempt(two, "alice", "secret-pw"), 15)
    _assert_limited(_attempt(one, "alice", "secret-pw"), 15)


def test_client_address_comes_from_the_proxy_header_only_when_configured(make_app, session, clock):
    make_user(session, "bob", "bob-secret")
    plain = make_app(signin_max_failures_per_address=3).test_client()
    for i in range(3):          # the header is ignored: every attempt is from the proxy's address
        _attempt(plain, f"user{i}", "guess", headers={"X-Forwarded-For": f"203.0.113.{i}"})
    assert _attempt(plain, "user9", "guess", headers={"X-Forwarded-For": "203.0.113.50"}).status_code == 429
    session.execute(SignInFailure.__table__.delete())
    proxied = make_app(signin_max_failures_per_address=3, client_address_header="X-Forwarded-For").test_client()
    for i in range(3):          # the proxy appends the real client (the last entry); what the client sent is not used
        _attempt(proxied, f"user{i}", "guess", headers={"X-Forwarded-For": f"10.9.9.{i}, 203.0.113.7"})
    assert _attempt(proxied, "user9", "guess", headers={"X-Forwarded-For": "203.0.113.50"}).status_code == 401
    assert _attempt(proxied, "user9", "guess",
                    headers={"X-Forwarded-For": "203.0.113.50, 203.0.113.7"}).status_code == 429


def test_old_failures_are_pruned_and_success_clears_the_users_count(make_app, session, clock):
    make_user(session, "alice", "secret-pw")
    client = make_app().test_client()
    for _ in range(4):
        _attempt(client, "alice", "guess")
    assert _attempt(client, "alice", "secret-pw").status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    for _ in range(4):                        # four more do not reach the limit: the count started again
        assert _attempt(client, "alice", "guess").status_code == 401
    clock.advance(minutes=16)
    _attempt(client, "nobody", "guess")
    remaining = session.scalars(select(SignInFailure.username)).all()
    assert remaining == ["nobody"]
    assert session.scalar(select(func.count()).select_from(SignInFailure)) == 1
