"""Asking for a launch (SPEC §4.4, §4.5, §8.1): a queued submission and its job, in one transaction.

The web request (page or API) only records the intent and enqueues the job; the launch itself runs in a
``poms-dd worker`` (``runner.py``).  The same request key (the API's ``Idempotency-Key`` header, or the launch
form's one-time key) always answers with the same submission: a double click, two browsers submitting one form,
or a retried API call make one submission.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ...errors import ConfigurationError, ExternalServiceError, InvalidInput
from ...models import (CampaignStage, DataHandlingService, LaunchKind, Submission, SubmissionStatus,
                       SubmissionStatusEvent)
from ...permissions import Actor
from .. import audit
from ..campaigns.snapshots import stage_snapshot
from ..scope import Scope
from .resolve import resolve

REQUESTABLE = (LaunchKind.STANDARD, LaunchKind.TEST)
MAX_KEY = 200
LARGE_PROJECT = 10_000


class LaunchQueue(Protocol):
    """Enqueues the launch job of a submission inside the caller's transaction (``poms_dd.tasks``)."""

    def enqueue_launch(self, session: Session, submission_id: int, stage_id: int) -> None: ...


@dataclass
class LaunchPreview:
    """The confirm step's picture of a launch: the exact MQL and its size, or why it cannot launch."""

    stage: CampaignStage
    mql: str | None = None
    file_count: int | None = None
    total_size: int | None = None
    split_type: str | None = None
    slice_key: str | None = None
    parameter_launch: bool = False
    parameter: str | None = None
    project_id: int | None = None
    exhausted: bool = False
    error: str | None = None

    @property
    def too_big(self) -> bool:
        """Above ~10,000 files every DD release gets slow (PROTOCOLS.md §9): suggest a split type."""
        return bool(self.file_count and self.file_count > LARGE_PROJECT and not self.parameter_launch)


def record_status(sub: Submission, status: str, actor: Actor | str, reason: str = "") -> None:
    """Set the status and append it to the submission's history (who, when, why)."""
    sub.status = status
    sub.history.append(SubmissionStatusEvent(status=status, reason=reason,
                                             changed_by=actor if isinstance(actor, str) else actor.name))


