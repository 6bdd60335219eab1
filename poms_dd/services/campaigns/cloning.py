"""Cloning a campaign with its stages and dependencies, replacing text from → to (SPEC-style "clone")."""
from __future__ import annotations

from typing import Any, Callable, Mapping

from sqlalchemy.orm import Session

from ...models import Campaign, CampaignStage, CampaignState, StageDependency
from ...permissions import Actor
from .. import audit
from ..scope import Scope
from .names import check_name_free, flush_unique
from .stage_rules import STAGE_FIELDS, clean_stage, stage_values, validate_stage
from .values import invalid_input
from .snapshots import campaign_snapshot

CLONE_STAGE_TEXT = ("name", "data_dispatcher_dataset_query", "sam_dataset", "output_file_patterns", "job_config")


class CloneService:
    """Copy campaigns."""

    def __init__(self, session: Session, actor: Actor, scope: Scope | None = None):
        self.session = session
        self.actor = actor
        self.scope = scope or Scope(session, actor)

    def clone(self, experiment: str, campaign_id: int, data: Mapping[str, Any]) -> Campaign:
        """Copy a campaign with its stages and dependencies; ``replace_from`` → ``replace_to`` is replaced in
        the campaign name (when ``name`` is blank), keyword values, stage names, queries, SAM datasets,
        output patterns and job configs.  Split cursors start afresh.

        Raises NotFound, PermissionDenied (production stages need the production role), InvalidInput.
        """
        exp = self.scope.experiment(experiment, "campaign.create")
        src = self.scope.campaign(exp, campaign_id)
        for stage in src.stages:
            self.scope.check("stage.edit", exp.id, stage.role)
        old, new = str(data.get("replace_from") or ""), str(data.get("replace_to") or "")

        def rep(v: Any) -> Any:
            return v.replace(old, new) if old and isinstance(v, str) else v

        name = str(data.get("name") or "").strip() or rep(src.name)
        keywords = {k: rep(v) for k, v in (src.keywords or {}).items()}
        errors: dict[str, list[str]] = {}
        if name == src.name:
            errors["name"] = ["Give the copy a new name (or a replacement that changes the name)."]
        check_name_free(self.session, errors, Campaign, Campaign.experiment_id == exp.id, name, None,
                        f"experiment {exp.name}")
        stages = self._planned_stages(src, rep, keywords, errors)
        if errors:
            raise invalid_input(errors)
        copy = self._write(exp, src, name, keywords, stages)
        after = campaign_snapshot(copy)
        after["stages"] = [s.name for s in copy.stages]
        audit.record(self.session, self.actor, "campaign.clone", "campaign", copy.id, experiment_id=exp.id,
                     after=after, summary=f"cloned campaign {src.name} (id {src.id}) as {copy.name}"
                     + (f", replacing {old!r} with {new!r}" if old else ""))
        self.session.commit()
        return copy

    @staticmethod
    def _planned_stages(src: Campaign, rep: Callable[[Any], Any], keywords: dict[str, Any],
                        errors: dict[str, list[str]]) -> list[tuple[CampaignStage, dict[str, Any]]]:
        """Each source stage with the values of its copy; problems of the copies go into ``errors``."""
        stages, seen = [], set()
        for stage in src.stages:
            values = {f: rep(v) if f in CLONE_STAGE_TEXT else v for f, v in stage_values(stage).items()}
            for field, msgs in validate_stage(values, src.data_handling_service, keywords).items():
                errors.setdefault("replace_to", []).extend(f"Stage {values['name']!r}, {field}: {m}" for m in msgs)
            if values["name"] in seen:
                errors.setdefault("replace_to", []).append(f"Two stages would be named {values['name']!r}.")
            seen.add(values["name"])
            stages.append((stage, values))
        return stages

    def _write(self, exp, src: Campaign, name: str, keywords: dict[str, Any],
               stages: list[tuple[CampaignStage, dict[str, Any]]]) -> Campaign:
        """Add the copy, its stages and its dependencies (a provider inside the campaign maps to its copy)."""
        copy = Campaign(experiment_id=exp.id, name=name, data_handling_service=src.data_handling_service,
                        keywords=keywords, tags=list(src.tags or []), dd_worker_timeout=src.dd_worker_timeout,
                        dd_idle_timeout=src.dd_idle_timeout, dd_virtual=src.dd_virtual,
                        dd_load_limit=src.dd_load_limit, state=CampaignState.ACTIVE, created_by_id=self.actor.user_id)
        copy.experiment = exp
        self.session.add(copy)
        mapping: dict[int, CampaignStage] = {}
        for stage, values in stages:
            new_stage = CampaignStage(owner_id=stage.owner_id,
                                      param_overrides=list(stage.param_overrides or []),
                                      test_param_overrides=list(stage.test_param_overrides or []),
                                      **clean_stage({f: values[f] for f in STAGE_FIELDS}))
            copy.stages.append(new_stage)
            mapping[stage.id] = new_stage
        flush_unique(self.session, "name", f"A campaign named {name!r} already exists in {exp.name}.")
        for stage in src.stages:
            for dep in stage.dependencies:
                provider = mapping.get(dep.provider_stage_id)
                mapping[stage.id].dependencies.append(StageDependency(
                    provider_stage_id=provider.id if provider else dep.provider_stage_id,
                    file_pattern=dep.file_pattern))
        self.session.flush()
        return copy
