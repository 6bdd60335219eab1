"""Alembic environment.  The URL comes from the Alembic config (set by ``poms_dd.migrate``), or from
``POMS_DD_DATABASE_URL``; a connection passed in ``config.attributes["connection"]`` is used as is (tests)."""
import os

from alembic import context

from poms_dd import models  # noqa: F401  (registers every table on Base.metadata)
from poms_dd.db import Base

config = context.config
target_metadata = Base.metadata


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """The job queue's tables belong to procrastinate (applied from its own schema file): leave them out of
    autogenerate and ``alembic check``."""
    return not (type_ == "table" and name.startswith("procrastinate_"))


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url") or os.environ["POMS_DD_DATABASE_URL"],
                      target_metadata=target_metadata, literal_binds=True, compare_type=True,
                      include_object=include_object)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, compare_type=True,
                          include_object=include_object)
        with context.begin_transaction():
            context.run_migrations()
        return
    from sqlalchemy import create_engine
    engine = create_engine(config.get_main_option("sqlalchemy.url") or os.environ["POMS_DD_DATABASE_URL"])
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, compare_type=True,
                          include_object=include_object)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
