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


# What people read as the name of each field (the form labels; the service's messages use them too).
CAMPAIGN_LABELS = {"name": "Campaign name", "data_handling_service": "Data handling service",
                   "keywords": "Campaign keywords", "tags": "Tags", "state": "State",
                   "dd_worker_timeout": "DD worker timeout (s)", "dd_idle_timeout": "DD idle timeout (s)",
                   "dd_virtual": "Virtual DD projects", "dd_load_limit": "DD load limit"}
STAGE_LABELS = {"name": "Stage name", "role": "Role", "sam_dataset": "SAM dataset",
                "data_dispatcher_dataset_query": "Data Dispatcher query",
                "data_dispatcher_project_id": "Data Dispatcher project id", "split_type": "Split type",
                "test_split_type": "Test split type", "dd_worker_timeout": "DD worker timeout (s)",
                "dd_idle_timeout": "DD idle timeout (s)", "dd_virtual": "Virtual DD project",
                "dd_load_limit": "DD load limit", "completion_type": "Completion type",
                "completion_pct": "Completion %", "output_file_patterns": "Output file patterns",
                "output_ancestor_depth": "Output ancestor depth", "software_version": "Software version",
                "job_config": "Job config", "auto_recovery": "Automatic recovery", "hold": "Hold launches",
                "cron_schedule": "Cron schedule", "launch_template_id": "Launch template"}


def label(field: str, labels: dict[str, str]) -> str:
    return labels.get(field, field.replace("_", " ").capitalize())


def invalid_labelled(errors: dict[str, list[str]], labels: dict[str, str]) -> InvalidInput:
    """One InvalidInput with every field message (keys stay the field names, for forms and scripts); its
    summary names the fields by their labels and gives the first problem."""
    names = ", ".join(label(f, labels) for f in errors)
    first_field = next(iter(errors))
    first = errors[first_field][0]
    count = sum(len(m) for m in errors.values())
    more = f" (and {count - 1} more problem{'s' if count > 2 else ''})" if count > 1 else ""
    return InvalidInput(f"Please correct {names}. {label(first_field, labels)}: {first}{more}",
                        field_errors=errors)