class LaunchRequestService:
    """Queue launches of a stage for the actor (a person, or the scheduler as a system actor)."""

    def __init__(self, session: Session, actor: Actor, scope: Scope, queue: LaunchQueue | None,
                 adapters_for: Callable | None = None, hold_all: bool = False):
        self.hold_all = hold_all                     # the deployment's global hold (POMS_DD_GLOBAL_HOLD)
        self.session = session
        self.actor = actor
        self.scope = scope
        self.queue = queue
        self.adapters_for = adapters_for

    def launchable_stage(self, experiment: str, campaign_id: int, stage_id: int) -> CampaignStage:
        """The stage, if the actor may launch it and it is a Data Dispatcher stage.

        Raises NotFound, PermissionDenied (production stages need the production role), InvalidInput (SAM).
        """
        stage = self.scope.stage_in(experiment, campaign_id, stage_id)
        self.scope.check("stage.launch", stage.campaign.experiment_id, stage.role)
        if stage.campaign.data_handling_service != DataHandlingService.DATA_DISPATCHER:
            raise InvalidInput(f"Stage {stage.name} belongs to a SAM campaign: poms_dd launches Data Dispatcher "
                               "stages only. Launch it from the campaign manager's SAM pages, or switch the "
                               "campaign to data_dispatcher.")
        return stage

    def preview(self, experiment: str, campaign_id: int, stage_id: int,
                kind: str = LaunchKind.STANDARD) -> LaunchPreview:
        """What a launch of ``kind`` would process now, without creating anything (the confirm step).

        Raises NotFound, PermissionDenied, InvalidInput (SAM); service problems become ``error``.
        """
        stage = self.launchable_stage(experiment, campaign_id, stage_id)
        try:
            adapters = self.adapters_for(stage.campaign.experiment)
            resolution = resolve(self.session, stage, kind, adapters)
            if resolution is None:
                return LaunchPreview(stage, exhausted=True)
            if resolution.project_id is not None:
                project = adapters.data_dispatcher.get_project(resolution.project_id, with_handles=True)
                if project is None:
                    return LaunchPreview(stage, resolution.slice.mql, error=f"Data Dispatcher has no project "
                                         f"{resolution.project_id}.")
                return LaunchPreview(stage, resolution.slice.mql, project.counts.total if project.counts else 0,
                                     project_id=resolution.project_id)
            if resolution.slice.parameter_launch and not resolution.slice.mql.strip():
                return LaunchPreview(stage, "", split_type=resolution.split_type, slice_key=resolution.slice.key,
                                     parameter_launch=True, parameter=resolution.slice.parameter)
            counted = adapters.metacat.validate(resolution.slice.mql)
        except (InvalidInput, ExternalServiceError, ConfigurationError) as err:
            return LaunchPreview(stage, error=err.message)
        finally:
            self.session.rollback()                   # resolving read the stage; nothing to keep
        return LaunchPreview(stage, resolution.slice.mql, counted.count, counted.total_size,
                             split_type=resolution.split_type, slice_key=resolution.slice.key,
                             parameter_launch=resolution.slice.parameter_launch,
                             parameter=resolution.slice.parameter,
                             exhausted=counted.count == 0 and resolution.slice.exhausts_when_empty)

    def request(self, experiment: str, campaign_id: int, stage_id: int, kind: str = LaunchKind.STANDARD,
                key: str | None = None) -> tuple[Submission, bool]:
        """Queue a launch: ``(submission, created)``; ``created`` is False when ``key`` was used before.

        A stage on hold gets a submission in status ``held`` (launched when released).  Raises NotFound,
        PermissionDenied, InvalidInput (kind, key, SAM stage), ConfigurationError (no job queue).
        """
        stage = self.launchable_stage(experiment, campaign_id, stage_id)
        if kind not in REQUESTABLE:
            raise InvalidInput(f"Unknown launch kind {kind!r}; use standard or test.",
                               field_errors={"kind": ["standard or test"]})
        key = _checked_key(key)
        if key is not None:
            existing = self._by_key(stage, key)
            if existing is not None:
                return existing, False
        if self.queue is None:
            raise ConfigurationError("No job queue is configured: launches need the poms-dd worker's queue.")
        try:
            sub = self._create(stage, kind, key)
        except IntegrityError:                    # the same key, submitted at the same moment elsewhere
            self.session.rollback()
            return self._by_key(stage, key), False
        return sub, True

    def _create(self, stage: CampaignStage, kind: str, key: str | None) -> Submission:
        override = kind == LaunchKind.STANDARD and stage.data_dispatcher_project_id
        sub = Submission(stage_id=stage.id, launcher_id=self.actor.user_id, request_key=key,
                         launch_kind=LaunchKind.OVERRIDE if override else kind,
                         data_handling_service=DataHandlingService.DATA_DISPATCHER,
                         settings_snapshot=stage_snapshot(stage))
        sub.stage = stage
        held = bool(stage.hold) or self.hold_all
        why = "the stage is on hold" if stage.hold else "all launches are on hold (global hold)"
        record_status(sub, SubmissionStatus.HELD if held else SubmissionStatus.QUEUED, self.actor,
                      why if held else f"{kind} launch requested")
        self.session.add(sub)
        with self.session.begin_nested():
            self.session.flush()
        if not held:
            self.queue.enqueue_launch(self.session, sub.id, stage.id)
        audit.record(self.session, self.actor, "stage.launch", "submission", sub.id,
                     experiment_id=stage.campaign.experiment_id,
                     after={"stage_id": stage.id, "launch_kind": sub.launch_kind, "status": sub.status},
                     summary=f"{sub.launch_kind} launch of stage {stage.name} queued as submission {sub.id}")
        self.session.commit()
        return sub

    def _by_key(self, stage: CampaignStage, key: str | None) -> Submission | None:
        return self.session.scalar(select(Submission).where(Submission.stage_id == stage.id,
                                                            Submission.request_key == key))


def _checked_key(key: str | None) -> str | None:
    if key is None or not key.strip():
        return None
    key = key.strip()
    if len(key) > MAX_KEY or not key.isprintable():
        raise InvalidInput(f"An idempotency key is 1-{MAX_KEY} printable characters.",
                           field_errors={"Idempotency-Key": [f"1-{MAX_KEY} printable characters"]})
    return key
