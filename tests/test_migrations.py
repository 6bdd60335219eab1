"""The migrations build exactly the models' schema, and downgrade/upgrade round-trips."""
from sqlalchemy import create_engine, inspect

from poms_dd import migrate


def test_models_and_migrations_agree(engine, database_url):
    migrate.check(database_url)


def test_downgrade_then_upgrade_round_trips(postgres, engine):
    if postgres is None:
        import pytest
        pytest.skip("needs the private test cluster")
    postgres.create_database("poms_dd_roundtrip")
    url = postgres.url("poms_dd_roundtrip")
    migrate.upgrade(url)
    eng = create_engine(url)
    tables_at_head = set(inspect(eng).get_table_names())
    assert {"experiment", "campaign", "campaign_stage", "submission", "data_dispatcher_submission",
            "audit_event"} <= tables_at_head
    migrate.downgrade(url, "base")
    assert set(inspect(eng).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(url)
    assert set(inspect(eng).get_table_names()) == tables_at_head
    eng.dispose()


def test_0002_gives_existing_experiments_the_default_tls_settings(postgres, engine):
    if postgres is None:
        import pytest
        pytest.skip("needs the private test cluster")
    from sqlalchemy import text
    postgres.create_database("poms_dd_0002")
    url = postgres.url("poms_dd_0002")
    migrate.upgrade(url, "0001")
    eng = create_engine(url)
    with eng.begin() as conn:
        conn.execute(text("INSERT INTO experiment (name, description, active, created_at) "
                          "VALUES ('old', '', true, now())"))
    migrate.upgrade(url)
    with eng.connect() as conn:
        row = conn.execute(text("SELECT ca_path, verify_tls, service_timeout, rucio_vo FROM experiment")).one()
    eng.dispose()
    assert tuple(row) == (None, True, None, None)
