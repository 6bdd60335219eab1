"""``poms-dd user ...`` through click's CliRunner.

Most tests pass ``obj=CliContext(session_factory)`` so the commands run on the test's rolled-back
transaction; the last ones go through ``poms_dd.cli.main`` with ``POMS_DD_*`` variables to prove the
environment wiring against the real database.
"""
from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from factories import make_experiment, make_user
from poms_dd.services.accounts.credentials import hash_token
from poms_dd.services.accounts.signin import SignInService
from poms_dd.models import ApiToken, AuditEvent, ExperimentMembership, User
from poms_dd.cli.context import CliContext
from poms_dd.cli.users import command


@pytest.fixture
def run(session_factory):
    runner = CliRunner()

    def invoke(*args, input=None):
        return runner.invoke(command, list(args), obj=CliContext(session_factory), input=input)
    return invoke


def test_create_user_with_password_from_stdin(run, session):
    result = run("create", "dana", "--full-name", "Dana Scully", "--password-stdin", input="long-password\n")
    assert result.exit_code == 0, result.output
    assert "created user dana" in result.output
    assert "long-password" not in result.output
    user = SignInService(session).authenticate_password("dana", "long-password")
    assert user is not None and user.full_name == "Dana Scully" and not user.is_superuser
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "user.create")).one()
    assert event.actor.startswith("cli:")
    assert "long-password" not in str(event.after)


def test_create_superuser_without_password(run, session):
    result = run("create", "root", "--superuser")
    assert result.exit_code == 0, result.output
    assert "no password set" in result.output
    user = session.scalars(select(User).where(User.username == "root")).one()
    assert user.is_superuser and user.password_hash is None


def test_create_refuses_duplicates_and_short_passwords(run, session):
    make_user(session, "dana")
    result = run("create", "dana")
    assert result.exit_code == 1 and "already exists" in result.output
    result = run("create", "eve", "--password", "short")
    assert result.exit_code == 1 and "at least 8 characters" in result.output
    assert session.scalar(select(User).where(User.username == "eve")) is None


def test_grant_adds_then_changes_role(run, session):
    exp = make_experiment(session, "hypot")
    user = make_user(session, "dana")
    assert run("grant", "dana", "hypot", "analysis").exit_code == 0
    result = run("grant", "dana", "hypot", "production")
    assert result.exit_code == 0 and "dana is production in hypot" in result.output
    rows = session.scalars(select(ExperimentMembership).where(ExperimentMembership.user_id == user.id)).all()
    assert [(r.experiment_id, r.role) for r in rows] == [(exp.id, "production")]
    assert run("grant", "dana", "hypot", "emperor").exit_code == 2          # not a role
    result = run("grant", "dana", "nosuch", "analysis")
    assert result.exit_code == 1 and "No experiment 'nosuch'" in result.output


def test_remove_member(run, session):
    exp = make_experiment(session, "hypot")
    make_user(session, "dana", roles={exp: "analysis"})
    assert run("remove-member", "dana", "hypot").exit_code == 0
    assert session.scalar(select(ExperimentMembership).where(ExperimentMembership.experiment_id == exp.id)) is None
    assert run("remove-member", "dana", "hypot").exit_code == 1


def test_token_printed_once_works_and_is_stored_hashed(run, session, client):
    make_user(session, "dana")
    result = run("token", "dana", "--name", "nightly", "--expires-days", "7")
    assert result.exit_code == 0, result.output
    plaintext = result.stdout.strip().splitlines()[-1]
    assert plaintext.startswith("pdd_")
    row = session.scalars(select(ApiToken).where(ApiToken.name == "nightly")).one()
    assert row.token_hash == hash_token(plaintext) and row.expires_at is not None
    response = client.get("/api/whoami", headers={"Authorization": f"Bearer {plaintext}"})
    assert response.status_code == 200 and response.json["username"] == "dana"
    assert plaintext not in run("list", "--tokens").output

    result = run("revoke-token", str(row.id))
    assert result.exit_code == 0 and "revoked" in result.output
    assert client.get("/api/whoami", headers={"Authorization": f"Bearer {plaintext}"}).status_code == 401
    assert run("revoke-token", str(row.id)).exit_code == 1                   # already revoked
    assert run("revoke-token", "999999").exit_code == 1


def test_list_shows_roles_and_administrators(run, session):
    exp = make_experiment(session, "hypot")
    make_user(session, "dana", roles={exp: "production"})
    make_user(session, "root", superuser=True)
    result = run("list")
    assert result.exit_code == 0
    lines = {line.split("\t")[0]: line for line in result.output.splitlines()}
    assert "hypot:production" in lines["dana"]
    assert "administrator" in lines["root"]


def test_unknown_user_is_a_clear_error(run):
    result = run("token", "ghost", "--name", "x")
    assert result.exit_code == 1
    assert "No user 'ghost'" in result.output


def test_main_cli_reads_environment(settings, monkeypatch, engine):
    """Through `poms-dd` itself, on its own connection: create, list, then clean up the committed row."""
    from poms_dd.cli import main
    monkeypatch.setenv("POMS_DD_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("POMS_DD_SECRET_KEY", settings.secret_key)
    monkeypatch.setenv("POMS_DD_ENCRYPTION_KEY", settings.encryption_key)
    runner = CliRunner()
    try:
        result = runner.invoke(main, ["user", "create", "envuser", "--full-name", "From Env"])
        assert result.exit_code == 0, result.output
        result = runner.invoke(main, ["user", "list"])
        assert result.exit_code == 0 and "envuser\tFrom Env" in result.output
    finally:
        with engine.begin() as conn:
            user_id = conn.scalar(select(User.id).where(User.username == "envuser"))
            conn.execute(AuditEvent.__table__.delete().where(AuditEvent.object_type == "user",
                                                             AuditEvent.object_id == user_id))
            conn.execute(User.__table__.delete().where(User.username == "envuser"))


def test_main_cli_without_configuration_says_what_is_missing(monkeypatch):
    from poms_dd.cli import main
    for name in ("DATABASE_URL", "SECRET_KEY", "ENCRYPTION_KEY"):
        monkeypatch.delenv(f"POMS_DD_{name}", raising=False)
    result = CliRunner().invoke(main, ["user", "list"])
    assert result.exit_code == 1
    assert "POMS_DD_DATABASE_URL is required" in result.output
