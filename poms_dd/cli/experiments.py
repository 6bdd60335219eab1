"""``poms-dd experiment ...``: onboard experiments from scripts (the same OnboardingService as /admin).

The commands act as the local operator (audited as ``cli:<login>``), who already holds the database
credentials.  Secrets are read from standard input (``--password-stdin``, ``--token-stdin``), never from the
command line, and never printed.  Tests pass ``obj=CliContext(session_factory, settings)``.
"""
from __future__ import annotations

import contextlib
import json
import sys
from typing import Any, Iterator

import click

from ..models import Role, Service, values
from ..services.accounts.users import UserService
from ..services.onboarding.rules import VERIFY_TLS_OFF_WARNING
from ..services.onboarding.service import OnboardingService
from .context import cli_services, friendly

SERVICES = values(Service)


@contextlib.contextmanager
def _services(ctx: click.Context) -> Iterator[tuple[OnboardingService, UserService]]:
    with cli_services(ctx) as services:
        if services.settings is None:
            raise click.ClickException("the onboarding commands need settings (the encryption key)")
        yield services.onboarding, services.users


def _settings_options(fn):
    opts = [
        click.option("--description"),
        click.option("--metacat-url"), click.option("--metacat-auth-url"), click.option("--metacat-gui-url"),
        click.option("--dd-url"), click.option("--dd-auth-url"), click.option("--dd-gui-url"),
        click.option("--rucio-host"), click.option("--rucio-auth-host"),
        click.option("--rucio-account", help="Rucio account (default on create: --service-account)."),
        click.option("--role", "service_role", help="MetaCat/DD role shared by the experiment's people."),
        click.option("--default-namespace"),
        click.option("--worker-timeout", "default_worker_timeout", help="Default DD worker timeout, seconds."),
        click.option("--idle-timeout", "default_idle_timeout", help="Default DD idle timeout, seconds."),
        click.option("--active/--inactive", default=None),
        click.option("--ca-path", help="CA bundle file or hashed CA directory on this server, e.g. "
                                       "/etc/grid-security/certificates ('' for the default: $X509_CERT_DIR, "
                                       "$REQUESTS_CA_BUNDLE, certifi)."),
        click.option("--verify-tls/--no-verify-tls", "verify_tls", default=None,
                     help="Verify the services' certificates (default). --no-verify-tls: test servers only."),
        click.option("--timeout", "service_timeout", help="Seconds per request to MetaCat/DD/Rucio ('' for 60)."),
        click.option("--rucio-vo", help="VO tag of a multi-VO Rucio server ('' for def)."),
        click.option("--service", "services", multiple=True, type=click.Choice(SERVICES),
                     help="Apply the credential options to these services only (repeatable; default: all)."),
        click.option("--service-account", help="The account poms_dd signs in as."),
        click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin."),
        click.option("--token-stdin", is_flag=True, help="Read a bearer token from stdin (stored encrypted)."),
        click.option("--token-file", type=click.Path(), help="Bearer-token file on this server (re-read at login)."),
        click.option("--x509-cert", type=click.Path(), help="x509 certificate file (with --x509-key)."),
        click.option("--x509-key", type=click.Path(), help="x509 key file."),
        click.option("--clear-secret", is_flag=True, help="Remove the stored password/token."),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


def _payload(creating: bool, opts: dict[str, Any]) -> dict[str, Any]:
    """The service's input from the command-line options (only what was given)."""
    plain = ("description", "metacat_url", "metacat_auth_url", "metacat_gui_url", "dd_url", "dd_auth_url",
             "dd_gui_url", "rucio_host", "rucio_auth_host", "rucio_account", "service_role", "default_namespace",
             "default_worker_timeout", "default_idle_timeout", "active", "ca_path", "verify_tls",
             "service_timeout", "rucio_vo")
    data: dict[str, Any] = {k: opts[k] for k in plain if opts.get(k) is not None}
    methods = [m for m, given in (("password", opts["password_stdin"]),
                                  ("token_file", opts["token_stdin"] or opts["token_file"]),
                                  ("x509", opts["x509_cert"] or opts["x509_key"])) if given]
    if len(methods) > 1:
        raise click.UsageError("Choose one way to authenticate: --password-stdin, --token-stdin/--token-file, "
                               "or --x509-cert with --x509-key.")
    cred: dict[str, Any] = {}
    if methods:
        cred["method"] = methods[0]
    if opts["password_stdin"] or opts["token_stdin"]:
        secret = sys.stdin.readline().rstrip("\r\n")    # other surrounding spaces: the service refuses them
        if not secret.strip():
            raise click.UsageError("standard input was empty; pipe the password or token into the command.")
        cred["secret"] = secret
    for key, opt in (("token_file", "token_file"), ("cert_path", "x509_cert"), ("key_path", "x509_key"),
                     ("username", "service_account")):
        if opts.get(opt):
            cred[key] = opts[opt]
    if opts["clear_secret"]:
        cred["clear_secret"] = True
    if cred:
        data["credentials"] = {s: dict(cred) for s in (opts["services"] or SERVICES)}
    if creating and opts.get("service_account") and "rucio_account" not in data:
        data["rucio_account"] = opts["service_account"]
    return data


def _warn_tls(name: str, verify_tls: bool | None) -> None:
    """Say on stderr that an experiment does not verify certificates (test servers only)."""
    if verify_tls is False:
        click.echo(f"warning: {name}: {VERIFY_TLS_OFF_WARNING}", err=True)


def _print_settings(described: dict[str, Any]) -> None:
    for key, value in described.items():
        click.echo(f"{key:32} {'' if value is None else value}")


@click.group()
def command() -> None:
    """Onboard experiments: MetaCat / Data Dispatcher / Rucio settings, connection tests, tokens, members."""


@command.command("create")
@click.argument("name")
@_settings_options
@click.pass_context
@friendly
def create(ctx: click.Context, name: str, **opts: Any) -> None:
    """Onboard experiment NAME."""
    data = _payload(True, opts)
    data["name"] = name
    with _services(ctx) as (service, _):
        exp = service.create(data)
        click.echo(f"onboarded experiment {exp.name}; check it with `poms-dd experiment test {exp.name}`")
        _warn_tls(exp.name, exp.verify_tls)


@command.command("update")
@click.argument("name")
@_settings_options
@click.pass_context
@friendly
def update(ctx: click.Context, name: str, **opts: Any) -> None:
    """Change the given settings of experiment NAME (others stay as they are)."""
    with _services(ctx) as (service, _):
        exp = service.update(name, _payload(False, opts))
        click.echo(f"saved settings of {name}")
        _warn_tls(exp.name, exp.verify_tls)


@command.command("list")
@click.pass_context
@friendly
def list_(ctx: click.Context) -> None:
    """Every experiment and its service URLs."""
    with _services(ctx) as (service, _):
        for exp in service.list_experiments():
            click.echo(f"{exp.name:16} {'active' if exp.active else 'inactive':9} "
                       f"mc={exp.metacat_url or '-'} dd={exp.dd_url or '-'} rucio={exp.rucio_host or '-'}")


@command.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
@friendly
def show(ctx: click.Context, name: str, as_json: bool) -> None:
    """The settings of NAME (secrets only as set / not set)."""
    with _services(ctx) as (service, _):
        described = service.describe(service.get(name))
    if as_json:
        click.echo(json.dumps(described, indent=2, sort_keys=True))
    else:
        _print_settings(described)
        _warn_tls(name, described.get("verify_tls"))


@command.command("test")
@click.argument("name")
@click.pass_context
@friendly
def test(ctx: click.Context, name: str) -> None:
    """Log in to each service; exit status 1 if any fails."""
    with _services(ctx) as (service, _):
        checks = service.test_connection(name)
    for c in checks:
        expires = c.token_expires.strftime("%Y-%m-%d %H:%M UTC") if c.token_expires else "-"
        click.echo(f"{c.service:16} {'OK' if c.ok else 'FAIL':4} {c.url or '-'}")
        if c.ok:
            click.echo(f"{'':16} version {c.version or '-'}, signed in as {c.identity or '-'}, token expires {expires}")
            for key, value in c.details.items():
                shown = ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else value
                click.echo(f"{'':16} {key.replace('_', ' ')}: {shown}")
        else:
            click.echo(f"{'':16} error: {c.error}")
    if not all(c.ok for c in checks):
        sys.exit(1)


def _print_tokens(statuses) -> None:
    for t in statuses:
        if not t.configured:
            click.echo(f"{t.service:16} not configured")
            continue
        left = t.expires_in()
        expires = (f"{t.expires_at:%Y-%m-%d %H:%M UTC} (in {int(left // 60)} min)" if left and left > 0
                   else "expired" if left is not None else "-")
        click.echo(f"{t.service:16} method={t.method} account={t.account or '-'} "
                   f"token={t.identity or 'none held'} expires={expires}"
                   + (f" error: {t.error}" if t.error else ""))


@command.command("token-status")
@click.argument("name")
@click.pass_context
@friendly
def token_status(ctx: click.Context, name: str) -> None:
    """Which identity poms_dd holds at each service and when its token expires."""
    with _services(ctx) as (service, _):
        _print_tokens(service.token_status(name))


@command.command("refresh-tokens")
@click.argument("name")
@click.pass_context
@friendly
def refresh_tokens(ctx: click.Context, name: str) -> None:
    """Log in to every configured service now; exit status 1 if any login fails."""
    with _services(ctx) as (service, _):
        statuses = service.refresh_tokens(name)
    _print_tokens(statuses)
    if any(t.error for t in statuses):
        sys.exit(1)


@command.command("members")
@click.argument("name")
@click.pass_context
@friendly
def members(ctx: click.Context, name: str) -> None:
    """The members of NAME and their roles."""
    with _services(ctx) as (_, users):
        rows = users.members_of(users.get_experiment(name))
        for m in rows:
            click.echo(f"{m.user.username:20} {m.role}")
        if not rows:
            click.echo("no members")


@command.command("add-member")
@click.argument("name")
@click.argument("username")
@click.argument("role", type=click.Choice(values(Role)))
@click.pass_context
@friendly
def add_member(ctx: click.Context, name: str, username: str, role: str) -> None:
    """Give USER the ROLE in NAME (adds the member, or changes the role)."""
    with _services(ctx) as (_, users):
        users.grant(users.get_user(username), users.get_experiment(name), role)
        click.echo(f"{username} is {role} in {name}")


@command.command("remove-member")
@click.argument("name")
@click.argument("username")
@click.pass_context
@friendly
def remove_member(ctx: click.Context, name: str, username: str) -> None:
    """Remove USER from NAME."""
    with _services(ctx) as (_, users):
        users.remove_member(users.get_user(username), users.get_experiment(name))
        click.echo(f"{username} removed from {name}")
