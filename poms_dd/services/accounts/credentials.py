"""Password hashes and API-token digests, without the web stack (the worker and the CLI use them too).

Password hashes use the standard library's scrypt in the format ``scrypt:N:r:p$salt$hexdigest`` (the format
werkzeug writes, so hashes stored before this module existed keep verifying; ``pbkdf2:<hash>:<iterations>``
hashes verify too).  API tokens are random and only their SHA-256 is stored.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
import string

TOKEN_PREFIX = "pdd_"
SCRYPT_N, SCRYPT_R, SCRYPT_P = 32768, 8, 1
_SALT_CHARS = string.ascii_letters + string.digits


def _scrypt(password: str, salt: str, n: int, r: int, p: int) -> str:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt.encode("utf-8"), n=n, r=r, p=p,
                          maxmem=132 * n * r * p, dklen=64).hex()


def hash_password(password: str) -> str:
    """A salted scrypt hash for ``User.password_hash``."""
    salt = "".join(secrets.choice(_SALT_CHARS) for _ in range(16))
    return f"scrypt:{SCRYPT_N}:{SCRYPT_R}:{SCRYPT_P}${salt}${_scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)}"


def check_password(stored: str, password: str) -> bool:
    """Whether ``password`` matches the stored hash (constant-time compare; False for unreadable hashes)."""
    try:
        method, salt, digest = stored.split("$", 2)
        name, *args = method.split(":")
        if name == "scrypt":
            n, r, p = (int(a) for a in args) if args else (SCRYPT_N, SCRYPT_R, SCRYPT_P)
            actual = _scrypt(password, salt, n, r, p)
        elif name == "pbkdf2":
            algorithm = args[0] if args else "sha256"
            iterations = int(args[1]) if len(args) > 1 else 600000
            actual = hashlib.pbkdf2_hmac(algorithm, password.encode("utf-8"), salt.encode("utf-8"),
                                         iterations).hex()
        else:
            return False
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, digest)


@functools.cache
def dummy_hash() -> str:
    """A real hash to compare against when the user does not exist, so timing does not reveal usernames."""
    return hash_password("not-a-real-password")


def generate_token() -> str:
    """A new random bearer token (shown to its owner once, never stored)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """SHA-256 hex digest: what ``ApiToken.token_hash`` holds."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
