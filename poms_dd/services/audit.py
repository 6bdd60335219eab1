"""Recording audit events (who did what to which object, before/after)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import AuditEvent, Experiment
from ..permissions import Actor
from .scope import Scope


def record(session: Session, actor: Actor, action: str, object_type: str, object_id: int | None,
           *, experiment_id: int | None = None, before: dict[str, Any] | None = None,
           after: dict[str, Any] | None = None, summary: str = "") -> AuditEvent:
    """Add an AuditEvent to the session (committed with the caller's transaction).

    Secrets must never be passed in ``before``/``after``; callers redact them first.
    """
    changed_before, changed_after = before, after
    if before is not None and after is not None:
        keys = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        changed_before = {k: before.get(k) for k in keys}
        changed_after = {k: after.get(k) for k in keys}
    event = AuditEvent(actor=actor.name, action=action, object_type=object_type, object_id=object_id,
                       experiment_id=experiment_id, before=changed_before, after=changed_after, summary=summary)
    session.add(event)
    return event


PAGE_SIZE = 50


@dataclass(frozen=True)
class AuditPage:
    """One page of an experiment's audit trail, newest first; ``page`` is clamped to 1..``pages``."""

    experiment: Experiment
    events: list[AuditEvent]
    page: int
    pages: int
    total: int

    @property
    def has_more(self) -> bool:
        return self.page < self.pages


class AuditService:
    """Reading the audit trail of one experiment (experiment superusers and administrators)."""

    def __init__(self, session: Session, actor: Actor):
        self.session = session
        self.actor = actor
        self.scope = Scope(session, actor)

    def page(self, experiment_name: str, page: int = 1, object_type: str | None = None,
             per_page: int = PAGE_SIZE) -> AuditPage:
        """Page ``page`` of the experiment's events, newest first; a page number beyond the last (however
        large) gives the last page, one below 1 the first.

        Raises NotFound (no such experiment, or not a member), PermissionDenied (needs the superuser role).
        """
        exp = self.scope.experiment(experiment_name, "audit.view")
        where = [AuditEvent.experiment_id == exp.id]
        if object_type:
            where.append(AuditEvent.object_type == object_type)
        total = self.session.scalar(select(func.count()).select_from(AuditEvent).where(*where)) or 0
        pages = max(1, -(-total // per_page))
        page = min(max(page, 1), pages)
        rows = list(self.session.scalars(select(AuditEvent).where(*where).order_by(AuditEvent.id.desc())
                                         .offset((page - 1) * per_page).limit(per_page)))
        return AuditPage(exp, rows, page, pages, total)
