"""Running a queued launch in the worker (SPEC §4.1–§4.4): resolve, record the intent, create the DD project
once, record it with the split cursor, run the launch command, record the result.

Each step that talks to a service that cannot be rolled back sits between two commits, so a worker killed at
any point leaves a state the next run of the same job continues from:

* ``queued``: nothing was created; resolve and record the DD task (the intent) → ``launching``.
* ``launching`` without a project id: DD may or may not have the project: look it up by its ``poms_task_id``
  attribute, create it only when DD has none, then record it and advance the split cursor in one transaction.
* ``launching`` with the command started but no result: the worker died while the command ran; whether its jobs
  were submitted is unknown, so the project is cancelled and the submission fails with that explanation.
"""
from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ... import permissions
from ...adapters import ExperimentAdapters
from ...errors import ExternalServiceError, InvalidInput, NotFound, PermissionDenied, PomsDDError
from ...db import utcnow
from ...models import (CampaignStage, DataDispatcherSubmission, LaunchKind, SliceDelivery, Submission,
                      SubmissionStatus)
from ...permissions import Actor
from .attributes import project_attributes
from .command import CommandFailed, CommandStep
from .requests import record_status
from .resolve import EXHAUSTED_AT, Resolution, cursor_field, resolve, split_context

log = logging.getLogger(__name__)
FINAL = {SubmissionStatus.CREATED, SubmissionStatus.RUNNING, SubmissionStatus.COMPLETED,
         SubmissionStatus.COMPLETED_WITH_FAILURES, SubmissionStatus.LAUNCH_FAILED, SubmissionStatus.CANCELLED,
         SubmissionStatus.ABANDONED, SubmissionStatus.HELD}


class LaunchFailed(PomsDDError):
    """The launch cannot go on; the message is what the person reads on the submission."""


class SplitExhausted(LaunchFailed):
    """Every slice of the stage's split has been launched (or, for splits that refill, nothing new is there)."""


