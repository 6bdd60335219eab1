"""Where ``poms-dd`` commands get their database session and settings from.

Normally from the ``POMS_DD_*`` environment.  Tests and embedding code pass ``obj=CliContext(session_factory,
settings)`` to click instead, so the commands run on a given session factory (e.g. a rolled-back test
transaction).
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Callable, Iterator

import click
from sqlalchemy.orm import Session

from .errors import ConfigurationError
from .settings import Settings


@dataclass(frozen=True)
class CliContext:
    session_factory: Callable[[], Session]
    settings: Settings | None = None


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
    from .db import Database
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
