"""Unique names within a scope: a friendly field message before writing, and the database's unique
constraint as the last word (a race between two writers becomes the same message, not a 500)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ...errors import InvalidInput


def check_name_free(session: Session, errors: dict[str, list[str]], model, scope, name: Any,
                    own_id: int | None, where: str) -> None:
    """Add a ``name`` field error if another row of ``model`` in ``scope`` already has this name."""
    if "name" in errors or not isinstance(name, str) or not name.strip():
        return
    stmt = select(model.id).where(scope, model.name == name.strip())
    if own_id is not None:
        stmt = stmt.where(model.id != own_id)
    if session.scalar(stmt) is not None:
        errors["name"] = [f"The name {name.strip()!r} is already used in {where}; choose another."]


def flush_unique(session: Session, field: str, message: str) -> None:
    """Flush in a savepoint; a unique-constraint violation becomes InvalidInput on ``field``."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise InvalidInput(message, field_errors={field: [message]}) from None
