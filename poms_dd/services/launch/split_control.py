"""Looking at and steering a stage's split (SPEC §5 end, §8.1): the preview (a dry run of the next slices), the
reset (start the split over) and the edit of the cursor (the stage owner's escape hatch).

* **Preview** — the next N slices exactly as the next N launches would take them (``SplitType.peek`` on the
  launch's own :func:`resolve.split_context`, keywords substituted), with what :mod:`split_preview` reports per
  slice.  Nothing is created or changed: the transaction is rolled back whatever happened.  Permission: as
  launching the stage.
* **Reset** — the cursor in use becomes ``{"epoch": old + 1}``: slices start again from the first, and files
  delivered by earlier slices (drainingn, stagedfiles) no longer count as delivered, since those records carry
  the epoch they were made in.  A production reset also clears ``schedule_disabled_reason``.  Permission: as
  launching the stage.  Refused (409) while a launch of the same cursor is between "resolved" and "recorded":
  that launch would write its own cursor over the reset.
* **Edit cursor** — the stage owner or an experiment superuser sets the cursor to a JSON object of the shape
  the split type writes (:mod:`split_cursor`).

Both changes are audited with the cursor before and after.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any, Callable

from sqlalchemy import Boolean, Integer, func, select
from sqlalchemy.orm import Session

from ... import permissions
from ...errors import Conflict, ConfigurationError, ExternalServiceError, InvalidInput, PermissionDenied
from ...models import (CampaignStage, DataDispatcherSubmission, DataHandlingService, LaunchKind, Role,
                       SliceDelivery, Submission, SubmissionStatus)
from ...permissions import Actor
from .. import audit
from ..campaigns.keywords import substitute
from ..scope import Scope
from ..splits import QUERY_MQL, SPLIT_TYPES, NotLaunchable, SplitType, parse
from ..splits.base import drift
from .resolve import DELIVERING, cursor_field, resolve, split_context
from .split_cursor import checked_cursor, cursor_keys
from .split_preview import DEFAULT_SLICES, REPLICA_BUDGET, SliceDescriber, SplitPreview, cursor_notes
from .split_values import check_text, is_test, slice_count


@dataclass
class ResetSummary:
    """What a reset gives back: the launches of the cursor's current epoch (since the last reset) and the
    files they took; ``frozen_files`` is how many files slices frozen to their fids delivered."""

    stage: CampaignStage
    test: bool
    split_type: str | None
    cursor: dict[str, Any]
    epoch: int
    launches: int
    files: int
    frozen_files: int
    first_at: dt.datetime | None
    last_at: dt.datetime | None

    @property
    def exhausted_at(self) -> str | None:
        return cursor_notes(self.cursor)


class SplitService:
    """Preview, reset and cursor edits of stages' splits, for one actor."""

    def __init__(self, session: Session, actor: Actor, scope: Scope, adapters_for: Callable,
                 clock: Callable[[], dt.datetime] | None = None, replica_budget: int = REPLICA_BUDGET):
        self.session = session
        self.actor = actor
        self.scope = scope
        self.adapters_for = adapters_for
        self.clock = clock
        self.replica_budget = replica_budget

    # --- preview -------------------------------------------------------------------------------------------

    def preview(self, experiment: str, campaign_id: int, stage_id: int, slices: int | str | None = DEFAULT_SLICES,
                kind: str = LaunchKind.STANDARD, replicas: bool = True) -> SplitPreview:
        """The next ``slices`` slices of the stage (test split type and cursor for ``kind="test"``).

        Raises NotFound, PermissionDenied (as launching the stage), InvalidInput (bad arguments, a SAM stage, a
        split the stage cannot run), Conflict (the experiment is not onboarded), ExternalServiceError.
        """
        n, test = slice_count(slices), is_test(kind)
        stage = self.launchable(experiment, campaign_id, stage_id)
        try:
            adapters = self._adapters(stage)
            describer = SliceDescriber(adapters, replicas, self.replica_budget)
            preview = self._preview(stage, test, n, adapters, describer)
            if describer.rucio_missing:
                preview.notes.append(describer.rucio_missing)
                preview.replicas_checked = False
            return preview
        finally:
            self.session.rollback()                  # a dry run: nothing of it is kept

    def _preview(self, stage: CampaignStage, test: bool, n: int, adapters,
                 describer: SliceDescriber) -> SplitPreview:
        cursor = dict(getattr(stage, cursor_field(test)) or {})
        kind = LaunchKind.TEST if test else LaunchKind.STANDARD
        common = {"kind": str(kind), "cursor": cursor, "exhausted_at": cursor_notes(cursor),
                  "replicas_checked": describer.replicas}
        ctx = None if stage.data_dispatcher_project_id else split_context(self.session, stage, test, adapters,
                                                                          self.clock)
        if ctx is None:                              # the project-id override, or no split type: one slice
            resolution = resolve(self.session, stage, kind, adapters, self.clock)
            chosen = dataclasses.replace(resolution.slice, project_id=resolution.project_id)
            note = ("The stage's project-id override: every launch uses this project and ignores the split type."
                    if resolution.project_id is not None else "No split type: every launch takes the whole query.")
            return SplitPreview(stage, split_type=None, slices=[describer.describe(0, chosen)], repeats=True,
                                override_project_id=resolution.project_id, notes=[note], **common)
        split_type = ctx.spec.split_type
        try:
            got, exhausted = split_type.peek(ctx.spec.params, ctx.query, ctx.cursor, ctx.source, n + 1)
        except NotLaunchable as err:
            raise InvalidInput(str(err)) from None
        exhausted = exhausted and len(got) <= n      # one slice more than shown says whether one is left
        shown = [describer.describe(i, s) for i, s in enumerate(got[:n])]
        if exhausted and shown:
            shown[-1].last = True
        preview = SplitPreview(stage, split_type=ctx.spec.text, slices=shown, exhausted=exhausted,
                               refills=split_type.refills, repeats=not exhausted and len(got) <= n, **common)
        if split_type.query_form == QUERY_MQL and ctx.query:
            try:
                preview.drift = drift(ctx.query, ctx.cursor, ctx.source)
            except (InvalidInput, ExternalServiceError) as err:     # drift is a side note; the slices stand
                preview.notes.append(f"How the query changed since the first slice could not be counted: "
                                     f"{err.message}")
        return preview

    # --- reset ---------------------------------------------------------------------------------------------

    def reset_summary(self, experiment: str, campaign_id: int, stage_id: int,
                      kind: str = LaunchKind.STANDARD) -> ResetSummary:
        """What a reset of the cursor of ``kind`` would start over.  Raises NotFound, PermissionDenied,
        InvalidInput."""
        test = is_test(kind)
        stage = self.launchable(experiment, campaign_id, stage_id)
        cursor = dict(getattr(stage, cursor_field(test)) or {})
        epoch = _epoch(cursor)
        task, sub = DataDispatcherSubmission, Submission
        launches, files, first, last = self.session.execute(
            select(func.count(), func.coalesce(func.sum(task.file_count), 0), func.min(sub.created_at),
                   func.max(sub.created_at))
            .select_from(task).join(sub, sub.id == task.submission_id)
            .where(task.stage_id == stage.id, sub.status.in_(DELIVERING),
                   func.coalesce(task.split_slice["epoch"].astext.cast(Integer), 0) == epoch,
                   func.coalesce(task.split_slice["test"].astext.cast(Boolean), False).is_(test))).one()
        frozen = self.session.scalar(
            select(func.count()).select_from(SliceDelivery).join(sub, sub.id == SliceDelivery.submission_id)
            .where(SliceDelivery.stage_id == stage.id, SliceDelivery.test.is_(test), SliceDelivery.epoch == epoch,
                   sub.status.in_(DELIVERING))) or 0
        text = (stage.test_split_type if test else None) or stage.split_type
        return ResetSummary(stage, test, text, cursor, epoch, int(launches), int(files), int(frozen), first, last)

    def reset(self, experiment: str, campaign_id: int, stage_id: int, kind: str = LaunchKind.STANDARD
              ) -> CampaignStage:
        """Start the split of ``kind`` over (see the module docstring).  Raises NotFound, PermissionDenied,
        InvalidInput, Conflict (a launch of this cursor is in progress)."""
        test = is_test(kind)
        stage = self._locked(self.launchable(experiment, campaign_id, stage_id))
        self._refuse_during_launch(stage, test)
        field = cursor_field(test)
        before = {field: dict(getattr(stage, field) or {}), "schedule_disabled_reason": stage.schedule_disabled_reason}
        setattr(stage, field, {"epoch": _epoch(before[field]) + 1})
        if not test:
            stage.schedule_disabled_reason = None
        after = {field: dict(getattr(stage, field)), "schedule_disabled_reason": stage.schedule_disabled_reason}
        audit.record(self.session, self.actor, "stage.split_reset", "stage", stage.id,
                     experiment_id=stage.campaign.experiment_id, before=before, after=after,
                     summary=f"{'test' if test else 'production'} split of stage {stage.name} reset "
                             f"(epoch {after[field]['epoch']})")
        self.session.commit()
        return stage

    # --- edit the cursor -----------------------------------------------------------------------------------

    def cursor_edit_refusal(self, stage: CampaignStage) -> str | None:
        """Why the actor may not edit the stage's cursors, or None: the stage owner (who may launch it) and the
        experiment's superusers may."""
        if self.actor.is_system:
            return None
        exp_id = stage.campaign.experiment_id
        user = self.actor.user
        if user is not None and permissions.role_in(user, exp_id) == Role.SUPERUSER:
            return None
        if user is not None and stage.owner_id == user.id and self.scope.allowed("stage.launch", exp_id, stage.role):
            return None
        owner = f"its owner {stage.owner.username}" if stage.owner is not None else "its owner (it has none)"
        return (f"Only {owner} or a superuser of experiment {stage.campaign.experiment.name} may edit the split "
                f"cursor of stage {stage.name}. Resetting the split (starting it over) needs only the right to "
                "launch the stage.")

    def cursor_stage(self, experiment: str, campaign_id: int, stage_id: int) -> CampaignStage:
        """The stage, if the actor may edit its cursors.  Raises NotFound, PermissionDenied."""
        stage = self.scope.stage_in(experiment, campaign_id, stage_id)
        refusal = self.cursor_edit_refusal(stage)
        if refusal:
            raise PermissionDenied(refusal)
        return stage

    def cursor_keys(self, stage: CampaignStage, test: bool) -> tuple[str, ...]:
        """The cursor keys an edit may hold for the stage's split of ``test`` (empty: no split type)."""
        spec = self._spec(stage, test)
        return cursor_keys(spec.kind, getattr(stage, cursor_field(test)) or {}) if spec else ()

    def edit_cursor(self, experiment: str, campaign_id: int, stage_id: int, cursor: Any,
                    kind: str = LaunchKind.STANDARD) -> CampaignStage:
        """Set the cursor of ``kind`` to ``cursor`` (checked against the split type).  A production edit also
        clears ``schedule_disabled_reason``.  Raises NotFound, PermissionDenied, InvalidInput, Conflict."""
        test = is_test(kind)
        stage = self._locked(self.cursor_stage(experiment, campaign_id, stage_id))
        spec = self._spec(stage, test)
        if spec is None:
            raise InvalidInput(f"Stage {stage.name} has no {'test ' if test else ''}split type, so it has no cursor "
                               "to edit.")
        field = cursor_field(test)
        current = dict(getattr(stage, field) or {})
        new = checked_cursor(spec.kind, current, cursor)
        self._refuse_during_launch(stage, test)
        before = {field: current, "schedule_disabled_reason": stage.schedule_disabled_reason}
        setattr(stage, field, new)
        if not test:
            stage.schedule_disabled_reason = None
        audit.record(self.session, self.actor, "stage.split_cursor", "stage", stage.id,
                     experiment_id=stage.campaign.experiment_id, before=before,
                     after={field: dict(new), "schedule_disabled_reason": stage.schedule_disabled_reason},
                     summary=f"{'test' if test else 'production'} split cursor of stage {stage.name} set to {new}")
        self.session.commit()
        return stage

    # --- split type help -----------------------------------------------------------------------------------

    def split_types(self, experiment: str) -> list[SplitType]:
        """Every split type, for the help pages (members of the experiment).  Raises NotFound."""
        self.scope.experiment(experiment)
        return list(SPLIT_TYPES.values())

    def check_split_text(self, experiment: str, text: str | None, campaign_id: int | None = None) -> dict[str, Any]:
        """The stage form's live check of a typed split type (``split_values.check_text``), with the campaign's
        keywords substituted when ``campaign_id`` is given.  Raises NotFound."""
        exp = self.scope.experiment(experiment)
        keywords = (self.scope.campaign(exp, campaign_id).keywords or {}) if campaign_id is not None else None
        return check_text(text, keywords)

    # --- shared steps --------------------------------------------------------------------------------------

    def launchable(self, experiment: str, campaign_id: int, stage_id: int) -> CampaignStage:
        """The stage, if the actor may launch it and it is a Data Dispatcher stage.  Raises NotFound,
        PermissionDenied, InvalidInput (SAM)."""
        stage = self.scope.stage_in(experiment, campaign_id, stage_id)
        self.scope.check("stage.launch", stage.campaign.experiment_id, stage.role)
        if stage.campaign.data_handling_service != DataHandlingService.DATA_DISPATCHER:
            raise InvalidInput(f"Stage {stage.name} belongs to a SAM campaign: poms_dd splits and launches Data "
                               "Dispatcher stages only.")
        return stage

    def _adapters(self, stage: CampaignStage):
        try:
            return self.adapters_for(stage.campaign.experiment)
        except ConfigurationError as err:
            raise Conflict(f"{err.message} An administrator must complete the onboarding of experiment "
                           f"{stage.campaign.experiment.name} first.") from None

    def _locked(self, stage: CampaignStage) -> CampaignStage:
        """The stage row, locked for this transaction (the launch runner changes cursors under the same lock)."""
        return self.session.scalar(select(CampaignStage).where(CampaignStage.id == stage.id).with_for_update()
                                   .execution_options(populate_existing=True))

    def _refuse_during_launch(self, stage: CampaignStage, test: bool) -> None:
        kind_is = Submission.launch_kind == LaunchKind.TEST if test else Submission.launch_kind != LaunchKind.TEST
        busy = self.session.scalar(select(Submission.id).where(
            Submission.stage_id == stage.id, Submission.status == SubmissionStatus.LAUNCHING, kind_is).limit(1))
        if busy is not None:
            self.session.rollback()
            raise Conflict(f"Submission {busy} of stage {stage.name} is being launched and will record the cursor "
                           "after its slice; change the split when it has finished (usually seconds).")

    def _spec(self, stage: CampaignStage, test: bool):
        text = (stage.test_split_type if test else None) or stage.split_type
        if not text:
            return None
        try:
            return parse(substitute(text, stage.campaign.keywords or {}))
        except InvalidInput as err:
            raise InvalidInput(f"The split type {text!r} of stage {stage.name} cannot be read: {err.message}") \
                from None


def _epoch(cursor: dict[str, Any]) -> int:
    value = cursor.get("epoch", 0)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


