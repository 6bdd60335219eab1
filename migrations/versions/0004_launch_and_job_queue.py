"""Launches: launch kind and request key on submissions, the environment on DD tasks, and the job queue.

The job queue is procrastinate's schema (tables, types and functions named ``procrastinate_*``), applied from
the SQL file shipped with the pinned procrastinate release, so ``poms-dd db upgrade`` is the only schema step
of a deployment.  A procrastinate upgrade that changes its schema needs a revision applying its migration files.

Revision ID: 0004
Revises: 0003
"""
from pathlib import Path

import procrastinate
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

LAUNCH_KINDS = "'standard', 'test', 'relaunch', 'recovery', 'dependency', 'override', 'scheduled'"


def _procrastinate_schema() -> str:
    return (Path(procrastinate.__file__).parent / "sql" / "schema.sql").read_text(encoding="utf-8")


def upgrade() -> None:
    op.add_column('submission', sa.Column('launch_kind', sa.String(length=16), server_default='standard',
                                          nullable=False))
    op.add_column('submission', sa.Column('request_key', sa.String(length=200), nullable=True))
    op.create_check_constraint(op.f('ck_submission_launch_kind'), 'submission', f"launch_kind IN ({LAUNCH_KINDS})")
    op.create_unique_constraint(op.f('uq_submission_stage_id_request_key'), 'submission', ['stage_id', 'request_key'])
    op.drop_column('submission', 'is_test')
    op.add_column('data_dispatcher_submission',
                  sa.Column('env', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False))
    # Raw, without parameter substitution: the file holds plpgsql with literal % signs.
    op.get_bind().execution_options(no_parameters=True).exec_driver_sql(_procrastinate_schema())


def downgrade() -> None:
    op.execute("""
        DO $$
        DECLARE r record;
        BEGIN
            FOR r IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema()
                     AND tablename LIKE 'procrastinate\\_%' LOOP
                EXECUTE format('DROP TABLE IF EXISTS %I CASCADE', r.tablename);
            END LOOP;
            FOR r IN SELECT p.oid::regprocedure AS sig FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                     WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate\\_%' LOOP
                EXECUTE format('DROP FUNCTION IF EXISTS %s CASCADE', r.sig);
            END LOOP;
            FOR r IN SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                     WHERE n.nspname = current_schema() AND t.typname LIKE 'procrastinate\\_%' AND t.typtype IN ('e', 'c')
                     AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.reltype = t.oid AND c.relkind <> 'c') LOOP
                EXECUTE format('DROP TYPE IF EXISTS %I CASCADE', r.typname);
            END LOOP;
        END $$;
    """)
    op.drop_column('data_dispatcher_submission', 'env')
    op.add_column('submission', sa.Column('is_test', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.drop_constraint(op.f('uq_submission_stage_id_request_key'), 'submission', type_='unique')
    op.drop_constraint(op.f('ck_submission_launch_kind'), 'submission', type_='check')
    op.drop_column('submission', 'request_key')
    op.drop_column('submission', 'launch_kind')
