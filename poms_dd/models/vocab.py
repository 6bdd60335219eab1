"""The vocabularies of the domain, defined once.

Each is a ``StrEnum``: members compare equal to their stored text (``Role.PRODUCTION == "production"``), so
rows, JSON and forms carry plain strings.  The models' CHECK constraints (:func:`one_of`), the forms' choices
and the services' rules are all generated from these classes; a new member therefore needs an Alembic
revision for the constraint text, and nothing else repeats the list.
"""
from __future__ import annotations

from enum import StrEnum

from sqlalchemy import CheckConstraint


class Role(StrEnum):
    """A member's role in an experiment, lowest first (``rank`` orders them)."""

    ANALYSIS = "analysis"
    PRODUCTION = "production"
    SUPERUSER = "superuser"

    @property
    def rank(self) -> int:
        return list(Role).index(self) + 1


class StageRole(StrEnum):
    """Whose stage it is: production stages need the production role to change or launch."""

    ANALYSIS = "analysis"
    PRODUCTION = "production"


class DataHandlingService(StrEnum):
    """``Campaign.data_handling_service`` (SPEC §2.1): the host's legacy SAM path or Data Dispatcher."""

    SAM = "sam"
    DATA_DISPATCHER = "data_dispatcher"


class Service(StrEnum):
    """The external services an experiment is onboarded to (one credential each)."""

    METACAT = "metacat"
    DATA_DISPATCHER = "data_dispatcher"
    RUCIO = "rucio"

    @property
    def label(self) -> str:
        return {"metacat": "MetaCat", "data_dispatcher": "Data Dispatcher", "rucio": "Rucio"}[self.value]


class AuthMethod(StrEnum):
    """How poms_dd authenticates to a service."""

    PASSWORD = "password"
    TOKEN_FILE = "token_file"
    X509 = "x509"


class CampaignState(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"


class CompletionType(StrEnum):
    COMPLETE = "complete"
    LOCATED = "located"


class AutoRecovery(StrEnum):
    NONE = "none"
    FAILED = "failed"
    NOT_DONE = "not_done"
    ALL = "all"


class Executor(StrEnum):
    """Where a launch command runs: a local subprocess or ssh to a launch host."""

    LOCAL = "local"
    SSH = "ssh"


class SubmissionStatus(StrEnum):
    """A submission's status (SPEC §2.9, plus the launch pipeline's queued/launching/held)."""

    QUEUED = "queued"
    LAUNCHING = "launching"
    CREATED = "created"
    RUNNING = "running"
    COMPLETED = "completed"
    COMPLETED_WITH_FAILURES = "completed_with_failures"
    LAUNCH_FAILED = "launch_failed"
    CANCELLED = "cancelled"
    ABANDONED = "abandoned"
    HELD = "held"


class ParentKind(StrEnum):
    """How a submission relates to its parent."""

    RECOVERY = "recovery"
    DEPENDENCY = "dependency"
    RELAUNCH = "relaunch"


class LaunchKind(StrEnum):
    """``poms_launch_kind`` of a submission and of its DD project (SPEC §8.1)."""

    STANDARD = "standard"
    TEST = "test"
    RELAUNCH = "relaunch"
    RECOVERY = "recovery"
    DEPENDENCY = "dependency"
    OVERRIDE = "override"
    SCHEDULED = "scheduled"


class HandleState(StrEnum):
    """A DD file handle's state, and what the submission pages call it (SPEC §2.8)."""

    INITIAL = "initial"
    RESERVED = "reserved"
    DONE = "done"
    FAILED = "failed"

    @property
    def label(self) -> str:
        return {"initial": "Not Submitted", "reserved": "Reserved", "done": "Done", "failed": "Failed"}[self.value]


def values(enum: type[StrEnum]) -> tuple[str, ...]:
    """The stored texts of a vocabulary, in definition order."""
    return tuple(m.value for m in enum)


def one_of(column: str, enum: type[StrEnum], *, name: str, nullable: bool = False) -> CheckConstraint:
    """``CHECK (column IN ('a', 'b', ...))`` for a vocabulary (``column IS NULL OR ...`` when nullable)."""
    listed = ", ".join(f"'{v}'" for v in values(enum))
    text = f"{column} IN ({listed})"
    return CheckConstraint(f"{column} IS NULL OR {text}" if nullable else text, name=name)
