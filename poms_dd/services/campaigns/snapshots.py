"""JSON-ready pictures of campaigns and stages: what the audit trail records as before/after and what the
JSON API returns."""
from __future__ import annotations

from typing import Any

from ...models import Campaign, CampaignStage, StageDependency
from .stage_rules import STAGE_FIELDS

CAMPAIGN_SNAPSHOT_FIELDS = ("name", "data_handling_service", "keywords", "tags", "dd_worker_timeout",
                            "dd_idle_timeout", "dd_virtual", "dd_load_limit", "state")


def campaign_snapshot(c: Campaign) -> dict[str, Any]:
    data: dict[str, Any] = {"id": c.id, "experiment": c.experiment.name if c.experiment else None}
    for name in CAMPAIGN_SNAPSHOT_FIELDS:
        value = getattr(c, name)
        data[name] = dict(value) if isinstance(value, dict) else list(value) if isinstance(value, list) else value
    return data


def stage_snapshot(s: CampaignStage) -> dict[str, Any]:
    data: dict[str, Any] = {"id": s.id, "campaign_id": s.campaign_id}
    for name in STAGE_FIELDS:
        data[name] = getattr(s, name)
    data["owner"] = s.owner.username if s.owner is not None else None
    return data


def dependency_snapshot(d: StageDependency) -> dict[str, Any]:
    return {"id": d.id, "consumer_stage_id": d.consumer_stage_id, "provider_stage_id": d.provider_stage_id,
            "provider": d.provider.name if d.provider is not None else None, "file_pattern": d.file_pattern}


def campaign_document(c: Campaign) -> dict[str, Any]:
    """The campaign with its stages and their dependencies (the JSON API's campaign body)."""
    data = campaign_snapshot(c)
    data["created_at"] = c.created_at.isoformat() if c.created_at else None
    data["stages"] = [stage_document(s) for s in c.stages]
    return data


def stage_document(s: CampaignStage) -> dict[str, Any]:
    data = stage_snapshot(s)
    data["split_cursor"] = dict(s.split_cursor or {})
    data["test_split_cursor"] = dict(s.test_split_cursor or {})
    data["dependencies"] = [dependency_snapshot(d) for d in s.dependencies]
    return data
