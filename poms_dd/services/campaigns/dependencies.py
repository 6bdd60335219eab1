"""Stage dependencies (SPEC §4.7): a consumer stage runs on a provider stage's outputs.  The provider is any
stage of the same experiment; a dependency never makes a cycle."""
from __future__ import annotations

from collections import deque
from typing import Any, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...errors import NotFound
from ...models import CampaignStage, Experiment, StageDependency
from ...permissions import Actor
from .. import audit
from ..scope import Scope
from .names import flush_unique
from .values import invalid_input
from .snapshots import dependency_snapshot


class DependencyService:
    """Add and remove stage dependencies."""

    def __init__(self, session: Session, actor: Actor, scope: Scope | None = None):
        self.session = session
        self.actor = actor
        self.scope = scope or Scope(session, actor)

    def _consumer(self, experiment: str, campaign_id: int, stage_id: int) -> tuple[Experiment, CampaignStage]:
        exp = self.scope.experiment(experiment)
        consumer = self.scope.stage(self.scope.campaign(exp, campaign_id), stage_id)
        self.scope.check("stage.edit", exp.id, consumer.role)
        return exp, consumer

    def add(self, experiment: str, campaign_id: int, consumer_stage_id: int,
            data: Mapping[str, Any]) -> StageDependency:
        """Make the consumer stage depend on ``data["provider_stage_id"]`` (any stage of the same experiment)
        for files matching ``data["file_pattern"]`` (default ``%``).

        Raises NotFound, PermissionDenied, InvalidInput (unknown provider, itself, duplicate, a cycle).
        """
        exp, consumer = self._consumer(experiment, campaign_id, consumer_stage_id)
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
        flush_unique(self.session, "provider_stage_id", f"Stage {consumer.name} already depends on {provider.name}.")
        audit.record(self.session, self.actor, "stage.dependency.add", "campaign_stage", consumer.id,
                     experiment_id=exp.id, after=dependency_snapshot(dep),
                     summary=f"stage {consumer.name} now depends on {provider.name} ({pattern})")
        self.session.commit()
        return dep

    def remove(self, experiment: str, campaign_id: int, consumer_stage_id: int, dependency_id: int) -> None:
        """Raises NotFound, PermissionDenied."""
        exp, consumer = self._consumer(experiment, campaign_id, consumer_stage_id)
        dep = next((d for d in consumer.dependencies if d.id == dependency_id), None)
        if dep is None:
            raise NotFound(f"Stage {consumer.name} has no dependency {dependency_id}.")
        before = dependency_snapshot(dep)
        consumer.dependencies.remove(dep)
        audit.record(self.session, self.actor, "stage.dependency.remove", "campaign_stage", consumer.id,
                     experiment_id=exp.id, before=before,
                     summary=f"stage {consumer.name} no longer depends on {before['provider']}")
        self.session.commit()

    def _provider(self, exp: Experiment, raw: Any, errors: dict[str, list[str]]) -> CampaignStage | None:
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
