"""Campaign configuration use cases (SPEC §2, §3): campaigns, stages, dependencies, cloning.

``CampaignService(session, actor)``.  Objects are found through :class:`~poms_dd.services.scope.Scope`
(non-members get NotFound, members without the role PermissionDenied).  Every method validates the whole
input before changing anything (bad input → InvalidInput(field_errors=...) and nothing stored), writes an
audit event with before/after, and commits.  Dependencies and cloning are their own services
(``dependencies.py``, ``cloning.py``) on the same scope.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...errors import Conflict, InvalidInput, PomsDDError
from ...models import Campaign, CampaignStage, Experiment, LaunchTemplate, StageRole, Submission
from ...permissions import Actor
from .. import audit
from ..scope import Scope
from .keywords import Preview, parse_keywords_text, preview
from .names import check_name_free, flush_unique
from .campaign_rules import CAMPAIGN_FIELDS, clean_campaign, validate_campaign
from .stage_rules import (STAGE_FIELDS, clean_stage, stage_values,
                          validate_stage)
from .names import CAMPAIGN_LABELS, STAGE_LABELS, invalid_labelled, label
from .data_checks import DataNote, stage_data_notes
from .snapshots import campaign_snapshot, stage_snapshot


def _invalid(errors: dict[str, list[str]]):
    return invalid_labelled(errors, CAMPAIGN_LABELS)


def _invalid_stage(errors: dict[str, list[str]]):
    return invalid_labelled(errors, STAGE_LABELS)


QUERY = "data_dispatcher_dataset_query"


def validate_stage_all(values: Mapping[str, Any], data_handling_service: str,
                       keywords: Mapping[str, Any] | None = None) -> dict[str, list[str]]:
    """``validate_stage`` that reports every problem at once: a split type it cannot read keeps it from judging
    the query, so the query is then also checked on its own (as with no split type) and its messages added.
    A bare number is left alone there: it may be the project id a stagedfiles(n) split type wants."""
    errors = validate_stage(values, data_handling_service, keywords)
    split_broken = any(f in errors for f in ("split_type", "test_split_type"))
    raw = str(values.get(QUERY) or "").strip()
    if split_broken and QUERY not in errors and raw and not raw.isdigit():
        alone = validate_stage({**values, "split_type": None, "test_split_type": None}, data_handling_service,
                               keywords)
        if alone.get(QUERY):
            errors[QUERY] = alone[QUERY]
    return errors


PREVIEW_FIELDS = ("data_dispatcher_dataset_query", "sam_dataset", "split_type", "test_split_type",
                  "output_file_patterns", "software_version", "job_config")


class CampaignService:
    """Read and change the campaigns of an experiment and their stages."""

    def __init__(self, session: Session, actor: Actor, scope: Scope | None = None,
                 adapters: Callable[[Experiment], Any] | None = None):
        self.session = session
        self.actor = actor
        self.scope = scope or Scope(session, actor)
        self.adapters = adapters       # the experiment's adapters, for the save-time data checks

    def experiment(self, name: str, action: str = "experiment.view") -> Experiment:
        """The experiment, if the actor may do ``action`` in it.  Raises NotFound, PermissionDenied."""
        return self.scope.experiment(name, action)

    # --- reading ------------------------------------------------------------------------------------------

    def list_campaigns(self, experiment: str) -> list[Campaign]:
        """The experiment's campaigns by name.  Raises NotFound, NotAuthenticated."""
        exp = self.experiment(experiment)
        return list(self.session.scalars(select(Campaign).where(Campaign.experiment_id == exp.id)
                                         .order_by(Campaign.name)))

    def get_campaign(self, experiment: str, campaign_id: int) -> Campaign:
        """Raises NotFound (no such campaign in this experiment, or not a member)."""
        return self.scope.campaign(self.experiment(experiment), campaign_id)

    def get_stage(self, experiment: str, campaign_id: int, stage_id: int) -> CampaignStage:
        """Raises NotFound."""
        return self.scope.stage(self.get_campaign(experiment, campaign_id), stage_id)

    def submission_counts(self, experiment: str) -> dict[str, int]:
        """Submissions of the experiment by status (the experiment page's summary), from the database."""
        exp = self.experiment(experiment)
        rows = self.session.execute(
            select(Submission.status, func.count()).join(CampaignStage, Submission.stage_id == CampaignStage.id)
            .join(Campaign, CampaignStage.campaign_id == Campaign.id).where(Campaign.experiment_id == exp.id)
            .group_by(Submission.status))
        return {status: n for status, n in rows}

    def data_notes(self, stage: CampaignStage) -> list[DataNote]:
        """Save-time checks of the stage's query or project id against MetaCat/DD (warnings, never refusals;
        a service that cannot be reached gives a "could not check" note)."""
        return stage_data_notes(self.adapters, stage.campaign.experiment, stage)

    def stage_preview(self, stage: CampaignStage) -> list[Preview]:
        """The stage's text fields with the campaign keywords substituted (or the substitution error)."""
        return preview({f: getattr(stage, f) for f in PREVIEW_FIELDS}, stage.campaign.keywords)

    # --- campaigns ----------------------------------------------------------------------------------------

    def create_campaign(self, experiment: str, data: Mapping[str, Any]) -> Campaign:
        """Create a campaign.  Raises NotFound, PermissionDenied, InvalidInput (field errors, name taken)."""
        exp = self.experiment(experiment, "campaign.create")
        values = self._campaign_values(data, {})
        errors = validate_campaign(values)
        check_name_free(self.session, errors, Campaign, Campaign.experiment_id == exp.id, values.get("name"), None,
                        f"experiment {exp.name}")
        if errors:
            raise _invalid(errors)
        camp = Campaign(experiment_id=exp.id, created_by_id=self.actor.user_id,
                        **clean_campaign(values))
        camp.experiment = exp
        self.session.add(camp)
        flush_unique(self.session, "name", f"A campaign named {camp.name!r} already exists in {exp.name}.")
        audit.record(self.session, self.actor, "campaign.create", "campaign", camp.id, experiment_id=exp.id,
                     after=campaign_snapshot(camp), summary=f"created campaign {camp.name}")
        self.session.commit()
        return camp

    def update_campaign(self, experiment: str, campaign_id: int, data: Mapping[str, Any]) -> Campaign:
        """Change the fields present in ``data``.  A changed data handling service or keywords must suit
        every stage.  Raises NotFound, PermissionDenied, InvalidInput."""
        exp = self.experiment(experiment, "campaign.edit")
        camp = self.scope.campaign(exp, campaign_id)
        self.check_campaign_edit(camp)
        before = campaign_snapshot(camp)
        values = self._campaign_values(data, before)
        errors = validate_campaign(values)
        check_name_free(self.session, errors, Campaign, Campaign.experiment_id == exp.id, values.get("name"), camp.id,
                        f"experiment {exp.name}")
        if not errors:
            cleaned = clean_campaign(values)
            for stage in camp.stages:
                for field, msgs in validate_stage_all(stage_values(stage), cleaned["data_handling_service"],
                                                      cleaned["keywords"]).items():
                    target = "keywords" if "campaign keyword" in msgs[0] else "data_handling_service"
                    errors.setdefault(target, []).extend(f"Stage {stage.name!r}, {label(field, STAGE_LABELS)}: {m}"
                                                         for m in msgs)
        if errors:
            raise _invalid(errors)
        for name, value in cleaned.items():
            setattr(camp, name, value)
        flush_unique(self.session, "name", f"A campaign named {camp.name!r} already exists in {exp.name}.")
        after = campaign_snapshot(camp)
        if after != before:
            audit.record(self.session, self.actor, "campaign.update", "campaign", camp.id,
                         experiment_id=exp.id, before=before, after=after, summary=f"changed campaign {camp.name}")
        self.session.commit()
        return camp

    def production_stages(self, camp: Campaign) -> list[CampaignStage]:
        return [s for s in camp.stages if s.role == StageRole.PRODUCTION]

    def campaign_edit_refusal(self, camp: Campaign) -> str | None:
        """Why the actor may not change the campaign's settings (see :meth:`check_campaign_edit`), or None."""
        try:
            self.check_campaign_edit(camp)
        except PomsDDError as err:
            return err.message
        return None

    def check_campaign_edit(self, camp: Campaign) -> None:
        """A campaign with production stages is production's to change: its keywords, data handling service,
        state and DD defaults reach every stage's launches.  Raises PermissionDenied (and the errors of
        ``campaign.edit``)."""
        self.scope.check("campaign.edit", camp.experiment_id)
        if self.production_stages(camp):
            self.scope.check("campaign.edit_production", camp.experiment_id)

    def stage_edit_refusal(self, stage: CampaignStage) -> str | None:
        """Why the actor may not change (or delete) ``stage``, or None."""
        try:
            self.scope.check("stage.edit", stage.campaign.experiment_id, stage.role)
        except PomsDDError as err:
            return err.message
        return None

    def stage_roles(self, exp: Experiment) -> list[str]:
        """The stage roles the actor may choose in ``exp``."""
        return [r.value for r in StageRole if self.scope.allowed("stage.edit", exp.id, r.value)]

    def _campaign_values(self, data: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(data) - set(CAMPAIGN_FIELDS))
        if unknown:
            raise _invalid({k: [f"Unknown campaign field {k!r}."] for k in unknown})
        values = {k: current.get(k) for k in CAMPAIGN_FIELDS if k in current}
        values.update(data)
        if isinstance(values.get("keywords"), str):
            try:
                values["keywords"] = parse_keywords_text(values["keywords"])
            except InvalidInput as e:
                raise _invalid({"keywords": [e.message]}) from None
        if isinstance(values.get("tags"), str):
            values["tags"] = [t.strip() for t in values["tags"].split(",") if t.strip()]
        return values

    # --- stages -------------------------------------------------------------------------------------------

    def create_stage(self, experiment: str, campaign_id: int, data: Mapping[str, Any]) -> CampaignStage:
        """Add a stage to a campaign.  Raises NotFound, PermissionDenied (e.g. an analysis user creating a
        production stage), InvalidInput."""
        exp = self.experiment(experiment)
        camp = self.scope.campaign(exp, campaign_id)
        values = self._merge_stage({}, data)
        self.scope.check("stage.edit", exp.id, str(values.get("role") or StageRole.ANALYSIS))
        cleaned = self._validated_stage(exp, camp, values, None)
        stage = CampaignStage(campaign_id=camp.id, owner_id=self.actor.user_id, **cleaned)
        stage.campaign = camp
        self.session.add(stage)
        flush_unique(self.session, "name", f"Campaign {camp.name} already has a stage named {stage.name!r}.")
        audit.record(self.session, self.actor, "stage.create", "campaign_stage", stage.id,
                     experiment_id=exp.id, after=stage_snapshot(stage),
                     summary=f"created stage {stage.name} in campaign {camp.name}")
        self.session.commit()
        return stage

    def update_stage(self, experiment: str, campaign_id: int, stage_id: int,
                     data: Mapping[str, Any]) -> CampaignStage:
        """Change the fields present in ``data``.  Raises NotFound, PermissionDenied (production stages need
        the production role, before and after the change), InvalidInput."""
        exp = self.experiment(experiment)
        camp = self.scope.campaign(exp, campaign_id)
        stage = self.scope.stage(camp, stage_id)
        self.scope.check("stage.edit", exp.id, stage.role)
        values = self._merge_stage(stage_values(stage), data)
        self.scope.check("stage.edit", exp.id, str(values.get("role") or StageRole.ANALYSIS))
        cleaned = self._validated_stage(exp, camp, values, stage.id)
        before = stage_snapshot(stage)
        for name, value in cleaned.items():
            setattr(stage, name, value)
        flush_unique(self.session, "name", f"Campaign {camp.name} already has a stage named {stage.name!r}.")
        after = stage_snapshot(stage)
        if after != before:
            audit.record(self.session, self.actor, "stage.update", "campaign_stage", stage.id,
                         experiment_id=exp.id, before=before, after=after,
                         summary=f"changed stage {stage.name} of campaign {camp.name}")
        self.session.commit()
        return stage

    def delete_stage(self, experiment: str, campaign_id: int, stage_id: int) -> None:
        """Delete a stage that was never launched.  Raises NotFound, PermissionDenied, Conflict (it has
        submissions: their history is kept; put the stage on hold instead)."""
        exp = self.experiment(experiment)
        stage = self.scope.stage(self.scope.campaign(exp, campaign_id), stage_id)
        self.scope.check("stage.edit", exp.id, stage.role)
        n = self.session.scalar(select(func.count()).select_from(Submission).where(Submission.stage_id == stage.id))
        if n:
            raise Conflict(f"Stage {stage.name} has {n} submission(s) and cannot be deleted, so that their history "
                           "is kept. Put it on hold instead.")
        before = stage_snapshot(stage)
        self.session.delete(stage)
        audit.record(self.session, self.actor, "stage.delete", "campaign_stage", stage_id,
                     experiment_id=exp.id, before=before, summary=f"deleted stage {before['name']}")
        self.session.commit()

    def _merge_stage(self, current: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(data) - set(STAGE_FIELDS))
        if unknown:
            raise _invalid_stage({k: [f"Unknown stage field {k!r}."] for k in unknown})
        return {**current, **data}

    def _validated_stage(self, exp: Experiment, camp: Campaign, values: dict[str, Any],
                         stage_id: int | None) -> dict[str, Any]:
        errors = validate_stage_all(values, camp.data_handling_service, camp.keywords or {})
        check_name_free(self.session, errors, CampaignStage, CampaignStage.campaign_id == camp.id, values.get("name"), stage_id,
                        f"campaign {camp.name}")
        cleaned = clean_stage(values) if not errors else {}
        tpl_id = cleaned.get("launch_template_id")
        if tpl_id is not None:
            tpl = self.session.get(LaunchTemplate, tpl_id)
            if tpl is None or tpl.experiment_id != exp.id:
                errors["launch_template_id"] = [f"Experiment {exp.name} has no launch template {tpl_id}."]
        if errors:
            raise _invalid_stage(errors)
        return cleaned
