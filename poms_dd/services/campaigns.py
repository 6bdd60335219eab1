"""Campaign configuration use cases (SPEC §2, §3): campaigns, stages, dependencies, cloning.

``CampaignService(session, actor)``; ``actor`` is the signed-in User (or a ``SystemActor`` for the CLI, which
skips permission checks).  Experiments are named by their name; campaigns and stages by id *within* that
experiment, so an id of another experiment is NotFound.  Every method checks permissions first (non-members
get NotFound, members without the role PermissionDenied), validates the whole input before changing
anything (bad input → InvalidInput(field_errors=...) and nothing stored), writes an audit event with
before/after, and commits.
"""
from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import permissions
from ..errors import Conflict, InvalidInput, NotFound
from ..models import Campaign, CampaignStage, Experiment, LaunchTemplate, Submission
from . import audit
from .campaign_snapshots import campaign_snapshot, stage_snapshot
from .keywords import Preview, parse_keywords_text, preview
from .campaign_graph import DependencyMixin
from .stage_rules import (CAMPAIGN_FIELDS, STAGE_FIELDS, clean_campaign, clean_stage, validate_campaign,
                          validate_stage)
from .stage_rules import invalid_input as _invalid
from .users import Actor, SystemActor

HIDDEN = "No such experiment, or you are not a member of it."
PREVIEW_FIELDS = ("data_dispatcher_dataset_query", "sam_dataset", "split_type", "test_split_type",
                  "output_file_patterns", "software_version", "job_config")


