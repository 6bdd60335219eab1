"""Browser sessions end on the server: a saved session cookie replayed after sign-out, a password change,
disabling the account, the idle time or the maximum length is refused (pages → /login, /api → 401 JSON), and
cannot mint API tokens.  Header mode and bearer tokens are unaffected (except disabled users).  The app's clock
is set by the test, nobody sleeps."""
from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest
from sqlalchemy import select

from poms_dd import create_app
from poms_dd.db import Database
from poms_dd.models import ApiToken
from poms_dd.permissions import Actor
from poms_dd.services.accounts.users import UserService
from factories import csrf_token, login, make_user

CLI = Actor.system_actor("cli:test")
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)


class Clock:
    def __init__(self, now: dt.datetime = START):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture
def clock(app):
    c = Clock()
    app.extensions["poms_dd"].clock = c
    return c


def _signed_in(app, session, username="alice"):
    """A user signed in through the form; returns (client, saved session cookie value, CSRF token of /account)."""
    make_user(session, username, "secret-pw")
    client = app.test_client()
    assert login(client, username, "secret-pw").status_code == 302
    token = csrf_token(client, "/account")
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    return client, cookie, token


def _replay(app, cookie):
    """A second browser (an attacker, or a stale tab) that only has the saved session cookie."""
    other = app.test_client()
    other.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie)
    return other


def _assert_refused(app, cookie, token, session, reason):
    stale = _replay(app, cookie)
    page = stale.get("/account")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login?next=/account")
    api = _replay(app, cookie).get("/api/whoami")
    assert api.status_code == 401 and api.is_json
    assert reason in api.json["message"] and "Bearer" in api.json["message"]
    minted = _replay(app, cookie).post("/account/tokens", data={"name": "stolen", "csrf_token": token})
    assert minted.status_code == 302 and minted.headers["Location"].startswith("/login")
    assert session.scalars(select(ApiToken).where(ApiToken.name == "stolen")).all() == []
    login_page = stale.get("/login").get_data(as_text=True)      # the person is told why
    assert reason in login_page


def test_saved_cookie_works_before_logout(app, session, clock):
    """The control: the replayed cookie is a working session until something ends it."""
    _, cookie, token = _signed_in(app, session)
    assert _replay(app, cookie).get("/account").status_code == 200
    assert _replay(app, cookie).get("/api/whoami").json["username"] == "alice"


def test_cookie_replayed_after_logout_is_refused(app, session, clock):
    client, cookie, token = _signed_in(app, session)
    page = client.get("/").get_data(as_text=True)
    logout_token = re.search(r'action="/logout">\s*<input type="hidden" name="csrf_token" value="([^"]+)"',
                             page).group(1)
    assert client.post("/logout", data={"csrf_token": logout_token}).status_code == 302
    _assert_refused(app, cookie, token, session, "Your session has ended")


def test_logout_ends_the_other_browsers_sessions_too(app, session, clock):
    client, cookie, _ = _signed_in(app, session)
    second = app.test_client()
    assert login(second, "alice", "secret-pw").status_code == 302
    token = csrf_token(second, "/")
    second.post("/logout", data={"csrf_token": token})
    assert client.get("/api/whoami").status_code == 401


def test_cookie_replayed_after_password_change_is_refused(app, session, clock):
    _, cookie, token = _signed_in(app, session)
    UserService(session, CLI).set_password(UserService(session, CLI).get_user("alice"), "another-pw")
    _assert_refused(app, cookie, token, session, "Your session has ended")
    fresh = app.test_client()
    assert login(fresh, "alice", "another-pw").status_code == 302
    assert fresh.get("/account").status_code == 200


def test_cookie_replayed_after_disabling_the_user_is_refused(app, session, clock):
    _, cookie, token = _signed_in(app, session)
    users = UserService(session, CLI)
    users.set_active(users.get_user("alice"), False)
    _assert_refused(app, cookie, token, session, "disabled")
    users.set_active(users.get_user("alice"), True)          # enabled again: the old session stays ended
    _assert_refused(app, cookie, token, session, "Your session has ended")


def test_disabled_account_is_refused_even_without_a_generation_change(app, session, clock):
    """Disabled straight in the database (no service call): the session still stops working."""
    _, cookie, token = _signed_in(app, session)
    UserService(session, CLI).get_user("alice").active = False
    session.flush()
    _assert_refused(app, cookie, token, session, "disabled")


def test_idle_session_expires(app, session, clock):
    client, cookie, token = _signed_in(app, session)
    clock.advance(minutes=479)
    assert client.get("/account").status_code == 200          # activity refreshes the last-seen time
    clock.advance(minutes=479)
    assert client.get("/account").status_code == 200
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    clock.advance(minutes=481)
    _assert_refused(app, cookie, token, session, "inactivity")


def test_idle_time_is_a_setting(settings, engine, session_factory, session):
    db = Database(engine=engine)
    db.sessionmaker = session_factory
    app = create_app(dataclasses.replace(settings, session_idle_minutes=5), db=db)
    app.config["TESTING"] = True
    clock = Clock()
    app.extensions["poms_dd"].clock = clock
    client, cookie, token = _signed_in(app, session)
    clock.advance(minutes=4)
    assert _replay(app, cookie).get("/api/whoami").status_code == 200
    clock.advance(minutes=2)
    _assert_refused(app, cookie, token, session, "inactivity")


def test_session_has_a_maximum_length_even_when_active(app, session, clock):
    client, _, token = _signed_in(app, session)
    for _ in range(6):                                       # active every 4 hours: never idle
        clock.advance(hours=4)
        assert client.get("/account").status_code == 200
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    clock.advance(hours=1)                                   # 25 h after sign-in
    _assert_refused(app, cookie, token, session, "maximum length")


def test_bearer_token_and_header_mode_do_not_depend_on_sessions(app, settings, engine, session_factory, session,
                                                                clock):
    user = make_user(session, "carol", "secret-pw")
    _, plaintext = UserService(session, CLI).create_token(user, "script")
    UserService(session, CLI).set_password(user, "changed-pw")        # bumps the session generation
    clock.advance(days=3)
    script = app.test_client(use_cookies=False)
    assert script.get("/api/whoami", headers={"Authorization": f"Bearer {plaintext}"}).status_code == 200
    db = Database(engine=engine)
    db.sessionmaker = session_factory
    header_app = create_app(dataclasses.replace(settings, auth_mode="header"), db=db)
    header_app.config["TESTING"] = True
    sso = header_app.test_client()
    assert sso.get("/api/whoami", headers={"X-Remote-User": "carol"}).json["username"] == "carol"
    UserService(session, CLI).set_active(user, False)
    assert sso.get("/api/whoami", headers={"X-Remote-User": "carol"}).status_code == 403
    assert script.get("/api/whoami", headers={"Authorization": f"Bearer {plaintext}"}).status_code == 401


def test_only_administrators_disable_accounts(session):
    from poms_dd.errors import PermissionDenied
    alice = make_user(session, "alice")
    bob = make_user(session, "bob")
    with pytest.raises(PermissionDenied):
        UserService(session, Actor.person(alice)).set_active(bob, False)
    assert bob.active
