"""Shared fixtures: a throwaway PostgreSQL cluster (started here, once per test run), the schema built with
``alembic upgrade head``, and one rolled-back transaction per test.

Set ``POMS_DD_TEST_DATABASE_URL`` to use an existing server instead (the database must be empty or
already at head).
"""
from __future__ import annotations

import os
import uuid
import warnings

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import NullPool

from poms_dd import create_app, migrate
from poms_dd.db import Database
from poms_dd.dev.devdb import DevPostgres, free_port
from poms_dd.permissions import Actor
from poms_dd.services.factory import Services
from poms_dd.settings import Settings

TEST_ENCRYPTION_KEY = Fernet.generate_key().decode()


@pytest.fixture(scope="session")
def postgres(tmp_path_factory):
    """A private PostgreSQL server for the whole run; yields its base URL (without database)."""
    if os.environ.get("POMS_DD_TEST_DATABASE_URL"):
        yield None
        return
    pg = DevPostgres(tmp_path_factory.mktemp("pg") / "data", free_port())
    pg.start()
    try:
        yield pg
    finally:
        pg.stop()


@pytest.fixture(scope="session")
def database_url(postgres) -> str:
    if postgres is None:
        return os.environ["POMS_DD_TEST_DATABASE_URL"]
    postgres.create_database("poms_dd_test")
    return postgres.url("poms_dd_test")


@pytest.fixture(scope="session")
def engine(database_url):
    migrate.upgrade(database_url)
    eng = create_engine(database_url, future=True)
    yield eng
    eng.dispose()


@pytest.fixture
def connection(engine):
    """A connection inside a transaction that is rolled back after the test."""
    conn = engine.connect()
    trans = conn.begin()
    try:
        yield conn
    finally:
        trans.rollback()
        conn.close()


@pytest.fixture
def session_factory(connection):
    """Sessions bound to the test's transaction; their commits become savepoints."""
    return sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)


@pytest.fixture
def session(session_factory):
    s = session_factory()
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def settings(database_url, tmp_path) -> Settings:
    return Settings(database_url=database_url, secret_key="test-secret-key", encryption_key=TEST_ENCRYPTION_KEY,
                    instance_path=str(tmp_path / "instance"))


@pytest.fixture
def services_for(session, settings):
    """``services_for(user_or_actor)``: the composition root for the test's session, acting as a person (a User,
    or None for nobody) or as a given Actor (e.g. ``Actor.system_actor("cli:test")``)."""
    def make(who=None, *, via: str | None = None) -> Services:
        actor = who if isinstance(who, Actor) else Actor.person(who, via=via)
        return Services(session, actor, settings=settings)
    return make


@pytest.fixture
def app(settings, engine, session_factory):
    """The web app, its sessions bound to the test's rolled-back transaction."""
    db = Database(engine=engine)
    db.sessionmaker = session_factory
    application = create_app(settings, db=db)
    application.config["TESTING"] = True
    return application


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def testbed():
    """A testbed (MetaCat + DD + Rucio) seeded with the demo data, on a free port in a thread, for the run."""
    from poms_dd.testbed.runner import TestbedServer
    server = TestbedServer(seed="demo")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fresh_testbed():
    """A testbed of its own for a test that changes or stops it."""
    from poms_dd.testbed.runner import TestbedServer
    server = TestbedServer(seed="demo")
    server.start()
    yield server
    server.stop()


# --- committed databases, for code that runs in other threads or processes (browsers, workers) -------------

def _server_urls(postgres, name: str) -> tuple[str, str]:
    """(URL of database ``name``, URL of the server's ``postgres`` database) on the test server: the private
    cluster, or the server of ``POMS_DD_TEST_DATABASE_URL`` (its role needs CREATEDB)."""
    if postgres is not None:
        return postgres.url(name), postgres.url("postgres")
    base = make_url(os.environ["POMS_DD_TEST_DATABASE_URL"])
    return (base.set(database=name).render_as_string(hide_password=False),
            base.set(database="postgres").render_as_string(hide_password=False))


@pytest.fixture(scope="module")
def live_database_url(postgres):
    name = "poms_dd_live_" + uuid.uuid4().hex[:8]
    url, admin_url = _server_urls(postgres, name)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)   # no idle connection kept
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    migrate.upgrade(url)
    yield url
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    except OperationalError as err:     # the server is gone already: say so, keep the test's own outcome
        warnings.warn(f"could not drop the test database {name}: {err}")
    admin.dispose()


@pytest.fixture(scope="module")
def live_db(live_database_url):
    db = Database(live_database_url)
    yield db
    db.engine.dispose()


