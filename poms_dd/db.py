"""Engine, sessions and the declarative base.

One ``Database`` per app lives in ``app.extensions["poms_dd"].db``.  Web requests get one session each
(``poms_dd.web.request.db_session``), committed by the service that owns the transaction and closed at teardown;
the CLI and the worker open their own.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import MetaData, create_engine
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> dt.datetime:
    """Timezone-aware now (all timestamps are stored as timestamptz)."""
    return dt.datetime.now(dt.timezone.utc)


class Database:
    """Owns the engine and the session factory."""

    def __init__(self, url: str | None = None, *, engine: Engine | None = None):
        if engine is None:
            if not url:
                raise ValueError("Database needs a URL or an engine")
            engine = create_engine(url, pool_pre_ping=True, future=True)
        self.engine = engine
        self.sessionmaker = sessionmaker(bind=engine, expire_on_commit=False)

    def session(self) -> Session:
        return self.sessionmaker()
