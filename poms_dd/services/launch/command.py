"""The launch command step (SPEC §2.5, §4.3): the environment, the rendered template, the executor, and the
result on the submission.  The command's start is committed before it runs, so a worker that dies while it
runs is noticed by the next attempt (whether its jobs were submitted is then unknown: the launch fails)."""
from __future__ import annotations

import datetime as dt
from typing import Any, Callable

from sqlalchemy.orm import Session

from ...adapters import ExperimentConnection
from ...errors import InvalidInput, PomsDDError
from ...models import Submission, SubmissionStatus
from ...permissions import Actor
from .environment import context_variables, launch_environment, render_command
from .executors import LaunchResult, executor_for
from .launch_log import compose
from .requests import record_status

RUNNING = "running the launch command"
NO_TEMPLATE = ("No launch template is set for this stage, so no command was run. The project is ready: start "
               "jobs with the environment shown on this page.")


class CommandFailed(PomsDDError):
    """The launch command failed; ``message`` says how (exit status, timeout, could not start)."""


class CommandStep:
    """Runs the stage's launch command for a submission whose DD task is recorded."""

    def __init__(self, session: Session, actor: Actor, settings, clock: Callable[[], dt.datetime]):
        self.session = session
        self.actor = actor
        self.settings = settings
        self.clock = clock

    def run(self, sub: Submission, conn: ExperimentConnection) -> None:
        """Run the command once; CREATED on success.  Raises CommandFailed (the caller fails the launch)."""
        if any(e.reason == RUNNING for e in sub.history):
            raise CommandFailed("The worker stopped while the launch command was running, so it is not known "
                                "whether its jobs were submitted; the project was cancelled. Relaunch the stage.")
        task = sub.dd_task
        task.env = self.environment(sub, conn)
        template = sub.stage.launch_template
        if template is None:
            sub.launch_log = NO_TEMPLATE
            record_status(sub, SubmissionStatus.CREATED, self.actor, "no launch template")
            self.session.commit()
            return
        try:
            command = render_command(template.command_template, self.values(sub))
            executor = executor_for(template, self.settings)
        except InvalidInput as err:
            raise CommandFailed(f"The launch template {template.name!r} cannot be used: {err.message}") from None
        record_status(sub, SubmissionStatus.LAUNCHING, self.actor, RUNNING)
        self.session.commit()
        started = self.clock()
        result: LaunchResult = executor.run(command, task.env, timeout=self.settings.launch_timeout,
                                            setup=template.setup or "")
        sub.launch_log = compose(started_at=started, executor=executor.describe(), timeout=self.settings.launch_timeout,
                                 setup=template.setup or "", command=command, env=task.env, result=result,
                                 max_bytes=self.settings.launch_log_max_bytes)
        if not result.ok:
            self.session.commit()
            raise CommandFailed(f"The launch command failed: {result.reason}. See the launch log.")
        record_status(sub, SubmissionStatus.CREATED, self.actor, "launch command finished")
        self.session.commit()

    def environment(self, sub: Submission, conn: ExperimentConnection) -> dict[str, str]:
        task = sub.dd_task
        parameter_launch = bool((task.split_slice or {}).get("parameter_launch"))
        return launch_environment(
            task_id=task.id, project_id=None if parameter_launch else task.project_id, query=task.mql,
            parameter=task.parameter, virtual=bool(task.virtual), load_limit=task.load_limit,
            dd_url=conn.dd_url or "", dd_auth_url=conn.dd_auth_url or "", metacat_url=conn.metacat_url or "",
            metacat_auth_url=conn.metacat_auth_url or "", extra=self.context(sub))

    def context(self, sub: Submission) -> dict[str, str]:
        stage = sub.stage
        camp = stage.campaign
        return context_variables(experiment=camp.experiment.name, campaign_name=camp.name, campaign_id=camp.id,
                                 stage_name=stage.name, stage_id=stage.id, submission_id=sub.id,
                                 launcher=_launcher(sub, self.actor), role=stage.role, launch_kind=sub.launch_kind)

    def values(self, sub: Submission) -> dict[str, Any]:
        """The template's ``{placeholders}`` (each is shell-quoted when substituted)."""
        stage, task = sub.stage, sub.dd_task
        return {"experiment": stage.campaign.experiment.name, "campaign": stage.campaign.name,
                "campaign_id": str(stage.campaign.id), "stage": stage.name, "stage_id": str(stage.id),
                "role": stage.role, "submission_id": str(sub.id), "task_id": str(task.id),
                "software_version": stage.software_version or "", "job_config": stage.job_config or "",
                "launcher": _launcher(sub, self.actor), "project_id": str(task.project_id or ""),
                "query": task.mql, "parameter": task.parameter or "", "launch_kind": sub.launch_kind}


def _launcher(sub: Submission, actor: Actor) -> str:
    return sub.launcher.username if sub.launcher else actor.name
