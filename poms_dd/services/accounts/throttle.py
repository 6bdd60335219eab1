"""The sign-in rate limit: failed password sign-ins per user name and per client address, in PostgreSQL.

Every process of the app (several gunicorn workers) shares the count through the ``signin_failure`` table;
rows older than the window are deleted as new failures arrive.  A sign-in is refused (before the password is
checked, so a refused attempt tells nothing and is not counted) when, within the last
``signin_failure_window_minutes``:

* the user name has ``signin_max_failures_per_user`` failures (from anywhere), or
* the client address has ``signin_max_failures_per_address`` failures (for any names) — unless the browser
  carries a *known-device* proof for this user name (a signed cookie set at that user's last successful
  sign-in there; the web layer checks it).  So one attacker spraying names from a shared address (a NAT, the
  site proxy) does not lock out the colleagues behind it who have signed in from their browser before.

A successful sign-in clears that user name's failures.  Two attempts racing at the limit may both be checked;
the limit is a slowdown, not an exact count.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Callable

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ...db import utcnow
from ...models import SignInFailure
from ...settings import Settings

MAX_FIELD = 100


@dataclass(frozen=True)
class Limits:
    per_user: int = 5
    per_address: int = 20
    window: dt.timedelta = dt.timedelta(minutes=15)

    @classmethod
    def from_settings(cls, settings: Settings | None) -> "Limits":
        if settings is None:
            return cls()
        return cls(per_user=settings.signin_max_failures_per_user,
                   per_address=settings.signin_max_failures_per_address,
                   window=dt.timedelta(minutes=settings.signin_failure_window_minutes))


@dataclass(frozen=True)
class Refusal:
    """Why a sign-in is refused and when to try again (``retry_after`` seconds, ``until`` aware UTC)."""

    retry_after: int
    until: dt.datetime
    message: str


class SignInThrottle:
    """Counts failed sign-ins and says whether the next one may be tried.  Needs no actor."""

    def __init__(self, session: Session, clock: Callable[[], dt.datetime] = utcnow,
                 limits: Limits | None = None):
        self.session = session
        self.clock = clock
        self.limits = limits or Limits()

    def refusal(self, username: str, address: str, *, known_device: bool = False) -> Refusal | None:
        """A :class:`Refusal` if this sign-in must wait, else None.  Changes nothing."""
        now = self.clock()
        username, address = username[:MAX_FIELD], address[:MAX_FIELD]
        user_until = self._blocked_until(SignInFailure.username == username, self.limits.per_user, now)
        if user_until is not None:
            return self._refusal(now, user_until, f"Too many failed sign-ins for user {username!r}")
        if not known_device:
            address_until = self._blocked_until(SignInFailure.client_address == address,
                                                self.limits.per_address, now)
            if address_until is not None:
                return self._refusal(now, address_until, "Too many failed sign-ins from your network address")
        return None

    def record_failure(self, username: str, address: str) -> None:
        """Count a failed sign-in and prune the failures that left the window; commits."""
        now = self.clock()
        self.session.execute(delete(SignInFailure).where(SignInFailure.failed_at <= now - self.limits.window))
        self.session.add(SignInFailure(username=username[:MAX_FIELD], client_address=address[:MAX_FIELD],
                                       failed_at=now))
        self.session.commit()

    def record_success(self, username: str) -> None:
        """Forget the user name's failures (a person who knows the password is not an attack); commits."""
        self.session.execute(delete(SignInFailure).where(SignInFailure.username == username[:MAX_FIELD]))
        self.session.commit()

    def _blocked_until(self, which, limit: int, now: dt.datetime) -> dt.datetime | None:
        """When the count of failures matching ``which`` in the window drops below ``limit`` (None: it is)."""
        since = now - self.limits.window
        count = self.session.scalar(select(func.count()).select_from(SignInFailure)
                                    .where(which, SignInFailure.failed_at > since))
        if count < limit:
            return None
        # The (count - limit + 1)-th oldest failure leaving the window brings the count below the limit.
        oldest_needed = self.session.scalar(
            select(SignInFailure.failed_at).where(which, SignInFailure.failed_at > since)
            .order_by(SignInFailure.failed_at).offset(count - limit).limit(1))
        return oldest_needed + self.limits.window

    @staticmethod
    def _refusal(now: dt.datetime, until: dt.datetime, reason: str) -> Refusal:
        seconds = max(1, math.ceil((until - now).total_seconds()))
        minutes = math.ceil(seconds / 60)
        wait = f"{minutes} minute{'s' if minutes != 1 else ''}"
        return Refusal(seconds, until, f"{reason}. Try again in {wait} (after {until:%H:%M} UTC).")
