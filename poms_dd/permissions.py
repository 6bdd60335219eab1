"""Who may do what: one table of actions → rules, checked by the services (never by views alone).

Roles rank ``analysis`` < ``production`` < ``superuser`` within an experiment; ``User.is_superuser`` is a
global administrator.  A user who is not a member of an experiment is told the object does not exist
(NotFound), so campaign names of other experiments do not leak; a member without the needed role gets
PermissionDenied with the role that is missing.
"""
from __future__ import annotations

from dataclasses import dataclass

from .errors import NotAuthenticated, NotFound, PermissionDenied
from .models import Role, StageRole, User


@dataclass(frozen=True, eq=False)
class Actor:
    """Who is acting: a person (a :class:`User` with memberships) or a named system actor.

    System actors are the operator at the command line (``cli:<login>``, who already holds the database
    credentials) and the background worker; they pass every check.  ``Actor.anonymous()`` is nobody signed
    in and passes none.  ``via`` names the channel a person acts through (``cli``) for the audit trail.
    """

    user: User | None = None
    system: str | None = None
    via: str | None = None

    @classmethod
    def person(cls, user: User | None, via: str | None = None) -> "Actor":
        return cls(user=user, via=via)

    @classmethod
    def system_actor(cls, name: str) -> "Actor":
        return cls(system=name)

    @classmethod
    def anonymous(cls) -> "Actor":
        return cls()

    @property
    def is_system(self) -> bool:
        return self.system is not None

    @property
    def user_id(self) -> int | None:
        return self.user.id if self.user is not None else None

    @property
    def name(self) -> str:
        """What the audit trail records."""
        if self.system is not None:
            return self.system
        if self.user is None:
            return "anonymous"
        return f"{self.user.username} ({self.via})" if self.via else self.user.username

    def is_user(self, user: User) -> bool:
        return self.user is not None and self.user.is_active and self.user.id == user.id


@dataclass(frozen=True)
class Rule:
    min_role: Role | None         # None: global superusers only
    description: str


RULES: dict[str, Rule] = {
    "experiment.view": Rule(Role.ANALYSIS, "see the experiment and its campaigns"),
    "campaign.create": Rule(Role.ANALYSIS, "create campaigns"),
    "campaign.edit": Rule(Role.ANALYSIS, "change campaigns"),
    "campaign.edit_production": Rule(Role.PRODUCTION, "change the settings of campaigns that have production "
                                                      "stages (keywords, data handling service, state, DD defaults)"),
    "launch_template.edit_production": Rule(Role.PRODUCTION, "change launch templates that production stages use"),
    "stage.edit": Rule(Role.ANALYSIS, "change stages"),         # production stages: raised to production below
    "stage.launch": Rule(Role.ANALYSIS, "launch stages"),       # idem
    "submission.manage": Rule(Role.ANALYSIS, "relaunch, restart, recover or cancel submissions"),  # idem
    "experiment.members": Rule(Role.SUPERUSER, "manage the experiment's members"),
    "experiment.onboard": Rule(None, "onboard experiments and their service credentials"),
    "experiment.create": Rule(None, "create experiments"),
    "audit.view": Rule(Role.SUPERUSER, "read the audit trail"),
}

ROLE_SENSITIVE = {"stage.edit", "stage.launch", "submission.manage"}
# What the role-sensitive actions read as when the stage is a production stage (the messages name them).
PRODUCTION_DESCRIPTIONS = {"stage.edit": "change production stages", "stage.launch": "launch production stages",
                           "submission.manage": "relaunch, restart, recover or cancel submissions of production "
                                                "stages"}


def role_in(user: User | None, experiment_id: int) -> Role | None:
    """The user's effective role in the experiment (global superusers are superusers everywhere)."""
    if user is None:
        return None
    if user.is_superuser:
        return Role.SUPERUSER
    for m in user.memberships:
        if m.experiment_id == experiment_id:
            return Role(m.role)
    return None


def allowed(actor: Actor, action: str, experiment_id: int | None = None, stage_role: str | None = None) -> bool:
    try:
        check(actor, action, experiment_id, stage_role)
    except (NotFound, PermissionDenied, NotAuthenticated):
        return False
    return True


def _person(actor: Actor) -> User:
    if actor.user is None or not actor.user.is_active:
        raise NotAuthenticated("Sign in first.")
    return actor.user


def check_admin(actor: Actor, what: str) -> None:
    """Raise NotAuthenticated / PermissionDenied unless a system actor or a global superuser."""
    if actor.is_system:
        return
    if not _person(actor).is_superuser:
        raise PermissionDenied(f"Only poms_dd administrators may {what}.")


def check_self_or_admin(actor: Actor, user: User, what: str) -> None:
    """Like :func:`check_admin`, but a person may also act on their own account."""
    if not actor.is_user(user):
        check_admin(actor, what)


def check(actor: Actor, action: str, experiment_id: int | None = None, stage_role: str | None = None) -> None:
    """Raise unless ``actor`` may do ``action`` in the experiment (system actors always may).

    Raises NotAuthenticated (nobody signed in), NotFound (not a member: the object is hidden),
    PermissionDenied (member without the needed role), KeyError for an unknown action (a programming error).
    """
    rule = RULES[action]
    if actor.is_system:
        return
    if rule.min_role is None:
        check_admin(actor, rule.description)
        return
    user = _person(actor)
    if experiment_id is None:
        raise ValueError(f"action {action} needs an experiment")
    role = role_in(user, experiment_id)
    if role is None:
        raise NotFound("No such experiment, or you are not a member of it.")
    needed, description = rule.min_role, rule.description
    if action in ROLE_SENSITIVE and stage_role == StageRole.PRODUCTION and needed.rank < Role.PRODUCTION.rank:
        needed, description = Role.PRODUCTION, PRODUCTION_DESCRIPTIONS[action]
    if role.rank < needed.rank:
        raise PermissionDenied(f"You need the {needed} role in this experiment to {description} (you have {role}).")
