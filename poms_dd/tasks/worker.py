"""``poms-dd worker``: runs the queued jobs (launches now; scheduled launches and the tracking refresher next).

Each job builds its services through the composition root with the named system actor ``worker``; the launch
itself re-checks the launcher's permission.  Several workers, on one host or several, share the queue: a
stage's launches run one at a time (procrastinate's ``lock``), and the submission row is locked while a launch
runs, so a job never runs twice at once.  A worker killed mid-job leaves a stalled job that another worker
retries (``retry_stalled``, every minute, by heartbeat); the launch continues from what was recorded.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from procrastinate import App, JobContext, PsycopgConnector, RetryStrategy
from sqlalchemy.engine import make_url

from ..db import Database
from ..errors import ExternalServiceError
from ..permissions import Actor
from ..services.factory import Services
from ..services.onboarding.connections import AdapterRegistry
from ..settings import Settings
from .queue import LAUNCH_TASK, RETRY_STALLED_TASK

log = logging.getLogger(__name__)
WORKER_ACTOR = Actor.system_actor("worker")
# Retried: only a service outage while the project may or may not exist (the runner raises it to be retried).
LAUNCH_RETRY = RetryStrategy(max_attempts=5, exponential_wait=4, retry_exceptions={ExternalServiceError})
STALLED_AFTER = 60          # seconds without a heartbeat of the worker that runs a job


@dataclass
class WorkerRuntime:
    """What every job of this process shares: settings, the database, the adapter cache."""

    settings: Settings
    db: Database
    registry: AdapterRegistry = field(default_factory=AdapterRegistry)

    def services(self, session) -> Services:
        return Services(session, WORKER_ACTOR, settings=self.settings, registry=self.registry)


def conninfo(database_url: str) -> str:
    """The libpq URL of a SQLAlchemy URL (``postgresql+psycopg2://`` → ``postgresql://``)."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def build_app(database_url: str) -> App:
    """The worker's procrastinate app with poms_dd's tasks."""
    app = App(connector=PsycopgConnector(conninfo=conninfo(database_url)))

    @app.task(name=LAUNCH_TASK, pass_context=True, retry=LAUNCH_RETRY)
    def launch(context: JobContext, submission_id: int) -> str:
        runtime: WorkerRuntime = context.additional_context["runtime"]
        attempts = (context.job.attempts or 0) + 1
        with runtime.db.session() as session:
            runner = runtime.services(session).launch_runner()
            try:
                status = runner.run(submission_id, last_attempt=attempts >= LAUNCH_RETRY.max_attempts)
            except ExternalServiceError:
                raise
            except Exception:
                log.exception("launch of submission %s failed unexpectedly", submission_id)
                runner.fail_unexpected(submission_id)
                raise
        log.info("submission %s: %s", submission_id, status)
        return status

    @app.periodic(cron="* * * * *", periodic_id="retry_stalled")
    @app.task(name=RETRY_STALLED_TASK, queueing_lock=RETRY_STALLED_TASK, pass_context=True)
    async def retry_stalled(context: JobContext, timestamp: int) -> None:
        for job in await context.app.job_manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_AFTER):
            log.warning("retrying stalled job %s (%s): its worker stopped", job.id, job.task_name)
            await context.app.job_manager.retry_job(job)

    return app


def run_worker(settings: Settings, *, concurrency: int = 1, queues: list[str] | None = None) -> None:
    """Run jobs until interrupted (SIGINT/SIGTERM finish the running jobs first)."""
    runtime = WorkerRuntime(settings, Database(settings.database_url))
    app = build_app(settings.database_url)
    try:
        app.run_worker(concurrency=concurrency, queues=queues, additional_context={"runtime": runtime},
                       install_signal_handlers=True)
    finally:
        runtime.db.engine.dispose()
