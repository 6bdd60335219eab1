"""Sign-in, header mode, API tokens, CSRF and the page chrome, driven through HTTP as a person or script would."""
from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest
from sqlalchemy import select

from poms_dd import create_app
from poms_dd.db import Database
from poms_dd.models import ApiToken, AuditEvent, User
from poms_dd.permissions import Actor
from poms_dd.services.accounts.users import UserService
from factories import csrf_token, login, make_experiment, make_user

CLI = Actor.system_actor("cli:test")


def _token(session, user, name="script", expires_days=None):
    _, plaintext = UserService(session, CLI).create_token(user, name, expires_days)
    return plaintext


def _bearer(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def header_app(settings, engine, session_factory):
    db = Database(engine=engine)
    db.sessionmaker = session_factory
    application = create_app(dataclasses.replace(settings, auth_mode="header", trusted_header="X-Remote-User"), db=db)
    application.config["TESTING"] = True
    return application


# --- local password sign-in --------------------------------------------------------------------------------

def test_login_ok_redirects_home_and_shows_my_experiments(client, session):
    exp = make_experiment(session, "hypot", description="Hypothetical experiment")
    make_user(session, "alice", "secret-pw", roles={exp: "production"})
    response = login(client, "alice", "secret-pw")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert 'href="/experiments/hypot"' in page
    assert "production" in page
    assert "Alice" in page


@pytest.mark.parametrize("username,password", [("alice", "wrong"), ("nobody", "secret-pw")])
def test_bad_login_gives_one_generic_message(client, session, username, password):
    make_user(session, "alice", "secret-pw")
    response = login(client, username, password)
    assert response.status_code == 401
    page = response.get_data(as_text=True)
    assert "Unknown user or wrong password." in page
    assert client.get("/").status_code == 302          # still anonymous


def test_anonymous_html_redirects_to_login_with_next(client):
    response = client.get("/account?tab=tokens")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/account?tab%3Dtokens"


def test_login_follows_safe_next(client, session):
    make_user(session, "alice", "secret-pw")
    token = csrf_token(client, "/login?next=/account")
    page = client.get("/login?next=/account").get_data(as_text=True)
    assert 'name="next" type="hidden" value="/account"' in page
    response = client.post("/login", data={"username": "alice", "password": "secret-pw", "next": "/account",
                                           "csrf_token": token})
    assert response.headers["Location"] == "/account"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example",
                                    "javascript:alert(1)", "evil.example"])
