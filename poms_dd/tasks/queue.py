"""The job queue: procrastinate on PostgreSQL (schema in Alembic revision 0004).

Why procrastinate: a maintained PostgreSQL-backed queue (no broker to run beside the database we already
have), with per-lock serial execution (``lock=stage:<id>``: one launch of a stage at a time, on any number
of workers and hosts), retries with back-off, periodic tasks, and deferring on an existing connection — so the
web request records the queued submission and its job in ONE transaction (no submission without a job, no job
without a submission).

The web side defers through :class:`JobQueue` (procrastinate's SQLAlchemy/psycopg2 connector, on our engine and
inside the request's transaction); the worker runs jobs through psycopg 3 (``tasks/worker.py``).
"""
from __future__ import annotations

from procrastinate import App
from procrastinate.contrib.sqlalchemy import SQLAlchemyPsycopg2Connector
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

LAUNCH_TASK = "poms_dd.launch"
LAUNCH_QUEUE = "launches"
RETRY_STALLED_TASK = "poms_dd.retry_stalled"


class JobQueue:
    """Deferring jobs from the web app or the CLI (implements ``services.launch.requests.LaunchQueue``)."""

    def __init__(self, engine: Engine):
        self.app = App(connector=SQLAlchemyPsycopg2Connector())
        self.app.open(engine)

    def enqueue_launch(self, session: Session, submission_id: int, stage_id: int) -> None:
        """Add the launch job inside ``session``'s transaction (committed, or rolled back, with it)."""
        self.app.configure_task(LAUNCH_TASK, queue=LAUNCH_QUEUE, lock=f"stage:{stage_id}",
                                connection=session.connection()).defer(submission_id=submission_id)

    def close(self) -> None:
        self.app.close()
