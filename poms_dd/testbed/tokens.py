"""JWT tokens as the MetaCat/DD auth server issues them (HS256, claims sub/exp/iat/nbf/jti), and the
lookup of the caller of a data request (``X-Authentication-Token``, ``Authorization: Bearer``, or the
``auth_token`` cookie, as ``AuthenticationCore.token_from_request`` does)."""
from __future__ import annotations

import uuid

import jwt
from flask import request

from .store import Store

SECRET = "poms-dd-testbed-hs256-signing-key-not-for-production"  # >= 32 bytes for HS256
LIFETIME = 7 * 24 * 3600


def mint(store: Store, username: str, lifetime: float = LIFETIME) -> str:
    now = int(store.now())
    return jwt.encode({"sub": username, "iat": now, "nbf": now - 5, "exp": int(now + lifetime),
                       "jti": uuid.uuid4().hex}, SECRET, algorithm="HS256")


def decode(store: Store, token: str) -> str | None:
    """The username of a valid token, or None (bad signature, expired by the testbed clock, unknown user)."""
    try:
        # times are checked below against the testbed clock (which /_testbed/tick advances), not the wall clock
        claims = jwt.decode(token, SECRET, algorithms=["HS256"],
                            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False})
    except jwt.PyJWTError:
        return None
    now = store.now()
    if claims.get("exp", 0) < now or claims.get("nbf", 0) > now + 60:
        return None
    user = claims.get("sub")
    return user if user in store.accounts else None


def request_token() -> str | None:
    token = request.headers.get("X-Authentication-Token")
    if not token:
        auth = request.headers.get("Authorization", "")
        if auth.lower().startswith("bearer "):
            token = auth[7:].strip()
    return token or request.cookies.get("auth_token")


def caller(store: Store) -> str | None:
    """The authenticated username of the current request, or None."""
    token = request_token()
    return decode(store, token) if token else None