def test_login_ignores_offsite_next(client, session, target):
    make_user(session, "alice", "secret-pw")
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"username": "alice", "password": "secret-pw", "next": target,
                                           "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_login_post_without_csrf_is_rejected(client, session):
    make_user(session, "alice", "secret-pw")
    client.get("/login")                                   # the session cookie exists
    response = client.post("/login", data={"username": "alice", "password": "secret-pw"})
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_logout_needs_post_and_csrf(client, session):
    make_user(session, "alice", "secret-pw")
    login(client, "alice", "secret-pw")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400       # no CSRF token
    assert client.get("/").status_code == 200              # still signed in
    page = client.get("/").get_data(as_text=True)
    token = re.search(r'action="/logout">\s*<input type="hidden" name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_session_is_replaced_at_login(client, session):
    """Session fixation: data from before sign-in (here the pre-login CSRF token) does not survive."""
    make_user(session, "alice", "secret-pw")
    token = csrf_token(client, "/login")
    client.post("/login", data={"username": "alice", "password": "secret-pw", "csrf_token": token})
    with client.session_transaction() as sess:
        assert sess.get("csrf_token") is None
        assert sess["_user_id"]


def test_user_text_is_escaped_on_pages(client, session):
    exp = make_experiment(session, "hypot", description="<b>bold</b>")
    user = make_user(session, "mallory", "secret-pw", roles={exp: "analysis"})
    user.full_name = "<script>alert(1)</script>"
    session.flush()
    login(client, "mallory", "secret-pw")
    page = client.get("/").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page


def test_header_is_ignored_in_local_mode(client, session):
    make_user(session, "alice", "secret-pw")
    response = client.get("/api/whoami", headers={"X-Remote-User": "alice"})
    assert response.status_code == 401
    assert client.get("/", headers={"X-Remote-User": "alice"}).status_code == 302


def test_stylesheet_is_served(client):
    response = client.get("/static/poms_dd.css")
    assert response.status_code == 200
    assert ".state-done" in response.get_data(as_text=True)


# --- header (SSO proxy) mode ------------------------------------------------------------------------------

def test_header_mode_signs_in_known_user(header_app, session):
    exp = make_experiment(session, "hypot")
    make_user(session, "bob", None, roles={exp: "analysis"})
    client = header_app.test_client()
    response = client.get("/api/whoami", headers={"X-Remote-User": "bob"})
    assert response.status_code == 200
    assert response.json["username"] == "bob"
    assert response.json["authenticated_via"] == "header"
    assert response.json["experiments"] == [{"name": "hypot", "role": "analysis"}]
    assert client.get("/", headers={"X-Remote-User": "bob"}).status_code == 200


def test_header_mode_refuses_unknown_user_without_creating_it(header_app, session):
    client = header_app.test_client()
    response = client.get("/", headers={"X-Remote-User": "stranger"})
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert "no active account" in page and "administrator" in page
    assert client.get("/api/whoami", headers={"X-Remote-User": "stranger"}).status_code == 403
    with pytest.raises(Exception):
        UserService(session, CLI).get_user("stranger")


def test_header_mode_has_no_password_login(header_app, session):
    make_user(session, "alice", "secret-pw")
    client = header_app.test_client()
    assert "single sign-on" in client.get("/login").get_data(as_text=True)
    assert client.get("/").status_code == 302              # no header: anonymous
    response = client.post("/login", data={"username": "alice", "password": "secret-pw"})
    assert response.status_code in (400, 403)
    assert client.get("/api/whoami").status_code == 401


# --- API tokens ---------------------------------------------------------------------------------------------

def test_token_authenticates_whoami_and_records_last_use(client, session):
    exp = make_experiment(session, "hypot")
    user = make_user(session, "carol", roles={exp: "production"})
    token = _token(session, user)
    response = client.get("/api/whoami", headers=_bearer(token))
    assert response.status_code == 200
    assert response.json == {"username": "carol", "full_name": "Carol", "is_superuser": False,
                             "authenticated_via": "token",
                             "experiments": [{"name": "hypot", "role": "production"}]}
    assert "Set-Cookie" not in response.headers
    row = session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).one()
    session.refresh(row)
    assert row.last_used_at is not None
    assert row.token_hash != token and token not in row.token_hash


def test_anonymous_api_gets_401_json(client):
    response = client.get("/api/whoami")
    assert response.status_code == 401
    assert "Bearer" in response.json["message"]


def test_anonymous_api_post_gets_401_before_the_csrf_check(app, session):
    """No token, no signed-in session: "sign in" (401 JSON), not "CSRF token missing" (400)."""
    make_experiment(session, "hypot")
    script = app.test_client(use_cookies=False)
    for method, path in (("post", "/api/experiments/hypot/campaigns"), ("patch", "/api/experiments/hypot/campaigns/1"),
                         ("delete", "/api/experiments/hypot/campaigns/1/stages/1"), ("post", "/api/nowhere")):
        response = getattr(script, method)(path, json={"name": "x"})
        assert response.status_code == 401, (method, path, response.get_data(as_text=True))
        assert response.json["error"] == "NotAuthenticated" and "Bearer <token>" in response.json["message"]
    browser = app.test_client()           # anonymous but with a session cookie (the login page's CSRF token)
    csrf_token(browser, "/login")
    response = browser.post("/api/experiments/hypot/campaigns", json={"name": "x"})
    assert response.status_code == 401 and "sign in at /login" in response.json["message"]
    assert response.headers["Content-Type"].startswith("application/json")


def test_signed_in_cookie_session_api_post_still_needs_csrf(app, client, session):
    make_experiment(session, "hypot")
    make_user(session, "carol", "secret-pw")
    login(client, "carol", "secret-pw")
    response = client.post("/api/experiments/hypot/campaigns", json={"name": "x"})
    assert response.status_code == 400 and "CSRF" in response.json["error"]


