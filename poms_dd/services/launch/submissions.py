"""Reading submissions (SPEC §8.1: list, detail, launch log) and "Refresh from Data Dispatcher".

Pages and the API read what the database holds; only :meth:`SubmissionService.refresh` asks DD, when a person
presses the button (the tracking issue replaces it with a background refresher).
"""
from __future__ import annotations

import datetime as dt
import math
from typing import Any, Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...db import utcnow
from ...errors import InvalidInput, NotFound
from ...models import Campaign, CampaignStage, Submission, SubmissionStatus
from ...permissions import Actor
from ..scope import Scope
from .requests import record_status

MAX_PER_PAGE = 200
TRACKED = (SubmissionStatus.CREATED, SubmissionStatus.RUNNING)


class SubmissionService:
    """Submissions of one experiment, for the actor (members read; launchers of the stage refresh)."""

    def __init__(self, session: Session, actor: Actor, scope: Scope, adapters_for: Callable,
                 clock: Callable[[], dt.datetime] = utcnow):
        self.session = session
        self.actor = actor
        self.scope = scope
        self.adapters_for = adapters_for
        self.clock = clock

    def get(self, experiment: str, submission_id: int) -> Submission:
        """Raises NotFound (no such submission in this experiment, or not a member)."""
        exp = self.scope.experiment(experiment)
        sub = self.session.get(Submission, submission_id)
        if sub is None or sub.stage.campaign.experiment_id != exp.id:
            raise NotFound(f"Experiment {exp.name} has no submission {submission_id}.")
        return sub

    def page(self, experiment: str, *, stage_id: int | None = None, status: str | None = None, page: int = 1,
             per_page: int = 50) -> dict[str, Any]:
        """``{"items", "page", "pages", "total"}``, newest first.  Raises InvalidInput (paging, status)."""
        exp = self.scope.experiment(experiment)
        if not 1 <= per_page <= MAX_PER_PAGE or page < 1 or page > 10**9:
            raise InvalidInput(f"page must be ≥ 1 and per_page 1-{MAX_PER_PAGE}.")
        if status is not None and status not in {s.value for s in SubmissionStatus}:
            raise InvalidInput(f"Unknown status {status!r}; use one of {', '.join(s.value for s in SubmissionStatus)}.")
        query = (select(Submission).join(CampaignStage, Submission.stage_id == CampaignStage.id)
                 .join(Campaign, CampaignStage.campaign_id == Campaign.id).where(Campaign.experiment_id == exp.id))
        if stage_id is not None:
            query = query.where(Submission.stage_id == stage_id)
        if status is not None:
            query = query.where(Submission.status == status)
        total = self.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        items = list(self.session.scalars(query.order_by(Submission.id.desc())
                                          .offset((page - 1) * per_page).limit(per_page)))
        return {"items": items, "page": page, "pages": max(1, math.ceil(total / per_page)), "total": total}

    def refresh(self, experiment: str, submission_id: int) -> Submission:
        """Fetch the project's handle counts from DD now and cache them.  Raises NotFound, ExternalServiceError."""
        sub = self.get(experiment, submission_id)
        task = sub.dd_task
        if task is None or task.project_id is None:
            return sub
        project = self.adapters_for(sub.stage.campaign.experiment).data_dispatcher.get_project(
            task.project_id, with_handles=True, with_replicas=True)
        if project is None:
            raise NotFound(f"Data Dispatcher no longer knows project {task.project_id}.")
        counts = project.counts
        task.counts = {"not_submitted": counts.initial, "reserved": counts.reserved, "done": counts.done,
                       "failed": counts.failed, "unknown": counts.unknown} if counts else {}
        total = counts.total if counts else 0
        task.pct_complete = round(100.0 * (counts.done + counts.failed) / total, 2) if total else 0.0
        task.project_state = project.state
        task.last_refreshed_at = self.clock()
        new = _status(sub.status, project.state, counts)
        if new != sub.status:
            record_status(sub, new, self.actor, f"Data Dispatcher project {project.project_id} is {project.state}")
        self.session.commit()
        return sub


def _status(current: str, state: str, counts) -> str:
    """The submission status from the project (SPEC §2.9)."""
    if current not in TRACKED or counts is None:
        return current
    if state == "cancelled":
        return SubmissionStatus.CANCELLED
    if state == "abandoned":
        return SubmissionStatus.ABANDONED
    if counts.total and counts.done + counts.failed == counts.total:
        return SubmissionStatus.COMPLETED_WITH_FAILURES if counts.failed else SubmissionStatus.COMPLETED
    if counts.reserved or counts.done or counts.failed:
        return SubmissionStatus.RUNNING
    return current


def submission_document(sub: Submission, url: str | None = None) -> dict[str, Any]:
    """The SPEC §8.1 shape of one submission."""
    task = sub.dd_task
    counts = dict((task.counts if task else None) or {})
    split_slice = dict((task.split_slice if task else None) or {})
    return {
        "id": sub.id, "stage_id": sub.stage_id, "campaign_id": sub.stage.campaign_id, "status": sub.status,
        "launch_kind": sub.launch_kind, "parent_id": sub.parent_id, "parent_kind": sub.parent_kind,
        "launcher": sub.launcher.username if sub.launcher else None,
        "created_at": sub.created_at.isoformat() if sub.created_at else None,
        "dd_project_id": task.project_id if task else None, "dd_task_id": task.id if task else None,
        "mql": task.mql if task else None, "split_type": task.split_type if task else None,
        "split_slice": split_slice.get("key"), "parameter": task.parameter if task else None,
        "env": dict(task.env or {}) if task else {}, "file_count": task.file_count if task else None,
        "counts": {k: int(counts.get(k, 0)) for k in ("not_submitted", "reserved", "done", "failed", "unknown")},
        "pct_complete": float(task.pct_complete or 0) if task else 0.0,
        "last_refreshed_at": task.last_refreshed_at.isoformat() if task and task.last_refreshed_at else None,
        "history": [{"status": e.status, "at": e.at.isoformat() if e.at else None, "by": e.changed_by,
                     "reason": e.reason} for e in sub.history],
        **({"url": url} if url else {}),
    }