class LaunchRunner:
    """The worker's side of one launch.  ``adapters_for(experiment)`` gives the experiment's adapters;
    ``command`` runs the launch command (``command.py``)."""

    def __init__(self, session: Session, actor: Actor, adapters_for, command: CommandStep):
        self.session = session
        self.actor = actor
        self.adapters_for = adapters_for
        self.command = command

    def run(self, submission_id: int, *, last_attempt: bool = True) -> str:
        """Carry the submission's launch as far as it goes; returns its status.

        A Data Dispatcher outage while the project may have been created raises ExternalServiceError (the job
        is retried later and continues here) unless ``last_attempt``: then the launch fails.
        """
        sub = self._locked(submission_id)
        if sub is None or sub.status in FINAL:
            self.session.commit()
            return sub.status if sub else "missing"
        try:
            fresh = sub.status == SubmissionStatus.QUEUED
            if fresh:
                self._prepare(sub)
            task = sub.dd_task
            if task.project_id is None and not (task.split_slice or {}).get("parameter_launch"):
                # A task recorded by this very run is new to DD (its id was just made): only a task recorded by
                # an earlier, interrupted run may already have a project to find.
                self._project(sub, task, look_up=not fresh)
            self.command.run(sub, self._adapters(sub).conn)
        except SplitExhausted as err:
            self._fail(sub, err.message, exhausted=True)
        except (LaunchFailed, CommandFailed) as err:
            self._fail(sub, err.message)
        except ExternalServiceError as err:
            if not last_attempt and sub.status == SubmissionStatus.LAUNCHING:
                self.session.rollback()
                raise
            self._fail(sub, err.message)
        return sub.status

    def fail_unexpected(self, submission_id: int) -> None:
        """After an error of ours (logged by the caller): the launch fails visibly instead of hanging."""
        self.session.rollback()
        sub = self._locked(submission_id)
        if sub is not None and sub.status not in FINAL:
            self._fail(sub, "poms_dd hit an internal error while launching (the administrators can find it in the "
                            "worker's log); nothing more will happen to this submission. Launch again.")

    # --- steps ----------------------------------------------------------------------------------------------

    def _locked(self, submission_id: int) -> Submission | None:
        return self.session.scalar(select(Submission).where(Submission.id == submission_id).with_for_update())

    def _locked_stage(self, sub: Submission) -> CampaignStage:
        """The submission's stage, row-locked (its split cursor changes in this transaction)."""
        return self.session.scalar(select(CampaignStage).where(CampaignStage.id == sub.stage_id).with_for_update())

    def _adapters(self, sub: Submission) -> ExperimentAdapters:
        return self.adapters_for(sub.stage.campaign.experiment)

    def _prepare(self, sub: Submission) -> None:
        """Resolve what to process and record the DD task (the intent).  Commits."""
        stage = self._locked_stage(sub)
        self._check_launcher(sub, stage)
        adapters = self._adapters(sub)
        try:
            resolution = resolve(self.session, stage, sub.launch_kind, adapters)
        except InvalidInput as err:
            raise LaunchFailed(err.message) from None
        if resolution is None:
            raise SplitExhausted(_exhausted_message(self._split_spec(stage, sub), stage.split_type))
        count, size, mql = self._count(resolution, adapters)
        task = self._task(sub, stage, resolution, count)
        task.mql = mql
        if resolution.slice.parameter_launch or resolution.project_id is not None:
            # Nothing to create (a parameter launch, or an existing project): the cursor moves now.
            setattr(stage, resolution.cursor_field, dict(resolution.slice.cursor))
        for fid in dict.fromkeys(resolution.slice.fids or ()):
            self.session.add(SliceDelivery(submission_id=sub.id, fid=fid, stage_id=stage.id, test=resolution.test,
                                           epoch=task.split_slice["epoch"]))
        record_status(sub, SubmissionStatus.LAUNCHING, self.actor,
                      f"{count} file(s), {size} bytes: {task.mql}" if size is not None else task.mql)
        self.session.add(task)
        self.session.commit()

    def _check_launcher(self, sub: Submission, stage: CampaignStage) -> None:
        """The launcher must still be allowed to launch this stage (background actions are checked too)."""
        if sub.launcher is None:
            return                                        # a system launch (the scheduler, dependencies)
        try:
            permissions.check(Actor.person(sub.launcher), "stage.launch", stage.campaign.experiment_id, stage.role)
        except (NotFound, PermissionDenied) as err:
            raise LaunchFailed(f"{sub.launcher.username} may no longer launch this stage: {err.message}") from None

    def _count(self, resolution: Resolution, adapters: ExperimentAdapters) -> tuple[int, int | None, str]:
        """(files, bytes or None, the MQL that defined them: for the override, the project's own query)."""
        if resolution.project_id is not None:
            project = adapters.data_dispatcher.get_project(resolution.project_id, with_handles=True)
            if project is None:
                where = ("the stage's project id" if resolution.split_type is None
                         else f"an item of the split type {resolution.split_type}")
                raise LaunchFailed(f"Data Dispatcher has no project {resolution.project_id} ({where}); correct the "
                                   "stage.")
            return (project.counts.total if project.counts else 0), None, project.query or ""
        if resolution.slice.parameter_launch and not resolution.slice.mql.strip():
            # A parameter launch without a query (multiparam, a list item 'param: x' on a stage without one): the
            # job makes its own project from the parameter; there is nothing to count.
            return 0, None, ""
        try:
            counted = adapters.metacat.validate(resolution.slice.mql)
        except InvalidInput as err:
            raise LaunchFailed(f"MetaCat rejects the query {resolution.slice.mql!r}: {err.message}") from None
        if counted.count == 0:
            if resolution.slice.exhausts_when_empty:
                raise SplitExhausted("All slices have been launched: the next slice selects no files. Reset the "
                                     "split to process the files again.")
            raise LaunchFailed(f"Nothing to launch: {resolution.slice.mql!r} selects no files.")
        return counted.count, counted.total_size, resolution.slice.mql

    def _task(self, sub: Submission, stage: CampaignStage, res: Resolution, count: int) -> DataDispatcherSubmission:
        camp = stage.campaign
        prefix = f"{stage.id}:{'test' if res.test else 'production'}:{res.slice.key}:"
        attempt = 1 + (self.session.scalar(select(func.count()).select_from(DataDispatcherSubmission).where(
            DataDispatcherSubmission.idempotency_key.like(prefix.replace("%", r"\%") + "%"))) or 0)
        before = dict((stage.test_split_cursor if res.test else stage.split_cursor) or {})
        slice_record: dict[str, Any] = {
            "key": res.slice.key, "index": res.slice.index, "epoch": int(before.get("epoch", 0)), "test": res.test,
            "cursor_before": before, "cursor_after": dict(res.slice.cursor), "attempt": attempt,
            "parameter_launch": res.slice.parameter_launch, "covers": dict(res.slice.covers),
            "existing_project": res.project_id is not None}
        if res.slice.fids is not None:
            slice_record["frozen_files"] = len(res.slice.fids)     # the fids themselves: slice_delivery
        task = DataDispatcherSubmission(
            submission_id=sub.id, stage_id=stage.id, idempotency_key=prefix + str(attempt), mql=res.slice.mql,
            split_type=res.split_type, split_slice=slice_record, parameter=res.slice.parameter,
            project_id=res.project_id, file_count=count,
            worker_timeout=_first(stage.dd_worker_timeout, camp.dd_worker_timeout,
                                  camp.experiment.default_worker_timeout),
            idle_timeout=_first(stage.dd_idle_timeout, camp.dd_idle_timeout, camp.experiment.default_idle_timeout),
            virtual=bool(stage.dd_virtual if stage.dd_virtual is not None else camp.dd_virtual),
            load_limit=_first(stage.dd_load_limit, camp.dd_load_limit))
        sub.dd_task = task
        return task

    def _project(self, sub: Submission, task: DataDispatcherSubmission, look_up: bool = True) -> None:
        """Find the project DD may already have for this task (``look_up``), else create it; record it and
        advance the split cursor in one transaction."""
        dd = self._adapters(sub).data_dispatcher
        # Every id of ours, not the task id alone: a project of another poms_dd database on the same DD (a test
        # instance, say) can carry the same task id.
        found = look_up and dd.list_projects({"poms_task_id": int(task.id), "poms_submission_id": int(sub.id),
                                  "poms_stage_id": int(sub.stage_id),
                                  "poms_experiment": sub.stage.campaign.experiment.name}, state=None)
        if found:
            project = found[0]
            note = f"found Data Dispatcher project {project.project_id} of this launch (created before a restart)"
        else:
            project = self._create(sub, task)
            note = f"Data Dispatcher project {project.project_id} created with {task.file_count} file(s)"
        task.project_id = project.project_id
        task.project_state = project.state
        stage = self._locked_stage(sub)
        field = cursor_field(bool(task.split_slice.get("test")))
        setattr(stage, field, dict(task.split_slice.get("cursor_after") or {}))
        record_status(sub, SubmissionStatus.LAUNCHING, self.actor, note)
        self.session.commit()

    def _create(self, sub: Submission, task: DataDispatcherSubmission):
        adapters = self._adapters(sub)
        stage = sub.stage
        users = [u for u in dict.fromkeys([sub.launcher.username if sub.launcher else None,
                                          stage.owner.username if stage.owner else None]) if u]
        roles = [stage.campaign.experiment.service_role] if stage.campaign.experiment.service_role else []
        launcher = sub.launcher.username if sub.launcher else self.actor.name
        return adapters.data_dispatcher.create_project(
            adapters.metacat.iter_names(task.mql), attributes=project_attributes(sub, task, launcher),
            query=task.mql, users=users, roles=roles, worker_timeout=task.worker_timeout,
            idle_timeout=task.idle_timeout if task.idle_timeout is not None else None, virtual=task.virtual)

    def _split_spec(self, stage: CampaignStage, sub: Submission):
        """The split the launch used, keywords substituted (None: none, or it cannot be read)."""
        try:
            ctx = split_context(self.session, stage, sub.launch_kind == LaunchKind.TEST, None)
        except InvalidInput:
            return None
        return ctx.spec if ctx is not None else None

    def _mark_exhausted(self, sub: Submission) -> None:
        """Note on the stage that its split is exhausted; a schedule of a split that cannot refill stops."""
        stage = self._locked_stage(sub)
        spec = self._split_spec(stage, sub)
        test = sub.launch_kind == LaunchKind.TEST
        field = cursor_field(test)
        setattr(stage, field, {**dict(getattr(stage, field) or {}), EXHAUSTED_AT: utcnow().isoformat()})
        if not test and stage.cron_schedule and spec is not None and not spec.split_type.refills:
            stage.schedule_disabled_reason = (
                f"The schedule {stage.cron_schedule!r} stopped on {utcnow():%Y-%m-%d %H:%M} UTC: all slices of "
                f"{spec.text} have been launched. Reset the split to start it again.")

    def _fail(self, sub: Submission, reason: str, exhausted: bool = False) -> None:
        """Launch failed: cancel the project made for it (no orphan), give the slice back, record why
        (``exhausted``: the split had no slice left, which the stage notes)."""
        self.session.rollback()
        sub = self._locked(sub.id)
        if exhausted:
            self._mark_exhausted(sub)
        task = sub.dd_task
        created_here = task is not None and not (task.split_slice or {}).get("existing_project")
        if created_here and task.project_id is not None and sub.launch_kind != "override":
            try:
                self._adapters(sub).data_dispatcher.cancel_project(task.project_id)
                task.project_state = "cancelled"
            except PomsDDError as err:
                reason += f" (cancelling Data Dispatcher project {task.project_id} failed too: {err.message})"
        if task is not None:
            self._give_back(sub, task)
        record_status(sub, SubmissionStatus.LAUNCH_FAILED, self.actor, reason)
        self.session.commit()
        log.info("launch of submission %s failed: %s", sub.id, reason)

    def _give_back(self, sub: Submission, task: DataDispatcherSubmission) -> None:
        """Put the split cursor back if it still points after this slice (nothing launched since)."""
        stage = self._locked_stage(sub)
        field = cursor_field(bool(task.split_slice.get("test")))
        if dict(getattr(stage, field) or {}) == dict(task.split_slice.get("cursor_after") or {}):
            setattr(stage, field, dict(task.split_slice.get("cursor_before") or {}))


def _exhausted_message(spec, split_text: str | None) -> str:
    if spec is not None and spec.split_type.refills:
        return (f"Nothing new to launch: every file the split type {spec.text} can take now has been launched. "
                "Launch again when the query has new files, or reset the split to process the files again.")
    return (f"All slices of the split type {spec.text if spec is not None else split_text} have been launched: "
            "nothing is left to launch. Reset the split to process the files again.")


def _first(*values):
    return next((v for v in values if v is not None), None)