def test_unknown_revoked_and_expired_tokens_get_401(client, session):
    user = make_user(session, "carol")
    assert client.get("/api/whoami", headers=_bearer("pdd_nonsense")).json["message"].startswith("Unknown API token")
    revoked = _token(session, user, "old")
    row = session.scalars(select(ApiToken).where(ApiToken.name == "old")).one()
    UserService(session, CLI).revoke_token(row.id)
    response = client.get("/api/whoami", headers=_bearer(revoked))
    assert response.status_code == 401
    assert "was revoked" in response.json["message"]
    expired = _token(session, user, "short", expires_days=1)
    row = session.scalars(select(ApiToken).where(ApiToken.name == "short")).one()
    row.expires_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)
    session.flush()
    response = client.get("/api/whoami", headers=_bearer(expired))
    assert response.status_code == 401
    assert "expired" in response.json["message"]


def test_token_works_in_header_mode(header_app, session):
    user = make_user(session, "carol", None)
    token = _token(session, user)
    response = header_app.test_client().get("/api/whoami", headers=_bearer(token))
    assert response.status_code == 200 and response.json["username"] == "carol"


def test_bearer_post_to_api_needs_no_csrf_but_cookie_post_does(app, client, session):
    """A script with a token and no cookie is CSRF-exempt; a browser session is not."""
    @app.route("/api/_echo", methods=["POST"])
    def _echo():
        from poms_dd.web.request import current_user
        return {"user": current_user().username}

    user = make_user(session, "carol", "secret-pw")
    token = _token(session, user)
    script = app.test_client(use_cookies=False)
    response = script.post("/api/_echo", headers=_bearer(token), json={})
    assert response.status_code == 200 and response.json == {"user": "carol"}
    login(client, "carol", "secret-pw")
    response = client.post("/api/_echo", json={})
    assert response.status_code == 400
    assert "CSRF" in response.json["error"]


# --- account page: tokens shown once, revoke ----------------------------------------------------------------

def test_account_creates_token_once_and_revokes_it(client, session):
    exp = make_experiment(session, "hypot")
    make_user(session, "alice", "secret-pw", roles={exp: "analysis"})
    login(client, "alice", "secret-pw")
    token = csrf_token(client, "/account")
    response = client.post("/account/tokens", data={"name": "nightly", "expires_days": "30", "csrf_token": token})
    assert response.status_code == 201
    page = response.get_data(as_text=True)
    plaintext = re.search(r"(pdd_[A-Za-z0-9_\-]+)", page).group(1)
    assert client.get("/api/whoami", headers=_bearer(plaintext)).status_code == 200
    assert plaintext not in client.get("/account").get_data(as_text=True)     # shown once
    row = session.scalars(select(ApiToken).where(ApiToken.name == "nightly")).one()
    token = csrf_token(client, "/account")
    assert client.post(f"/account/tokens/{row.id}/revoke", data={"csrf_token": token}).status_code == 302
    assert client.get("/api/whoami", headers=_bearer(plaintext)).status_code == 401
    actions = session.scalars(select(AuditEvent.action).where(AuditEvent.object_id == row.id)).all()
    assert set(actions) == {"token.create", "token.revoke"}


def test_account_token_form_shows_field_errors(client, session):
    make_user(session, "alice", "secret-pw")
    login(client, "alice", "secret-pw")
    token = csrf_token(client, "/account")
    response = client.post("/account/tokens", data={"name": "", "expires_days": "0", "csrf_token": token})
    assert response.status_code == 400
    assert response.get_data(as_text=True).count('class="field-error"') == 2


def test_cannot_revoke_someone_elses_token(client, session):
    alice = make_user(session, "alice", "secret-pw")
    bob = make_user(session, "bob", "secret-pw")
    _token(session, alice, "alices")
    row = session.scalars(select(ApiToken).where(ApiToken.name == "alices")).one()
    login(client, "bob", "secret-pw")
    token = csrf_token(client, "/account")
    assert client.post(f"/account/tokens/{row.id}/revoke", data={"csrf_token": token}).status_code == 404
    session.refresh(row)
    assert row.revoked_at is None
    assert bob.id != alice.id


def test_superuser_sees_admin_link_and_all_experiments(client, session):
    make_experiment(session, "hypot")
    make_experiment(session, "other")
    make_user(session, "root", "secret-pw", superuser=True)
    login(client, "root", "secret-pw")
    page = client.get("/").get_data(as_text=True)
    assert 'href="/admin"' in page
    assert 'href="/experiments/hypot"' in page and 'href="/experiments/other"' in page


