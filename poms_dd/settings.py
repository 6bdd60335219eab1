"""One typed settings object, read from ``POMS_DD_*`` environment variables.

Every setting is documented in ``config/poms_dd.env.example``.  ``Settings.from_env()`` fails fast with
one message that lists every missing or malformed setting.
"""
from __future__ import annotations

import dataclasses
import os
import shlex
from dataclasses import dataclass
from typing import Mapping

from .errors import ConfigurationError

AUTH_MODES = ("local", "header")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
POSITIVE_INTS = ("session_idle_minutes", "session_max_hours", "signin_max_failures_per_user",
                 "signin_max_failures_per_address", "signin_failure_window_minutes")


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
    https: bool = False
    session_cookie_secure: bool = False     # the former name of ``https`` (still honoured)
    session_idle_minutes: int = 480
    session_max_hours: int = 24
    signin_max_failures_per_user: int = 5
    signin_max_failures_per_address: int = 20
    signin_failure_window_minutes: int = 15
    client_address_header: str = ""
    log_level: str = "INFO"
    launch_timeout: int = 600
    launch_log_max_bytes: int = 1024 * 1024
    ssh_command: str = "ssh"
    ssh_options: str = "-o BatchMode=yes -o ConnectTimeout=20"

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
            elif f.type in ("int", int):
                if not raw.strip().isdigit():
                    problems.append(f"{key} must be a whole number, not {raw!r}")
                    continue
                values[f.name] = int(raw)
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

    @property
    def uses_https(self) -> bool:
        """Whether the deployment is served over HTTPS (``POMS_DD_HTTPS`` or its old name
        ``POMS_DD_SESSION_COOKIE_SECURE``): Secure cookies and HSTS."""
        return self.https or self.session_cookie_secure

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
        for name in POSITIVE_INTS:
            if getattr(self, name) < 1:
                problems.append(f"POMS_DD_{name.upper()} must be at least 1, not {getattr(self, name)!r}")
        if self.log_level.upper() not in LOG_LEVELS:
            problems.append(f"POMS_DD_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {self.log_level!r}")
        if self.token_dir and not os.path.isabs(self.token_dir):
            problems.append(f"POMS_DD_TOKEN_DIR must be an absolute path, not {self.token_dir!r}")
        if self.database_url and not self.database_url.startswith("postgresql"):
            problems.append("POMS_DD_DATABASE_URL must be a PostgreSQL URL (postgresql+psycopg2://...)")
        return problems + self._launch_problems()

    def _launch_problems(self) -> list[str]:
        problems = []
        if self.launch_timeout < 1:
            problems.append(f"POMS_DD_LAUNCH_TIMEOUT must be at least 1 (seconds), not {self.launch_timeout}")
        if self.launch_log_max_bytes < 4096:
            problems.append("POMS_DD_LAUNCH_LOG_MAX_BYTES must be at least 4096, "
                            f"not {self.launch_log_max_bytes}")
        for name in ("ssh_command", "ssh_options"):
            try:
                words = shlex.split(getattr(self, name))
            except ValueError as exc:
                problems.append(f"POMS_DD_{name.upper()} is not a valid shell word list ({exc})")
                continue
            if name == "ssh_command" and not words:
                problems.append("POMS_DD_SSH_COMMAND must name the ssh program")
        return problems

    @property
    def ssh_command_argv(self) -> tuple[str, ...]:
        """``POMS_DD_SSH_COMMAND`` split into words (``shlex.split``)."""
        return tuple(shlex.split(self.ssh_command))

    @property
    def ssh_options_argv(self) -> tuple[str, ...]:
        """``POMS_DD_SSH_OPTIONS`` split into words (``shlex.split``)."""
        return tuple(shlex.split(self.ssh_options))
