"""``poms-dd worker``: run the background jobs (launches; scheduled launches and refreshes come next)."""
from __future__ import annotations

import click

from ..errors import ConfigurationError
from ..settings import Settings


@click.command("worker")
@click.option("--concurrency", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Jobs this process runs at once (run several processes, on one host or several, to scale).")
@click.option("--queue", "queues", multiple=True, help="Only these queues (repeatable; default: all).")
def command(concurrency: int, queues: tuple[str, ...]) -> None:
    """Run queued launches until interrupted (Ctrl-C or SIGTERM lets running jobs finish)."""
    from ..tasks.worker import run_worker
    try:
        settings = Settings.from_env()
    except ConfigurationError as err:
        raise click.ClickException(str(err)) from None
    run_worker(settings, concurrency=concurrency, queues=list(queues) or None)