def test_account_lists_memberships_and_token_states(client, session):
    exp = make_experiment(session, "hypot")
    user = make_user(session, "alice", "secret-pw", roles={exp: "production"})
    _token(session, user, "live")
    _token(session, user, "stale", expires_days=1)
    row = session.scalars(select(ApiToken).where(ApiToken.name == "stale")).one()
    row.expires_at = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)
    session.flush()
    login(client, "alice", "secret-pw")
    page = client.get("/account").get_data(as_text=True)
    assert 'href="/experiments/hypot"' in page and "role-production" in page
    assert page.count('class="state state-done">active') == 1
    assert page.count('class="state state-reserved">expired') == 1


def test_disabled_user_cannot_sign_in_or_use_tokens(client, session):
    user = make_user(session, "alice", "secret-pw")
    token = _token(session, user)
    user.active = False
    session.flush()
    assert login(client, "alice", "secret-pw").status_code == 401
    response = client.get("/api/whoami", headers=_bearer(token))
    assert response.status_code == 401 and "disabled" in response.json["message"]


# --- who may change accounts and memberships (UserService, used by the member pages) -------------------------

def test_membership_changes_follow_the_permission_table(session):
    from poms_dd.errors import NotAuthenticated, NotFound, PermissionDenied
    exp = make_experiment(session, "hypot")
    other = make_experiment(session, "other")
    boss = make_user(session, "boss", roles={exp: "superuser"})
    worker = make_user(session, "worker", roles={exp: "analysis"})
    newbie = make_user(session, "newbie")
    def as_(user):
        return UserService(session, Actor.person(user))
    as_(boss).grant(newbie, exp, "production")                   # experiment superuser manages members
    as_(boss).change_role(newbie, exp, "analysis")
    assert {(m.experiment.name, m.role) for m in as_(boss).memberships_of(newbie)} == {("hypot", "analysis")}
    with pytest.raises(PermissionDenied):
        as_(worker).grant(newbie, exp, "superuser")              # analysis member may not
    with pytest.raises(NotFound):
        as_(boss).grant(newbie, other, "analysis")               # not a member there: hidden
    with pytest.raises(NotAuthenticated):
        as_(None).remove_member(newbie, exp)                     # nobody is not the system
    as_(boss).remove_member(newbie, exp)
    assert as_(boss).memberships_of(newbie) == []
    events = session.scalars(select(AuditEvent).where(AuditEvent.experiment_id == exp.id)
                             .order_by(AuditEvent.id)).all()
    assert [(e.actor, e.action) for e in events] == [("boss", "membership.grant"), ("boss", "membership.grant"),
                                                     ("boss", "membership.remove")]
    assert events[1].before == {"role": "production"} and events[1].after == {"role": "analysis"}


def test_only_administrators_create_users_or_tokens_for_others(session):
    from poms_dd.errors import PermissionDenied
    alice = make_user(session, "alice")
    bob = make_user(session, "bob")
    root = make_user(session, "root", superuser=True)
    def as_(user):
        return UserService(session, Actor.person(user))
    with pytest.raises(PermissionDenied):
        as_(alice).create_user("eve")
    with pytest.raises(PermissionDenied):
        as_(alice).create_token(bob, "sneaky")
    as_(alice).create_token(alice, "mine")
    as_(root).create_token(bob, "for bob")
    assert as_(root).create_user("eve").username == "eve"


def test_an_unexpected_error_under_api_is_json_and_on_a_page_is_html(app, client, session):
    """Nothing the error handler knows: the person still gets our page (or JSON), never Flask's default."""
    app.config["TESTING"] = False             # as deployed: unhandled errors become 500 responses
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.route("/api/_boom")
    def _api_boom():
        raise RuntimeError("kaboom /secret/path")

    @app.route("/_boom")
    def _page_boom():
        raise RuntimeError("kaboom /secret/path")

    make_user(session, "carol", "secret-pw")
    token = _token(session, session.scalars(select(User).where(User.username == "carol")).one())
    response = client.get("/api/_boom", headers=_bearer(token))
    assert response.status_code == 500 and response.is_json
    assert response.json["error"] == "InternalServerError" and "kaboom" not in response.get_data(as_text=True)
    page = client.get("/_boom")
    assert page.status_code == 500 and page.mimetype == "text/html"
    assert "Server error" in page.get_data(as_text=True) and "kaboom" not in page.get_data(as_text=True)
