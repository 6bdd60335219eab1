"""``poms-dd testbed``: serve a local MetaCat + Data Dispatcher + Rucio until SIGINT/SIGTERM."""
from __future__ import annotations

import signal
import threading

import click

from .seed import ACCOUNTS, SEEDS


@click.command("testbed")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8090, show_default=True, type=int, help="Port (0 picks a free one).")
@click.option("--seed", "seed_name", default="demo", show_default=True, type=click.Choice(SEEDS),
              help="Seed data to start from.")
@click.option("--files", default=None, type=click.IntRange(min=0), help="Raw files in hypot:raw (default 2000).")
@click.option("--state", default=None, type=click.Path(dir_okay=False),
              help="Keep state in this file across restarts (loaded at start, saved while running and on exit).")
def command(host: str, port: int, seed_name: str, files: int | None, state: str | None) -> None:
    """Run the protocol-faithful local MetaCat + Data Dispatcher + Rucio (SPEC §9)."""
    from .runner import TestbedServer
    done = threading.Event()

    def _stop(signum, _frame) -> None:
        done.set()

    # installed before the banner is printed: a supervisor may signal as soon as it has read the URLs
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        server = TestbedServer(seed=seed_name, files=files, host=host, port=port, state=state).start()
    except OSError as err:
        raise click.ClickException(f"cannot listen on {host}:{port}: {err}") from None
    base = server.url
    click.echo(f"testbed serving on {base}")
    click.echo(f"  export DATA_DISPATCHER_URL={base}/dd")
    click.echo(f"  export DATA_DISPATCHER_AUTH_URL={base}/dd/auth")
    click.echo(f"  export METACAT_SERVER_URL={base}/mc")
    click.echo(f"  export METACAT_AUTH_SERVER_URL={base}/mc/auth")
    click.echo(f"  rucio_host = auth_host = {base}/rucio   (auth_type userpass)")
    click.echo("accounts (username/password; same for MetaCat, DD and Rucio):")
    for user, password, admin, _roles in ACCOUNTS:
        click.echo(f"  {user}/{password}{'  (admin)' if admin else ''}")
    if state:
        click.echo(f"state file: {state}")
    while not done.wait(0.5):
        pass
    server.stop()
    click.echo("testbed stopped" + (f"; state saved to {state}" if state else ""))
