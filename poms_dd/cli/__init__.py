"""The ``poms-dd`` command line: database, users, keys, the web server, the demo and sub-tools.

One module per command group (``users``, ``experiments``, ``ini``, ``db``-style commands here; the testbed's
own group lives with the testbed, the demo's in ``poms_dd/dev``), attached to ``main`` here.  Commands reach
the services through ``context.cli_services`` (the composition root).
"""
from __future__ import annotations

import logging
import os
import sys

import click

from ..errors import ConfigurationError, PomsDDError
from ..settings import LOG_LEVELS, Settings


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigurationError as err:
        raise click.ClickException(str(err)) from None


@click.group()
@click.version_option(package_name="poms_dd")
def main() -> None:
    """poms_dd: Data Dispatcher campaign management."""


@main.group()
def db() -> None:
    """Database migrations (Alembic)."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head)."""
    from .. import migrate
    migrate.upgrade(_settings().database_url, revision)
    click.echo(f"database upgraded to {revision}")


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (``base`` removes everything)."""
    from .. import migrate
    migrate.downgrade(_settings().database_url, revision)
    click.echo(f"database downgraded to {revision}")


@db.command("check")
def db_check() -> None:
    """Fail if the models and the migrations disagree."""
    from .. import migrate
    migrate.check(_settings().database_url)
    click.echo("models and migrations agree")


@main.command("generate-key")
def generate_key() -> None:
    """Print a new encryption key for POMS_DD_ENCRYPTION_KEY."""
    from cryptography.fernet import Fernet
    click.echo(Fernet.generate_key().decode())


@main.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
def run(host: str, port: int) -> None:
    """Run the web app with a development server (use gunicorn in production, see README)."""
    from .. import create_app
    app = create_app(_settings())
    app.run(host=host, port=port, threaded=True)


def _attach_subcommands() -> None:
    from ..dev import demo, worker_example
    from ..testbed import cli as testbed_cli
    from . import experiments, ini, users, worker
    for name, module in (("user", users), ("testbed", testbed_cli), ("ini", ini), ("experiment", experiments),
                         ("demo", demo), ("worker-example", worker_example), ("worker", worker)):
        main.add_command(module.command, name)


_attach_subcommands()


def run_main() -> None:
    level = os.environ.get("POMS_DD_LOG_LEVEL", "INFO").upper()   # a bad value is reported by Settings
    logging.basicConfig(level=level if level in LOG_LEVELS else "INFO",
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if level != "DEBUG":
        logging.getLogger("alembic").setLevel(logging.WARNING)      # its INFO lines are noise at the prompt
    try:
        main()
    except PomsDDError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(1)
