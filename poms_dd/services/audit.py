"""Recording audit events (who did what to which object, before/after)."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ..models import AuditEvent


def record(session: Session, actor: str, action: str, object_type: str, object_id: int | None,
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
    event = AuditEvent(actor=actor, action=action, object_type=object_type, object_id=object_id,
                       experiment_id=experiment_id, before=changed_before, after=changed_after, summary=summary)
    session.add(event)
    return event
