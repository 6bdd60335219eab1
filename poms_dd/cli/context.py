"""What every ``poms-dd`` command shares: where its database session and settings come from, the actor it
acts as, its services, and how our errors are shown.

Normally the session and settings come from the ``POMS_DD_*`` environment.  Tests and embedding code pass
``obj=CliContext(session_factory, settings)`` to click instead, so the commands run on a given session
factory (e.g. a rolled-back test transaction).
"""
from __future__ import annotations

import contextlib
import functools
import os
from dataclasses import dataclass
from typing import Callable, Iterator

import click
from sqlalchemy.orm import Session

from ..errors import ConfigurationError, InvalidInput, PomsDDError
from ..permissions import Actor
from ..services.factory import Services
from ..settings import Settings


@dataclass(frozen=True)
class CliContext:
    session_factory: Callable[[], Session]
    settings: Settings | None = None


def cli_actor() -> Actor:
    """The operator at the command line (who already holds the database credentials), audited as
    ``cli:<login>``."""
    return Actor.system_actor("cli:" + (os.environ.get("USER") or os.environ.get("LOGNAME") or "operator"))


@contextlib.contextmanager
def cli_session(ctx: click.Context) -> Iterator[tuple[Session, Settings | None]]:
    """Yield (session, settings); the session is closed afterwards.

    Raises click.ClickException naming every missing setting when the environment is incomplete.
    """
    if isinstance(ctx.obj, CliContext):
        session = ctx.obj.session_factory()
        try:
            yield session, ctx.obj.settings
        finally:
            session.close()
        return
    from ..db import Database
    try:
        settings = Settings.from_env()
    except ConfigurationError as err:
        raise click.ClickException(str(err)) from None
    db = Database(settings.database_url)
    session = db.session()
    try:
        yield session, settings
    finally:
        session.close()
        db.engine.dispose()


@contextlib.contextmanager
def cli_services(ctx: click.Context, actor: Actor | None = None) -> Iterator[Services]:
    """The services of one command, acting as ``actor`` (default: the operator, :func:`cli_actor`)."""
    with cli_session(ctx) as (session, settings):
        yield Services(session, actor or cli_actor(), settings=settings)


def friendly(fn):
    """Show our errors as readable lines (field errors one per line) and exit 1, not a traceback."""
    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except InvalidInput as err:
            lines = [f"  {field}: {' '.join(msgs)}" for field, msgs in sorted(err.field_errors.items())]
            raise click.ClickException("\n".join(["please fix:"] + lines) if lines else err.message) from None
        except PomsDDError as err:
            raise click.ClickException(err.message) from None
    return wrapped
