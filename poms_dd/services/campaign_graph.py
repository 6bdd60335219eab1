"""Stage dependencies (no cycles; provider in the same campaign or experiment) and campaign cloning.

A mixin of :class:`poms_dd.services.campaigns.CampaignService`; it uses that class's lookups
(``experiment``, ``_campaign``, ``_stage``, ``_check``) and helpers.
"""
from __future__ import annotations

from collections import deque
from typing import Any, Mapping

from sqlalchemy import select

from ..errors import NotFound
from ..models import Campaign, CampaignStage, StageDependency
from . import audit
from .campaign_snapshots import campaign_snapshot, dependency_snapshot
from .stage_rules import STAGE_FIELDS, clean_stage, invalid_input, validate_stage

CLONE_STAGE_TEXT = ("name", "data_dispatcher_dataset_query", "sam_dataset", "output_file_patterns", "job_config")


class DependencyMixin:
    """Dependencies and cloning (see module docstring)."""

    # --- dependencies -------------------------------------------------------------------------------------

    def add_dependency(self, experiment: str, campaign_id: int, consumer_stage_id: int,
                       data: Mapping[str, Any]) -> StageDependency:
        """Make the consumer stage depend on ``data["provider_stage_id"]`` (any stage of the same experiment)
        for files matching ``data["file_pattern"]`` (default ``%``).

        Raises NotFound, PermissionDenied, InvalidInput (unknown provider, itself, duplicate, a cycle).
        """
        exp = self.experiment(experiment)
        consumer = self._stage(self._campaign(exp, campaign_id), consumer_stage_id)
        self._check("stage.edit", exp.id, consumer.role)
        errors: dict[str, list[str]] = {}
        provider = self._provider(exp, data.get("provider_stage_id"), errors)
        pattern = str(data.get("file_pattern") or "%").strip() or "%"
        if len(pattern) > 500:
            errors["file_pattern"] = [f"At most 500 characters (got {len(pattern)})."]
        if provider is not None:
            if provider.id == consumer.id:
                errors["provider_stage_id"] = ["A stage cannot depend on itself."]
            elif any(d.provider_stage_id == provider.id for d in consumer.dependencies):
                errors["provider_stage_id"] = [f"Stage {consumer.name} already depends on {provider.name}."]
            else:
                cycle = self._path(provider.id, consumer.id)
                if cycle:
                    errors["provider_stage_id"] = [
                        f"This would make a cycle: {' → '.join([consumer.name] + cycle)} already depends on "
                        f"{consumer.name}; a dependency chain must not loop."]
        if errors:
            raise invalid_input(errors)
        dep = StageDependency(consumer_stage_id=consumer.id, provider_stage_id=provider.id, file_pattern=pattern)
        dep.provider = provider
        consumer.dependencies.append(dep)
        self._flush_unique("provider_stage_id", f"Stage {consumer.name} already depends on {provider.name}.")
        audit.record(self.session, self.actor_name, "stage.dependency.add", "campaign_stage", consumer.id,
                     experiment_id=exp.id, after=dependency_snapshot(dep),
                     summary=f"stage {consumer.name} now depends on {provider.name} ({pattern})")
        self.session.commit()
        return dep

    def remove_dependency(self, experiment: str, campaign_id: int, consumer_stage_id: int,
                          dependency_id: int) -> None:
        """Raises NotFound, PermissionDenied."""
        exp = self.experiment(experiment)
        consumer = self._stage(self._campaign(exp, campaign_id), consumer_stage_id)
        self._check("stage.edit", exp.id, consumer.role)
        dep = next((d for d in consumer.dependencies if d.id == dependency_id), None)
        if dep is None:
            raise NotFound(f"Stage {consumer.name} has no dependency {dependency_id}.")
        before = dependency_snapshot(dep)
        consumer.dependencies.remove(dep)
        audit.record(self.session, self.actor_name, "stage.dependency.remove", "campaign_stage", consumer.id,
                     experiment_id=exp.id, before=before,
                     summary=f"stage {consumer.name} no longer depends on {before['provider']}")
        self.session.commit()

    def _provider(self, exp, raw: Any, errors: dict[str, list[str]]) -> CampaignStage | None:
        try:
            pid = int(str(raw).strip())
        except (TypeError, ValueError):
            errors["provider_stage_id"] = [f"Choose the stage to depend on (a stage id), got {raw!r}."]
            return None
        provider = self.session.get(CampaignStage, pid)
        if provider is None or provider.campaign.experiment_id != exp.id:
            errors["provider_stage_id"] = [f"Experiment {exp.name} has no stage {pid}."]
            return None
        return provider

    def _path(self, start_id: int, target_id: int) -> list[str]:
        """Names of a provider chain start → ... → target (start depends on ... on target), or []."""
        came_from: dict[int, int | None] = {start_id: None}
        queue = deque([start_id])
        while queue:
            sid = queue.popleft()
            if sid == target_id:
                ids = []
                cur: int | None = sid
                while cur is not None:
                    ids.append(cur)
                    cur = came_from[cur]
                names = {s.id: s.name for s in self.session.scalars(
                    select(CampaignStage).where(CampaignStage.id.in_(ids)))}
                return [names[i] for i in reversed(ids)]
            for pid in self.session.scalars(select(StageDependency.provider_stage_id)
                                            .where(StageDependency.consumer_stage_id == sid)):
                if pid not in came_from:
                    came_from[pid] = sid
                    queue.append(pid)
        return []

    # --- cloning ------------------------------------------------------------------------------------------

    def clone_campaign(self, experiment: str, campaign_id: int, data: Mapping[str, Any]) -> Campaign:
        """Copy a campaign with its stages and dependencies; ``replace_from`` → ``replace_to`` is replaced in
        the campaign name (when ``name`` is blank), keyword values, stage names, queries, SAM datasets,
        output patterns and job configs.  Split cursors start afresh.

        Raises NotFound, PermissionDenied (production stages need the production role), InvalidInput.
        """
        exp = self.experiment(experiment, "campaign.create")
        src = self._campaign(exp, campaign_id)
        for stage in src.stages:
            self._check("stage.edit", exp.id, stage.role)
        old, new = str(data.get("replace_from") or ""), str(data.get("replace_to") or "")

        def rep(v: Any) -> Any:
            return v.replace(old, new) if old and isinstance(v, str) else v

        name = str(data.get("name") or "").strip() or rep(src.name)
        keywords = {k: rep(v) for k, v in (src.keywords or {}).items()}
        errors: dict[str, list[str]] = {}
        if name == src.name:
            errors["name"] = ["Give the copy a new name (or a replacement that changes the name)."]
        self._name_free(errors, Campaign, Campaign.experiment_id == exp.id, name, None, f"experiment {exp.name}")
        stages, seen = [], set()
        for stage in src.stages:
            values = {f: rep(v) if f in CLONE_STAGE_TEXT else v for f, v in self._stage_values(stage).items()}
            for field, msgs in validate_stage(values, src.data_handling_service, keywords).items():
                errors.setdefault("replace_to", []).extend(f"Stage {values['name']!r}, {field}: {m}" for m in msgs)
            if values["name"] in seen:
                errors.setdefault("replace_to", []).append(f"Two stages would be named {values['name']!r}.")
            seen.add(values["name"])
            stages.append((stage, values))
        if errors:
            raise invalid_input(errors)
        copy = Campaign(experiment_id=exp.id, name=name, data_handling_service=src.data_handling_service,
                        keywords=keywords, tags=list(src.tags or []), dd_worker_timeout=src.dd_worker_timeout,
                        dd_idle_timeout=src.dd_idle_timeout, dd_virtual=src.dd_virtual,
                        dd_load_limit=src.dd_load_limit, state="active", created_by_id=getattr(self.actor, "id", None))
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
        self._flush_unique("name", f"A campaign named {name!r} already exists in {exp.name}.")
        for stage in src.stages:
            for dep in stage.dependencies:
                provider = mapping.get(dep.provider_stage_id)
                mapping[stage.id].dependencies.append(StageDependency(
                    provider_stage_id=provider.id if provider else dep.provider_stage_id,
                    file_pattern=dep.file_pattern))
        self.session.flush()
        after = campaign_snapshot(copy)
        after["stages"] = [s.name for s in copy.stages]
        audit.record(self.session, self.actor_name, "campaign.clone", "campaign", copy.id, experiment_id=exp.id,
                     after=after, summary=f"cloned campaign {src.name} (id {src.id}) as {copy.name}"
                     + (f", replacing {old!r} with {new!r}" if old else ""))
        self.session.commit()
        return copy

