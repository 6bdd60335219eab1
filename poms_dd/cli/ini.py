"""``poms-dd ini export|import``: campaign INI files from the command line.

The commands act as a poms_dd user (``--as USERNAME``, default: your login name) with that user's
permissions, exactly as the web pages do.  Tests and embedding code may pass
``obj=CliContext(session_factory)`` to run on a given session factory instead of the environment.
"""
from __future__ import annotations

import contextlib
import getpass
from typing import Iterator

import click

from ..errors import PomsDDError
from ..permissions import Actor
from ..services.factory import Services
from .context import cli_services


@contextlib.contextmanager
def _services_as(ctx: click.Context, username: str | None) -> Iterator[Services]:
    """The services acting as poms_dd user ``username`` (default: the login name), through the CLI."""
    name = username or getpass.getuser()
    with cli_services(ctx) as services:
        user = services.signin.user_named(name)
        if user is None or not user.active:
            raise click.ClickException(f"poms_dd has no active user named {name!r}; pass --as USERNAME.")
        yield services.acting_as(Actor.person(user, via="cli"))


def _fail(err: PomsDDError) -> None:
    """Print the error (every problem of a bad file, with section and key) and exit 1."""
    click.echo(f"error: {err.message}", err=True)
    for where, messages in err.field_errors.items():
        for message in messages:
            click.echo(f"  {where}: {message}", err=True)
    raise click.exceptions.Exit(1)


@click.group()
def command() -> None:
    """Campaign INI files (POMS format): export and import."""


@command.command("export")
@click.argument("experiment")
@click.argument("campaign")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write to FILE instead of standard output.")
@click.option("--as", "as_user", default=None, metavar="USERNAME", help="Act as this poms_dd user.")
@click.pass_context
def export(ctx: click.Context, experiment: str, campaign: str, output: str | None, as_user: str | None) -> None:
    """Export CAMPAIGN (name or id) of EXPERIMENT as an INI file."""
    with _services_as(ctx, as_user) as services:
        service = services.ini
        try:
            campaign_id = int(campaign) if campaign.isdigit() else service.campaign_id(experiment, campaign)
            _, text = service.export_text(experiment, campaign_id)
        except PomsDDError as err:
            _fail(err)
    if output:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text)
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)


@command.command("import")
@click.argument("experiment")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--replace", is_flag=True, help="Update the campaign if it exists (stages are matched by name).")
@click.option("--as", "as_user", default=None, metavar="USERNAME", help="Act as this poms_dd user.")
@click.pass_context
def import_(ctx: click.Context, experiment: str, file, replace: bool, as_user: str | None) -> None:
    """Import a campaign INI FILE ('-' for standard input) into EXPERIMENT."""
    text = file.read()
    with _services_as(ctx, as_user) as services:
        try:
            result = services.ini.import_text(experiment, text, replace=replace)
        except PomsDDError as err:
            _fail(err)
        for warning in result.warnings:
            click.echo(f"warning: {warning}", err=True)
        verb = "created" if result.created else "updated"
        click.echo(f"{verb} campaign {result.campaign.name} (id {result.campaign.id}) in {experiment} with "
                   f"{len(result.campaign.stages)} stage(s)")
