"""``poms-dd user ...``: accounts, memberships and API tokens from the command line.

The commands act as the local operator (audited as ``cli:<login>``): whoever can run them already holds
the database credentials (``POMS_DD_DATABASE_URL``).  Tests and embedding code may pass
``obj=CliContext(session_factory)`` to run them on a given session factory instead of the environment.
"""
from __future__ import annotations

import contextlib
import sys
from typing import Iterator

import click

from ..models import Role, values
from ..services.accounts.users import UserService
from .context import cli_services, friendly


@contextlib.contextmanager
def _service(ctx: click.Context) -> Iterator[UserService]:
    with cli_services(ctx) as services:
        yield services.users


def _read_password(password: str | None, password_stdin: bool) -> str | None:
    if password is not None and password_stdin:
        raise click.UsageError("Give --password or --password-stdin, not both.")
    if password_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise click.UsageError("--password-stdin: standard input was empty.")
        return line
    return password


@click.group()
def command() -> None:
    """User accounts, experiment memberships and API tokens."""


@command.command("create")
@click.argument("username")
@click.option("--full-name", default="", help="The person's name, shown in the pages.")
@click.option("--email", default=None)
@click.option("--password", default=None, help="Local password (local auth mode). Prefer --password-stdin.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@click.option("--superuser", is_flag=True, help="A poms_dd administrator (all experiments, onboarding).")
@click.pass_context
@friendly
def create(ctx, username, full_name, email, password, password_stdin, superuser) -> None:
    """Create user USERNAME (without a password the user can only sign in through SSO or a token)."""
    password = _read_password(password, password_stdin)
    with _service(ctx) as service:
        user = service.create_user(username, full_name=full_name, email=email, password=password,
                                   superuser=superuser)
        click.echo(f"created user {user.username} (id {user.id})" + (", administrator" if superuser else "")
                   + ("" if password else "; no password set"))


@command.command("set-password")
@click.argument("username")
@click.option("--password", default=None)
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@click.pass_context
@friendly
def set_password(ctx, username, password, password_stdin) -> None:
    """Set USERNAME's local password."""
    password = _read_password(password, password_stdin)
    if password is None:
        raise click.UsageError("Give --password or --password-stdin.")
    with _service(ctx) as service:
        service.set_password(service.get_user(username), password)
        click.echo(f"password of {username} set")


@command.command("grant")
@click.argument("username")
@click.argument("experiment")
@click.argument("role", type=click.Choice(values(Role)))
@click.pass_context
@friendly
def grant(ctx, username, experiment, role) -> None:
    """Make USERNAME a member of EXPERIMENT with ROLE (or change the role)."""
    with _service(ctx) as service:
        service.grant(service.get_user(username), service.get_experiment(experiment), role)
        click.echo(f"{username} is {role} in {experiment}")


@command.command("remove-member")
@click.argument("username")
@click.argument("experiment")
@click.pass_context
@friendly
def remove_member(ctx, username, experiment) -> None:
    """Remove USERNAME from EXPERIMENT."""
    with _service(ctx) as service:
        service.remove_member(service.get_user(username), service.get_experiment(experiment))
        click.echo(f"{username} removed from {experiment}")


@command.command("token")
@click.argument("username")
@click.option("--name", required=True, help="What the token is for, e.g. 'nightly launches'.")
@click.option("--expires-days", type=click.IntRange(1, 3650), default=None, help="Lifetime (default: no expiry).")
@click.pass_context
@friendly
def token(ctx, username, name, expires_days) -> None:
    """Create an API token for USERNAME; the token is printed once on standard output."""
    with _service(ctx) as service:
        row, plaintext = service.create_token(service.get_user(username), name, expires_days)
        expiry = f"expires {row.expires_at:%Y-%m-%d %H:%M} UTC" if row.expires_at else "never expires"
        click.echo(f"API token {row.id} {name!r} for {username} ({expiry}); it is shown only once:", err=True)
        click.echo(plaintext)


@command.command("revoke-token")
@click.argument("token_id", type=int)
@click.pass_context
@friendly
def revoke_token(ctx, token_id) -> None:
    """Revoke API token TOKEN_ID (see `poms-dd user list --tokens`)."""
    with _service(ctx) as service:
        row = service.revoke_token(token_id)
        click.echo(f"API token {row.id} {row.name!r} of {row.user.username} revoked")


@command.command("list")
@click.option("--tokens", is_flag=True, help="Also list each user's API tokens.")
@click.pass_context
@friendly
def list_users(ctx, tokens) -> None:
    """List users with their experiments and roles."""
    with _service(ctx) as service:
        for user in service.list_users():
            roles = ", ".join(f"{m.experiment.name}:{m.role}"
                              for m in sorted(user.memberships, key=lambda m: m.experiment.name))
            flags = [f for f, on in (("administrator", user.is_superuser), ("disabled", not user.active)) if on]
            click.echo(f"{user.username}\t{user.full_name}\t{' '.join(flags) or '-'}\t{roles or '-'}")
            if tokens:
                for t in service.tokens_of(user):
                    state = "revoked" if t.revoked_at else (f"expires {t.expires_at:%Y-%m-%d}" if t.expires_at
                                                            else "no expiry")
                    click.echo(f"  token {t.id}\t{t.name}\t{state}")
