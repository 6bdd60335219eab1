"""Secrets at rest: Fernet (AES-128-CBC + HMAC-SHA256) with the key from ``POMS_DD_ENCRYPTION_KEY``.

Service passwords and pasted token contents are stored only as ``SecretBox.encrypt`` output and decrypted
in memory when an adapter is built.  Nothing here logs or echoes a plaintext.
"""
from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken

from .errors import ConfigurationError
from .settings import Settings

WRONG_KEY = ("secrets were encrypted with another POMS_DD_ENCRYPTION_KEY: set the key that was used when "
             "they were stored, or re-enter the service passwords/tokens on the experiment's admin page")


class SecretBox:
    """Encrypts and decrypts short text secrets with one Fernet key."""

    def __init__(self, key: str | bytes):
        """Raises ConfigurationError if ``key`` is not a Fernet key (32 url-safe base64 bytes)."""
        raw = key.encode() if isinstance(key, str) else key
        try:
            self._fernet = Fernet(raw)
        except (ValueError, TypeError):
            raise ConfigurationError("POMS_DD_ENCRYPTION_KEY must be a Fernet key "
                                     "(generate one with `poms-dd generate-key`)") from None

    @classmethod
    def from_settings(cls, settings: Settings) -> "SecretBox":
        return cls(settings.encryption_key)

    def encrypt(self, plaintext: str) -> bytes:
        """Return the Fernet token (bytes) for ``plaintext``."""
        return self._fernet.encrypt(plaintext.encode("utf-8"))

    def decrypt(self, token: bytes | memoryview | str) -> str:
        """Return the plaintext.

        Raises ConfigurationError if the token was made with another key (or is corrupt).
        """
        if isinstance(token, memoryview):
            token = token.tobytes()
        if isinstance(token, str):
            token = token.encode("ascii")
        try:
            return self._fernet.decrypt(token).decode("utf-8")
        except InvalidToken:
            raise ConfigurationError(WRONG_KEY) from None

    def __repr__(self) -> str:          # never show the key
        return "SecretBox(<key hidden>)"
