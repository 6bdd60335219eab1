"""Use cases for accounts: users, passwords, experiment memberships and API tokens.

``UserService(session, actor)``: the actor is a person (permission-checked through ``poms_dd.permissions``)
or a system actor such as the operator at the command line.  Every change is audited and committed here.
"""
from __future__ import annotations

import datetime as dt
from typing import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from ... import permissions
from ...db import utcnow
from ...errors import Conflict, InvalidInput, NotFound
from ...models import ApiToken, Experiment, ExperimentMembership, Role, User, values
from ...permissions import Actor
from .. import audit
from ..scope import Scope
from . import sessions
from .credentials import generate_token, hash_password, hash_token

MIN_PASSWORD_LENGTH = 8
MAX_TOKEN_DAYS = 3650
ROLES = values(Role)


class UserService:
    """Accounts use cases on one SQLAlchemy session; ``clock`` returns aware UTC datetimes."""

    def __init__(self, session: Session, actor: Actor, clock: Callable[[], dt.datetime] = utcnow):
        self.session = session
        self.actor = actor
        self.clock = clock
        self.scope = Scope(session, actor)

    # --- lookups -------------------------------------------------------------------------------------------

    def get_user(self, username: str) -> User:
        """Raises NotFound naming the user."""
        user = self.session.scalar(select(User).where(User.username == username))
        if user is None:
            raise NotFound(f"No user {username!r} (create it with `poms-dd user create {username}`).")
        return user

    def get_experiment(self, name: str) -> Experiment:
        """The experiment whose members the actor manages.  Raises NotFound, PermissionDenied."""
        return self.scope.experiment(name, "experiment.members")

    def list_users(self) -> list[User]:
        """All users with their memberships (administrators only)."""
        permissions.check_admin(self.actor, "list all users")
        stmt = (select(User).options(selectinload(User.memberships).selectinload(ExperimentMembership.experiment))
                .order_by(User.username))
        return list(self.session.scalars(stmt))

    def memberships_of(self, user: User) -> list[ExperimentMembership]:
        stmt = (select(ExperimentMembership).join(Experiment).where(ExperimentMembership.user_id == user.id)
                .options(selectinload(ExperimentMembership.experiment)).order_by(Experiment.name))
        return list(self.session.scalars(stmt))

    def experiments_with_roles(self, user: User) -> list[tuple[Experiment, str]]:
        """(experiment, effective role) for what the user may see: members' own, or all for superusers."""
        if user.is_superuser:
            exps = self.session.scalars(select(Experiment).where(Experiment.active.is_(True))
                                        .order_by(Experiment.name))
            return [(e, "superuser") for e in exps]
        return [(m.experiment, m.role) for m in self.memberships_of(user)]

    def members_of(self, experiment: Experiment) -> list[ExperimentMembership]:
        """The experiment's memberships (members with the superuser role, or administrators)."""
        self.scope.check("experiment.members", experiment.id)
        stmt = (select(ExperimentMembership).join(User).where(ExperimentMembership.experiment_id == experiment.id)
                .options(selectinload(ExperimentMembership.user)).order_by(User.username))
        return list(self.session.scalars(stmt))

    def tokens_of(self, user: User) -> list[ApiToken]:
        permissions.check_self_or_admin(self.actor, user, "see other people's API tokens")
        stmt = select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at.desc())
        return list(self.session.scalars(stmt))

    # --- users ---------------------------------------------------------------------------------------------

    def create_user(self, username: str, *, full_name: str = "", email: str | None = None,
                    password: str | None = None, superuser: bool = False) -> User:
        """Create an account (administrators only).  Raises InvalidInput, Conflict (name taken)."""
        permissions.check_admin(self.actor, "create user accounts")
        username = (username or "").strip()
        if not username or len(username) > 100 or any(c.isspace() for c in username):
            raise InvalidInput("A username is 1-100 characters without spaces.",
                               field_errors={"username": ["1-100 characters, no spaces"]})
        if self.session.scalar(select(User.id).where(User.username == username)) is not None:
            raise Conflict(f"User {username!r} already exists.")
        user = User(username=username, full_name=full_name or "", email=email or None, is_superuser=superuser,
                    password_hash=self._checked_hash(password) if password is not None else None)
        self.session.add(user)
        self.session.flush()
        audit.record(self.session, self.actor, "user.create", "user", user.id,
                     after={"username": username, "full_name": user.full_name, "superuser": superuser,
                            "password_set": password is not None},
                     summary=f"created user {username}" + (" (administrator)" if superuser else ""))
        self.session.commit()
        return user

    def set_password(self, user: User, password: str) -> None:
        """Set a local password (the user themself or an administrator).  Raises InvalidInput if too short."""
        permissions.check_self_or_admin(self.actor, user, "set other people's passwords")
        user.password_hash = self._checked_hash(password)
        audit.record(self.session, self.actor, "user.set_password", "user", user.id,
                     summary=f"password of {user.username} changed (signed out everywhere)")
        sessions.end_all(self.session, user.id)
        self.session.commit()

    def set_active(self, user: User, active: bool) -> None:
        """Enable or disable an account (administrators only).  Disabling ends its browser sessions; its API
        tokens and sign-ins are refused while it is disabled."""
        permissions.check_admin(self.actor, "enable or disable accounts")
        if user.active == active:
            return
        user.active = active
        audit.record(self.session, self.actor, "user.enable" if active else "user.disable", "user", user.id,
                     before={"active": not active}, after={"active": active},
                     summary=f"{'enabled' if active else 'disabled'} user {user.username}")
        sessions.end_all(self.session, user.id)
        self.session.commit()

    @staticmethod
    def _checked_hash(password: str) -> str:
        if len(password) < MIN_PASSWORD_LENGTH:
            raise InvalidInput(f"A password needs at least {MIN_PASSWORD_LENGTH} characters.",
                               field_errors={"password": [f"at least {MIN_PASSWORD_LENGTH} characters"]})
        return hash_password(password)

    # --- memberships ---------------------------------------------------------------------------------------

    def _check_members(self, experiment: Experiment, role: str | None) -> None:
        if role is not None and role not in ROLES:
            raise InvalidInput(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.",
                               field_errors={"role": [f"one of {', '.join(ROLES)}"]})
        self.scope.check("experiment.members", experiment.id)

    def _membership(self, user: User, experiment: Experiment) -> ExperimentMembership | None:
        return self.session.scalar(select(ExperimentMembership).where(
            ExperimentMembership.user_id == user.id, ExperimentMembership.experiment_id == experiment.id))

    def grant(self, user: User, experiment: Experiment, role: str) -> ExperimentMembership:
        """Give ``user`` ``role`` in ``experiment``: adds the membership or changes its role.

        Raises InvalidInput (unknown role), NotFound/PermissionDenied (actor may not manage members).
        """
        self._check_members(experiment, role)
        membership = self._membership(user, experiment)
        before = {"role": membership.role} if membership else {"role": None}
        if membership is None:
            membership = ExperimentMembership(user_id=user.id, experiment_id=experiment.id, role=role)
            self.session.add(membership)
        else:
            membership.role = role
        self.session.flush()
        audit.record(self.session, self.actor, "membership.grant", "experiment_membership", membership.id,
                     experiment_id=experiment.id, before=before, after={"role": role},
                     summary=f"{user.username} is {role} in {experiment.name}")
        self.session.commit()
        self.session.expire(user, ["memberships"])
        return membership

    def add_member(self, user: User, experiment: Experiment, role: str) -> ExperimentMembership:
        """Like :meth:`grant` but raises Conflict if the user is already a member."""
        self._check_members(experiment, role)
        if self._membership(user, experiment) is not None:
            raise Conflict(f"{user.username} is already a member of {experiment.name}; change the role instead.")
        return self.grant(user, experiment, role)

    def change_role(self, user: User, experiment: Experiment, role: str) -> ExperimentMembership:
        """Like :meth:`grant` but raises NotFound if the user is not a member."""
        self._check_members(experiment, role)
        if self._membership(user, experiment) is None:
            raise NotFound(f"{user.username} is not a member of {experiment.name}.")
        return self.grant(user, experiment, role)

    def remove_member(self, user: User, experiment: Experiment) -> None:
        """Remove the membership.  Raises NotFound if there is none, PermissionDenied as above."""
        self._check_members(experiment, None)
        membership = self._membership(user, experiment)
        if membership is None:
            raise NotFound(f"{user.username} is not a member of {experiment.name}.")
        audit.record(self.session, self.actor, "membership.remove", "experiment_membership", membership.id,
                     experiment_id=experiment.id, before={"role": membership.role}, after={"role": None},
                     summary=f"{user.username} removed from {experiment.name}")
        self.session.delete(membership)
        self.session.commit()
        self.session.expire(user, ["memberships"])

    # --- API tokens ----------------------------------------------------------------------------------------

    def create_token(self, user: User, name: str,
                     expires_days: int | None = None) -> tuple[ApiToken, str]:
        """A new API token for ``user``: returns (row, plaintext).  The plaintext is not stored anywhere.

        Raises InvalidInput (bad name or lifetime), PermissionDenied (someone else's account).
        """
        permissions.check_self_or_admin(self.actor, user, "create API tokens for other people")
        name = (name or "").strip()
        if not name or len(name) > 100:
            raise InvalidInput("A token needs a name of 1-100 characters.", field_errors={"name": ["1-100 characters"]})
        if expires_days is not None and not 1 <= expires_days <= MAX_TOKEN_DAYS:
            raise InvalidInput(f"A token lives 1-{MAX_TOKEN_DAYS} days.",
                               field_errors={"expires_days": [f"between 1 and {MAX_TOKEN_DAYS}"]})
        plaintext = generate_token()
        now = self.clock()
        row = ApiToken(user_id=user.id, name=name, token_hash=hash_token(plaintext), created_at=now,
                       expires_at=now + dt.timedelta(days=expires_days) if expires_days else None)
        self.session.add(row)
        self.session.flush()
        audit.record(self.session, self.actor, "token.create", "api_token", row.id,
                     after={"user": user.username, "name": name,
                            "expires_at": row.expires_at.isoformat() if row.expires_at else None},
                     summary=f"API token {name!r} created for {user.username}")
        self.session.commit()
        return row, plaintext

    def revoke_token(self, token_id: int) -> ApiToken:
        """Revoke a token (its owner or an administrator).  Raises NotFound, Conflict (already revoked)."""
        row = self.session.get(ApiToken, token_id)
        mine = self.actor.user is not None and (self.actor.user.is_superuser or row is not None
                                                and row.user_id == self.actor.user.id)
        if row is None or not (self.actor.is_system or mine):
            raise NotFound(f"No API token with id {token_id}.")
        permissions.check_self_or_admin(self.actor, row.user, "revoke other people's API tokens")
        if row.revoked_at is not None:
            raise Conflict(f"API token {row.name!r} was already revoked.")
        row.revoked_at = self.clock()
        audit.record(self.session, self.actor, "token.revoke", "api_token", row.id,
                     summary=f"API token {row.name!r} of {row.user.username} revoked")
        self.session.commit()
        return row
