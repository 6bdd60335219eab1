"""Signing in: a local password, or an API token (what the web layer's request hook asks for)."""
from __future__ import annotations

import datetime as dt
from typing import Callable

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from ...db import utcnow
from ...errors import NotAuthenticated
from ...models import ApiToken, User
from . import sessions
from .credentials import check_password, dummy_hash, hash_token

# ``last_used_at`` is kept to the minute: a busy script does not write a row per request.
TOKEN_USE_RESOLUTION = dt.timedelta(minutes=1)
TOKEN_REMEDY = "Create a new token on your /account page or with `poms-dd user token`."


class SignInService:
    """Who a password or a bearer token belongs to.  Needs no actor: it is how an actor is found."""

    def __init__(self, session: Session, clock: Callable[[], dt.datetime] = utcnow):
        self.session = session
        self.clock = clock

    def user_named(self, username: str) -> User | None:
        return self.session.scalar(select(User).where(User.username == username))

    def authenticate_password(self, username: str, password: str) -> User | None:
        """The active user with this username and password, or None (one answer for every failure)."""
        user = self.user_named(username)
        if user is None or not user.password_hash:
            check_password(dummy_hash(), password)
            return None
        if not check_password(user.password_hash, password) or not user.active:
            return None
        return user

    def verify_api_token(self, token: str) -> tuple[User, ApiToken]:
        """The owner of a valid token (and the token row).  Changes nothing (see :meth:`record_token_use`).

        Raises NotAuthenticated with a message saying why: unknown, revoked, expired, or the account disabled.
        """
        now = self.clock()
        row = self.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
        if row is None:
            raise NotAuthenticated("Unknown API token. " + TOKEN_REMEDY)
        if row.revoked_at is not None:
            raise NotAuthenticated(f"API token {row.name!r} was revoked on {row.revoked_at:%Y-%m-%d %H:%M} UTC. "
                                   + TOKEN_REMEDY)
        if row.expires_at is not None and row.expires_at <= now:
            raise NotAuthenticated(f"API token {row.name!r} expired on {row.expires_at:%Y-%m-%d %H:%M} UTC. "
                                   + TOKEN_REMEDY)
        if not row.user.active:
            raise NotAuthenticated("The account owning this API token is disabled; ask a poms_dd administrator.")
        return row.user, row

    def token_use_is_stale(self, row: ApiToken) -> bool:
        """Whether ``row.last_used_at`` is older than :data:`TOKEN_USE_RESOLUTION` (worth recording again)."""
        return row.last_used_at is None or self.clock() - row.last_used_at >= TOKEN_USE_RESOLUTION

    def record_token_use(self, token_id: int) -> None:
        """Set the token's ``last_used_at`` to now, at most once per :data:`TOKEN_USE_RESOLUTION`; commits.

        Run it on a session of its own, so a request's session is not committed by signing in.
        """
        now = self.clock()
        self.session.execute(update(ApiToken).where(
            ApiToken.id == token_id,
            or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= now - TOKEN_USE_RESOLUTION))
            .values(last_used_at=now))
        self.session.commit()

    def sign_out_everywhere(self, user: User) -> None:
        """End every browser session of ``user`` (signing out ends the sessions of other browsers too); commits."""
        sessions.end_all(self.session, user.id)
        self.session.commit()
