"""Token status and "refresh now" for an experiment's service identities (SPEC §7).

Reads what the adapters hold in the experiment's own token libraries (``conn.state_dir``); "refresh" makes
each adapter log in again now.  Nothing here ever returns or logs a token or password.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Callable

from ...adapters import ExperimentAdapters, Identity
from ...errors import ConfigurationError, ExternalServiceError
from ...models import Service
from .rules import SERVICE_URL


@dataclass(frozen=True)
class TokenStatus:
    """Who poms_dd is signed in as at one service, by which method, and until when."""

    service: str                        # "MetaCat" | "Data Dispatcher" | "Rucio"
    method: str | None                  # password | token_file | x509 (None: not configured)
    account: str | None                 # the configured service account
    identity: str | None = None         # who the service token says we are (None: no token held)
    expires_at: dt.datetime | None = None
    configured: bool = True
    error: str | None = None

    def expires_in(self, now: dt.datetime | None = None) -> float | None:
        """Seconds until the token expires (negative: expired), None when unknown."""
        if self.expires_at is None:
            return None
        now = now or dt.datetime.now(dt.timezone.utc)
        return (self.expires_at - now).total_seconds()

    def as_json(self, now: dt.datetime | None = None) -> dict[str, Any]:
        return {"service": self.service, "method": self.method, "account": self.account,
                "identity": self.identity, "configured": self.configured,
                "expires_at": self.expires_at.isoformat() if self.expires_at else None,
                "expires_in_seconds": (round(self.expires_in(now)) if self.expires_at else None),
                "error": self.error}


def _one(service: Service, adapters: ExperimentAdapters, action: Callable[[Any], Any]) -> TokenStatus:
    conn = adapters.conn
    label = service.label
    cred = getattr(conn, service)
    account = conn.rucio_account if service == Service.RUCIO and conn.rucio_account else cred.username
    if not getattr(conn, SERVICE_URL[service]):
        return TokenStatus(label, None, None, configured=False)
    try:
        identity = action(getattr(adapters, service))
    except (ExternalServiceError, ConfigurationError) as err:
        return TokenStatus(label, cred.method, account, error=err.message)
    if identity is None:
        return TokenStatus(label, cred.method, account)
    return TokenStatus(label, cred.method, account, identity=identity.username or None, expires_at=identity.expires)


def _held(adapter: Any) -> Identity | None:
    """The identity of the token the adapter holds, without logging in.

    MetaCat/DD adapters read it from their token library.  The Rucio client keeps an opaque token file (and
    an expiry file only for OIDC tokens); Rucio does not say when a userpass token expires client-side.
    """
    if hasattr(adapter, "identity"):
        return adapter.identity()
    token = adapter.token_dir / f"auth_token_{adapter.token_name}"
    if not token.exists():
        return None
    expiry = adapter.token_dir / f"auth_token_exp_{adapter.token_name}"
    expires = None
    if expiry.exists():
        try:
            expires = dt.datetime.fromtimestamp(int(expiry.read_text().strip()), tz=dt.timezone.utc)
        except (ValueError, OSError):
            expires = None
    return Identity(username=adapter.account or "", expires=expires)


def token_status(adapters: ExperimentAdapters) -> list[TokenStatus]:
    """What each adapter holds now (read from the token libraries; no login, no network)."""
    return [_one(service, adapters, _held) for service in Service]


def refresh_tokens(adapters: ExperimentAdapters) -> list[TokenStatus]:
    """Log in to every configured service now (even if a token is still fresh); report each result."""
    return [_one(service, adapters, lambda adapter: adapter.login(force=True)) for service in Service]
