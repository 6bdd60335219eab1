"""The value types an adapter is built from: an experiment's endpoints and decrypted credentials.

Built by the onboarding service from the database (secrets decrypted only in memory), consumed by
``poms_dd.adapters``.  ``state_dir`` is the experiment's private folder under the instance path, where its
token library and Rucio token files live (never ``$HOME``, never shared between experiments).

TLS (``ca_path``, ``verify_tls``) and timeouts (``timeout`` plus optional per-service overrides) apply to every
request of the three adapters, logins included; ``adapters/tls.py`` resolves the CA setting (README.md).
``token_root`` is the directory bearer-token files must lie in (``adapters/token_files.py``).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Credential:
    """How to authenticate to one service.  ``method`` is password | token_file | x509."""

    method: str = "password"
    username: str | None = None
    secret: str | None = field(default=None, repr=False)   # password or token contents; never logged
    token_file: str | None = None
    cert_path: str | None = None
    key_path: str | None = None


@dataclass(frozen=True)
class ExperimentConnection:
    experiment: str
    state_dir: Path
    metacat_url: str | None = None
    metacat_auth_url: str | None = None
    metacat_gui_url: str | None = None
    dd_url: str | None = None
    dd_auth_url: str | None = None
    dd_gui_url: str | None = None
    rucio_host: str | None = None
    rucio_auth_host: str | None = None
    rucio_account: str | None = None
    role: str | None = None
    default_namespace: str | None = None
    metacat: Credential = Credential()
    data_dispatcher: Credential = Credential()
    rucio: Credential = Credential()
    timeout: float = 60.0
    metacat_timeout: float | None = None     # per-service overrides of ``timeout`` (seconds per request)
    dd_timeout: float | None = None
    rucio_timeout: float | None = None
    ca_path: str | None = None               # CA bundle file or hashed CA directory (e.g. /etc/grid-security/certificates)
    verify_tls: bool = True                  # False only for test servers with self-made certificates
    rucio_vo: str = "def"
    token_root: Path | None = None           # token files must lie under this directory (None: anywhere)
    # The key of the credential fingerprints written next to the token libraries (an HMAC, so reading the file
    # does not allow testing password guesses offline).  None: an unkeyed digest (tests, scripts).
    identity_key: bytes | None = field(default=None, repr=False)

    def timeout_for(self, service: str) -> float:
        """Seconds per request for ``service`` ("metacat", "data_dispatcher" or "rucio")."""
        override = {"metacat": self.metacat_timeout, "data_dispatcher": self.dd_timeout,
                    "rucio": self.rucio_timeout}[service]
        return float(override if override else self.timeout)


@dataclass(frozen=True)
class ServiceCheck:
    """The result of "Test connection" for one service."""

    service: str                       # "MetaCat" | "Data Dispatcher" | "Rucio"
    ok: bool
    url: str | None = None
    version: str | None = None
    identity: str | None = None
    token_expires: dt.datetime | None = None
    details: dict[str, object] = field(default_factory=dict)   # e.g. sample count, RSE list
    error: str | None = None
