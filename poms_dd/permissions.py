"""Who may do what: one table of actions → rules, checked by the services (never by views alone).

Roles rank ``analysis`` < ``production`` < ``superuser`` within an experiment; ``User.is_superuser`` is a
global administrator.  A user who is not a member of an experiment is told the object does not exist
(NotFound), so campaign names of other experiments do not leak; a member without the needed role gets
PermissionDenied with the role that is missing.
"""
from __future__ import annotations

from dataclasses import dataclass

from .errors import NotAuthenticated, NotFound, PermissionDenied
from .models import User

RANK = {"analysis": 1, "production": 2, "superuser": 3}


@dataclass(frozen=True)
class Rule:
    min_role: str | None          # None: global superusers only
    description: str


RULES: dict[str, Rule] = {
    "experiment.view": Rule("analysis", "see the experiment and its campaigns"),
    "campaign.create": Rule("analysis", "create campaigns"),
    "campaign.edit": Rule("analysis", "change campaigns"),
    "stage.edit": Rule("analysis", "change stages"),         # production stages: raised to production below
    "stage.launch": Rule("analysis", "launch stages"),       # idem
    "submission.manage": Rule("analysis", "relaunch, restart, recover or cancel submissions"),  # idem
    "experiment.members": Rule("superuser", "manage the experiment's members"),
    "experiment.onboard": Rule(None, "onboard experiments and their service credentials"),
    "experiment.create": Rule(None, "create experiments"),
    "audit.view": Rule("superuser", "read the audit trail"),
}

ROLE_SENSITIVE = {"stage.edit", "stage.launch", "submission.manage"}


def role_in(user: User | None, experiment_id: int) -> str | None:
    """The user's effective role in the experiment (global superusers are superusers everywhere)."""
    if user is None:
        return None
    if user.is_superuser:
        return "superuser"
    for m in user.memberships:
        if m.experiment_id == experiment_id:
            return m.role
    return None


def allowed(user: User | None, action: str, experiment_id: int | None = None,
            stage_role: str | None = None) -> bool:
    try:
        check(user, action, experiment_id, stage_role)
    except (NotFound, PermissionDenied, NotAuthenticated):
        return False
    return True


def check(user: User | None, action: str, experiment_id: int | None = None, stage_role: str | None = None) -> None:
    """Raise unless ``user`` may do ``action`` in the experiment.

    Raises NotAuthenticated (no user), NotFound (not a member: the object is hidden), PermissionDenied
    (member without the needed role), KeyError for an unknown action (a programming error).
    """
    rule = RULES[action]
    if user is None or not user.is_active:
        raise NotAuthenticated("Sign in first.")
    if rule.min_role is None:
        if not user.is_superuser:
            raise PermissionDenied(f"Only poms_dd administrators may {rule.description}.")
        return
    if experiment_id is None:
        raise ValueError(f"action {action} needs an experiment")
    role = role_in(user, experiment_id)
    if role is None:
        raise NotFound("No such experiment, or you are not a member of it.")
    needed = rule.min_role
    if action in ROLE_SENSITIVE and stage_role == "production" and RANK[needed] < RANK["production"]:
        needed = "production"
    if RANK[role] < RANK[needed]:
        raise PermissionDenied(f"You need the {needed} role in this experiment to {rule.description}"
                               + (" of production stages" if needed == "production" else "")
                               + f" (you have {role}).")