class CampaignService(DependencyMixin):
    """Read and change the campaigns of an experiment."""

    def __init__(self, session: Session, actor: Actor):
        self.session = session
        self.actor = actor

    @property
    def actor_name(self) -> str:
        if isinstance(self.actor, SystemActor):
            return self.actor.name
        return self.actor.username if self.actor is not None else "anonymous"

    # --- lookups with permission checks -------------------------------------------------------------------

    def experiment(self, name: str, action: str = "experiment.view", stage_role: str | None = None) -> Experiment:
        """The experiment, if the actor may do ``action`` in it.  Raises NotFound, PermissionDenied."""
        exp = self.session.scalar(select(Experiment).where(Experiment.name == name))
        if exp is None:
            if not isinstance(self.actor, SystemActor):
                permissions.check(self.actor, "experiment.view", -1)  # NotAuthenticated first, then hidden
            raise NotFound(HIDDEN)
        self._check(action, exp.id, stage_role)
        return exp

    def _check(self, action: str, experiment_id: int, stage_role: str | None = None) -> None:
        if not isinstance(self.actor, SystemActor):
            permissions.check(self.actor, action, experiment_id, stage_role)

    def _campaign(self, exp: Experiment, campaign_id: int) -> Campaign:
        camp = self.session.get(Campaign, campaign_id)
        if camp is None or camp.experiment_id != exp.id:
            raise NotFound(f"Experiment {exp.name} has no campaign {campaign_id}.")
        return camp

    def _stage(self, camp: Campaign, stage_id: int) -> CampaignStage:
        stage = self.session.get(CampaignStage, stage_id)
        if stage is None or stage.campaign_id != camp.id:
            raise NotFound(f"Campaign {camp.name} has no stage {stage_id}.")
        return stage

    # --- reading ------------------------------------------------------------------------------------------

    def list_campaigns(self, experiment: str) -> list[Campaign]:
        """The experiment's campaigns by name.  Raises NotFound, NotAuthenticated."""
        exp = self.experiment(experiment)
        return list(self.session.scalars(select(Campaign).where(Campaign.experiment_id == exp.id)
                                         .order_by(Campaign.name)))

    def get_campaign(self, experiment: str, campaign_id: int) -> Campaign:
        """Raises NotFound (no such campaign in this experiment, or not a member)."""
        return self._campaign(self.experiment(experiment), campaign_id)

    def get_stage(self, experiment: str, campaign_id: int, stage_id: int) -> CampaignStage:
        """Raises NotFound."""
        return self._stage(self.get_campaign(experiment, campaign_id), stage_id)

    def submission_counts(self, experiment: str) -> dict[str, int]:
        """Submissions of the experiment by status (the experiment page's summary), from the database."""
        exp = self.experiment(experiment)
        rows = self.session.execute(
            select(Submission.status, func.count()).join(CampaignStage, Submission.stage_id == CampaignStage.id)
            .join(Campaign, CampaignStage.campaign_id == Campaign.id).where(Campaign.experiment_id == exp.id)
            .group_by(Submission.status))
        return {status: n for status, n in rows}

    def stage_preview(self, stage: CampaignStage) -> list[Preview]:
        """The stage's text fields with the campaign keywords substituted (or the substitution error)."""
        return preview({f: getattr(stage, f) for f in PREVIEW_FIELDS}, stage.campaign.keywords)

    # --- campaigns ----------------------------------------------------------------------------------------

    def create_campaign(self, experiment: str, data: Mapping[str, Any]) -> Campaign:
        """Create a campaign.  Raises NotFound, PermissionDenied, InvalidInput (field errors, name taken)."""
        exp = self.experiment(experiment, "campaign.create")
        values = self._campaign_values(data, {})
        errors = validate_campaign(values)
        self._name_free(errors, Campaign, Campaign.experiment_id == exp.id, values.get("name"), None,
                        f"experiment {exp.name}")
        if errors:
            raise _invalid(errors)
        camp = Campaign(experiment_id=exp.id, created_by_id=getattr(self.actor, "id", None),
                        **clean_campaign(values))
        camp.experiment = exp
        self.session.add(camp)
        self._flush_unique("name", f"A campaign named {camp.name!r} already exists in {exp.name}.")
        audit.record(self.session, self.actor_name, "campaign.create", "campaign", camp.id, experiment_id=exp.id,
                     after=campaign_snapshot(camp), summary=f"created campaign {camp.name}")
        self.session.commit()
        return camp

    def update_campaign(self, experiment: str, campaign_id: int, data: Mapping[str, Any]) -> Campaign:
        """Change the fields present in ``data``.  A changed data handling service or keywords must suit
        every stage.  Raises NotFound, PermissionDenied, InvalidInput."""
        exp = self.experiment(experiment, "campaign.edit")
        camp = self._campaign(exp, campaign_id)
        before = campaign_snapshot(camp)
        values = self._campaign_values(data, before)
        errors = validate_campaign(values)
        self._name_free(errors, Campaign, Campaign.experiment_id == exp.id, values.get("name"), camp.id,
                        f"experiment {exp.name}")
        if not errors:
            cleaned = clean_campaign(values)
            for stage in camp.stages:
                for field, msgs in validate_stage(self._stage_values(stage), cleaned["data_handling_service"],
                                                  cleaned["keywords"]).items():
                    target = "keywords" if "campaign keyword" in msgs[0] else "data_handling_service"
                    errors.setdefault(target, []).extend(f"Stage {stage.name!r}, {field}: {m}" for m in msgs)
        if errors:
            raise _invalid(errors)
        for name, value in cleaned.items():
            setattr(camp, name, value)
        self._flush_unique("name", f"A campaign named {camp.name!r} already exists in {exp.name}.")
        after = campaign_snapshot(camp)
        if after != before:
            audit.record(self.session, self.actor_name, "campaign.update", "campaign", camp.id,
                         experiment_id=exp.id, before=before, after=after, summary=f"changed campaign {camp.name}")
        self.session.commit()
        return camp

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

    @staticmethod
    def _stage_values(stage: CampaignStage) -> dict[str, Any]:
        return {name: getattr(stage, name) for name in STAGE_FIELDS}

    def create_stage(self, experiment: str, campaign_id: int, data: Mapping[str, Any]) -> CampaignStage:
        """Add a stage to a campaign.  Raises NotFound, PermissionDenied (e.g. an analysis user creating a
        production stage), InvalidInput."""
        exp = self.experiment(experiment)
        camp = self._campaign(exp, campaign_id)
        values = self._merge_stage({}, data)
        self._check("stage.edit", exp.id, str(values.get("role") or "analysis"))
        cleaned = self._validated_stage(exp, camp, values, None)
        stage = CampaignStage(campaign_id=camp.id, owner_id=getattr(self.actor, "id", None), **cleaned)
        stage.campaign = camp
        self.session.add(stage)
        self._flush_unique("name", f"Campaign {camp.name} already has a stage named {stage.name!r}.")
        audit.record(self.session, self.actor_name, "stage.create", "campaign_stage", stage.id,
                     experiment_id=exp.id, after=stage_snapshot(stage),
                     summary=f"created stage {stage.name} in campaign {camp.name}")
        self.session.commit()
        return stage

    def update_stage(self, experiment: str, campaign_id: int, stage_id: int,
                     data: Mapping[str, Any]) -> CampaignStage:
        """Change the fields present in ``data``.  Raises NotFound, PermissionDenied (production stages need
        the production role, before and after the change), InvalidInput."""
        exp = self.experiment(experiment)
        camp = self._campaign(exp, campaign_id)
        stage = self._stage(camp, stage_id)
        self._check("stage.edit", exp.id, stage.role)
        values = self._merge_stage(self._stage_values(stage), data)
        self._check("stage.edit", exp.id, str(values.get("role") or "analysis"))
        cleaned = self._validated_stage(exp, camp, values, stage.id)
        before = stage_snapshot(stage)
        for name, value in cleaned.items():
            setattr(stage, name, value)
        self._flush_unique("name", f"Campaign {camp.name} already has a stage named {stage.name!r}.")
        after = stage_snapshot(stage)
        if after != before:
            audit.record(self.session, self.actor_name, "stage.update", "campaign_stage", stage.id,
                         experiment_id=exp.id, before=before, after=after,
                         summary=f"changed stage {stage.name} of campaign {camp.name}")
        self.session.commit()
        return stage

    def delete_stage(self, experiment: str, campaign_id: int, stage_id: int) -> None:
        """Delete a stage that was never launched.  Raises NotFound, PermissionDenied, Conflict (it has
        submissions: their history is kept; put the stage on hold instead)."""
        exp = self.experiment(experiment)
        stage = self._stage(self._campaign(exp, campaign_id), stage_id)
        self._check("stage.edit", exp.id, stage.role)
        n = self.session.scalar(select(func.count()).select_from(Submission).where(Submission.stage_id == stage.id))
        if n:
            raise Conflict(f"Stage {stage.name} has {n} submission(s) and cannot be deleted, so that their history "
                           "is kept. Put it on hold instead.")
        before = stage_snapshot(stage)
        self.session.delete(stage)
        audit.record(self.session, self.actor_name, "stage.delete", "campaign_stage", stage_id,
                     experiment_id=exp.id, before=before, summary=f"deleted stage {before['name']}")
        self.session.commit()

    def _merge_stage(self, current: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(data) - set(STAGE_FIELDS))
        if unknown:
            raise _invalid({k: [f"Unknown stage field {k!r}."] for k in unknown})
        return {**current, **data}

    def _validated_stage(self, exp: Experiment, camp: Campaign, values: dict[str, Any],
                         stage_id: int | None) -> dict[str, Any]:
        errors = validate_stage(values, camp.data_handling_service, camp.keywords or {})
        self._name_free(errors, CampaignStage, CampaignStage.campaign_id == camp.id, values.get("name"), stage_id,
                        f"campaign {camp.name}")
        cleaned = clean_stage(values) if not errors else {}
        tpl_id = cleaned.get("launch_template_id")
        if tpl_id is not None:
            tpl = self.session.get(LaunchTemplate, tpl_id)
            if tpl is None or tpl.experiment_id != exp.id:
                errors["launch_template_id"] = [f"Experiment {exp.name} has no launch template {tpl_id}."]
        if errors:
            raise _invalid(errors)
        return cleaned

    # --- helpers ------------------------------------------------------------------------------------------

    def _name_free(self, errors: dict[str, list[str]], model, scope, name: Any, own_id: int | None,
                   where: str) -> None:
        if "name" in errors or not isinstance(name, str) or not name.strip():
            return
        stmt = select(model.id).where(scope, model.name == name.strip())
        if own_id is not None:
            stmt = stmt.where(model.id != own_id)
        if self.session.scalar(stmt) is not None:
            errors["name"] = [f"The name {name.strip()!r} is already used in {where}; choose another."]

    def _flush_unique(self, field: str, message: str) -> None:
        """Flush in a savepoint; a unique-constraint race becomes a field message instead of a 500."""
        try:
            with self.session.begin_nested():
                self.session.flush()
        except IntegrityError:
            raise InvalidInput(message, field_errors={field: [message]}) from None
