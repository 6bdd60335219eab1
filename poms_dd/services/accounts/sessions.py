"""Browser sessions that end on the server: what a session stores at sign-in and whether it is still good.

A signed-in browser session carries the user's ``session_generation`` (as of sign-in), when it signed in and
when it was last seen.  It is refused when the generation moved on (the user signed out — everywhere —,
changed the password or was disabled), when it was idle longer than ``session_idle_minutes`` or when it is
older than ``session_max_hours``.  The web layer keeps these in Flask's signed session cookie; nothing here
knows Flask.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, MutableMapping

from sqlalchemy import update
from sqlalchemy.orm import Session

from ...models import User
from ...settings import Settings

GENERATION, SIGNED_IN_AT, SEEN_AT = "_pdd_gen", "_pdd_signed_in", "_pdd_seen"
# "last seen" is rewritten at most this often, so not every request sends a new cookie.
SEEN_RESOLUTION = 60


@dataclass(frozen=True)
class SessionLifetime:
    idle: dt.timedelta = dt.timedelta(minutes=480)
    maximum: dt.timedelta = dt.timedelta(hours=24)

    @classmethod
    def from_settings(cls, settings: Settings | None) -> "SessionLifetime":
        if settings is None:
            return cls()
        return cls(idle=dt.timedelta(minutes=settings.session_idle_minutes),
                   maximum=dt.timedelta(hours=settings.session_max_hours))


def start(stored: MutableMapping[str, Any], user: User, now: dt.datetime) -> None:
    """Record a sign-in of ``user`` in the (fresh) session ``stored``."""
    stored[GENERATION] = user.session_generation
    stored[SIGNED_IN_AT] = stored[SEEN_AT] = int(now.timestamp())


def problem(stored: MutableMapping[str, Any], user: User, now: dt.datetime,
            lifetime: SessionLifetime) -> str | None:
    """Why the session ``stored`` no longer signs ``user`` in (a sentence for the sign-in page), or None.
    When it is still good, refreshes its "last seen" time."""
    if not user.active:
        return "Your account is disabled; ask a poms_dd administrator."
    signed_in, seen = stored.get(SIGNED_IN_AT), stored.get(SEEN_AT)
    if stored.get(GENERATION) != user.session_generation or not isinstance(signed_in, int) \
            or not isinstance(seen, int):
        return "Your session has ended (signed out, or the password was changed). Please sign in again."
    stamp = int(now.timestamp())
    if stamp - seen > lifetime.idle.total_seconds():
        return "Your session expired after a period of inactivity. Please sign in again."
    if stamp - signed_in > lifetime.maximum.total_seconds():
        return "Your session reached its maximum length. Please sign in again."
    if stamp - seen >= SEEN_RESOLUTION:
        stored[SEEN_AT] = stamp
    return None


def end_all(session: Session, user_id: int) -> None:
    """End every browser session of the user (bumps the generation; the caller commits)."""
    session.execute(update(User).where(User.id == user_id)
                    .values(session_generation=User.session_generation + 1)
                    .execution_options(synchronize_session="fetch"))
