"""One typed settings object, read from ``POMS_DD_*`` environment variables.

Every setting is documented in ``config/poms_dd.env.example``.  ``Settings.from_env()`` fails fast with
one message that lists every missing or malformed setting.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Mapping

from .errors import ConfigurationError

AUTH_MODES = ("local", "header")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@dataclass(frozen=True)
class Settings:
    """Application settings; build with :meth:`from_env` or directly in tests."""

    database_url: str
    secret_key: str
    encryption_key: str
    auth_mode: str = "local"
    trusted_header: str = "X-Remote-User"
    instance_path: str = "instance"
    token_dir: str = ""                 # token/x509 files must lie here; empty: <instance_path>/token-files
    global_hold: bool = False
    session_cookie_secure: bool = False
    log_level: str = "INFO"

    REQUIRED = ("database_url", "secret_key", "encryption_key")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        """Read settings from ``POMS_DD_<NAME>`` variables.

        Raises ConfigurationError naming every missing required setting and every bad value.
        """
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        problems: list[str] = []
        for f in dataclasses.fields(cls):
            key = "POMS_DD_" + f.name.upper()
            raw = env.get(key)
            if raw is None or raw == "":
                if f.name in cls.REQUIRED:
                    problems.append(f"{key} is required but not set")
                continue
            if f.type in ("bool", bool):
                if raw.lower() not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                    problems.append(f"{key} must be true or false, not {raw!r}")
                    continue
                values[f.name] = raw.lower() in ("1", "true", "yes", "on")
            else:
                values[f.name] = raw
        for name in cls.REQUIRED:
            values.setdefault(name, "")
        settings = cls(**values)
        problems += [p for p in settings.problems() if p not in problems]
        if problems:
            raise ConfigurationError("poms_dd is not configured: " + "; ".join(problems)
                                     + " (see config/poms_dd.env.example)")
        return settings

    def token_files_dir(self) -> str:
        """Where the experiments' token files and x509 certificates/keys must lie (POMS_DD_TOKEN_DIR)."""
        return self.token_dir or os.path.join(self.instance_path, "token-files")

    def validated(self) -> "Settings":
        """Return self; raise ConfigurationError listing every problem."""
        problems = self.problems()
        if problems:
            raise ConfigurationError("poms_dd is not configured: " + "; ".join(problems))
        return self

    def problems(self) -> list[str]:
        """Every missing or malformed setting, as messages naming the variable."""
        problems = []
        for name in self.REQUIRED:
            if not getattr(self, name):
                problems.append(f"POMS_DD_{name.upper()} is required but not set")
        if self.auth_mode not in AUTH_MODES:
            problems.append(f"POMS_DD_AUTH_MODE must be one of {', '.join(AUTH_MODES)}, not {self.auth_mode!r}")
        if self.encryption_key:
            from cryptography.fernet import Fernet
            try:
                Fernet(self.encryption_key.encode())
            except (ValueError, TypeError):
                problems.append("POMS_DD_ENCRYPTION_KEY must be a Fernet key "
                                "(generate one with `poms-dd generate-key`)")
        if self.log_level.upper() not in LOG_LEVELS:
            problems.append(f"POMS_DD_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {self.log_level!r}")
        if self.token_dir and not os.path.isabs(self.token_dir):
            problems.append(f"POMS_DD_TOKEN_DIR must be an absolute path, not {self.token_dir!r}")
        if self.database_url and not self.database_url.startswith("postgresql"):
            problems.append("POMS_DD_DATABASE_URL must be a PostgreSQL URL (postgresql+psycopg2://...)")
        return problems
