"""From an experiment's stored onboarding settings to working adapters (SPEC §7).

:class:`ConnectionService` is the one place where service credentials are decrypted: into the in-memory
``ExperimentConnection`` the adapters are built from.  :class:`AdapterRegistry` (one per process, on the
extension object or the worker) caches each experiment's :class:`~poms_dd.adapters.ExperimentAdapters`, so
logins and tokens are reused; a change of the experiment's settings (or secrets) builds new adapters.
"""
from __future__ import annotations

import dataclasses
import hashlib
import hmac
import os
import secrets
import threading
from pathlib import Path
from typing import Any

from ...adapters import Credential, ExperimentAdapters, ExperimentConnection
from ...crypto import SecretBox
from ...models import Experiment, Service
from ...settings import Settings


TOKEN_DIR_NAME = "token-files"          # the default token directory, under the instance path
_CONNECTION_FIELDS = {f.name for f in dataclasses.fields(ExperimentConnection)}


class AdapterRegistry:
    """Per-process cache: experiment name → (settings fingerprint, adapters).  Safe to share between threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[str, ExperimentAdapters]] = {}

    def get(self, conn: ExperimentConnection) -> ExperimentAdapters:
        key = _fingerprint(conn)
        with self._lock:
            cached = self._cache.get(conn.experiment)
            if cached is None or cached[0] != key:
                cached = (key, ExperimentAdapters(conn))
                self._cache[conn.experiment] = cached
            return cached[1]

    def forget(self, experiment: str) -> None:
        with self._lock:
            self._cache.pop(experiment, None)


_PROCESS_KEY = secrets.token_bytes(32)


def _fingerprint(conn: ExperimentConnection) -> str:
    """A keyed digest of every setting (secrets included; in memory only, keyed per process): equal settings,
    equal adapters."""
    return hmac.new(_PROCESS_KEY, repr(dataclasses.astuple(conn)).encode("utf-8"), hashlib.sha256).hexdigest()


def identity_key(encryption_key: str) -> bytes:
    """The key of the token libraries' ``identity`` files (a keyed hash of the credential, so the file says
    nothing about a password without POMS_DD_ENCRYPTION_KEY): HMAC-SHA256 of a fixed label under that key."""
    return hmac.new(encryption_key.encode("utf-8"), b"poms_dd token-library identity v1", hashlib.sha256).digest()


class ConnectionService:
    """Decrypted connections and cached adapters of experiments.  No permission check: its callers (the
    onboarding, launch and tracking services) have made theirs."""

    def __init__(self, crypto: SecretBox, instance_path: str | os.PathLike, registry: AdapterRegistry | None = None,
                 token_dir: str | os.PathLike | None = None):
        """``token_dir``: where token and x509 files must lie (POMS_DD_TOKEN_DIR; default
        ``<instance_path>/token-files``)."""
        self.crypto = crypto
        self.instance_path = Path(instance_path)
        self.registry = registry or AdapterRegistry()
        self.token_root = Path(token_dir) if token_dir else self.instance_path / TOKEN_DIR_NAME
        self.identity_key: bytes | None = None

    @classmethod
    def from_settings(cls, settings: Settings, registry: AdapterRegistry | None = None) -> "ConnectionService":
        """Raises ConfigurationError (not a Fernet key)."""
        service = cls(SecretBox.from_settings(settings), settings.instance_path, registry,
                      token_dir=settings.token_files_dir())
        service.identity_key = identity_key(settings.encryption_key)
        return service

    def state_dir(self, exp: Experiment) -> Path:
        """``<instance_path>/experiments/<name>``: the experiment's private token folder (not created here)."""
        return self.instance_path / "experiments" / exp.name

    def _ensure_state_dir(self, exp: Experiment) -> Path:
        path = self.state_dir(exp)
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(path, 0o700)
        return path

    def connection(self, exp: Experiment) -> ExperimentConnection:
        """The adapters' view of the experiment, secrets decrypted in memory.

        Creates the state folder (mode 0700).  Raises ConfigurationError if the secrets were encrypted with
        another key.
        """
        creds = {service: self._credential(exp, service) for service in Service}
        return ExperimentConnection(
            experiment=exp.name, state_dir=self._ensure_state_dir(exp),
            metacat_url=exp.metacat_url,
            metacat_auth_url=exp.metacat_auth_url or _auth_default(exp.metacat_url),
            metacat_gui_url=exp.metacat_gui_url,
            dd_url=exp.dd_url, dd_auth_url=exp.dd_auth_url or _auth_default(exp.dd_url), dd_gui_url=exp.dd_gui_url,
            rucio_host=exp.rucio_host, rucio_auth_host=exp.rucio_auth_host or exp.rucio_host,
            rucio_account=exp.rucio_account, role=exp.service_role, default_namespace=exp.default_namespace,
            metacat=creds[Service.METACAT], data_dispatcher=creds[Service.DATA_DISPATCHER],
            rucio=creds[Service.RUCIO], **tls_settings(exp), **self._file_policy())

    def _file_policy(self) -> dict[str, Any]:
        """``token_root`` for the adapters, which refuse token files outside it too, and ``identity_key``, the key
        of their credential fingerprints.  Passed once ExperimentConnection has the fields (the adapters'
        hardening); until then only the save-time check applies."""
        policy: dict[str, Any] = {"token_root": self.token_root, "identity_key": self.identity_key}
        return {k: v for k, v in policy.items() if k in _CONNECTION_FIELDS}

    def _credential(self, exp: Experiment, service: Service) -> Credential:
        row = exp.credential(service)
        if row is None:
            return Credential()
        secret = self.crypto.decrypt(row.secret_encrypted) if row.secret_encrypted else None
        return Credential(method=row.method, username=row.username, secret=secret, token_file=row.token_file,
                          cert_path=row.cert_path, key_path=row.key_path)

    def adapters(self, exp: Experiment) -> ExperimentAdapters:
        """The experiment's adapters (cached per process; rebuilt when its settings change).

        Raises ConfigurationError (secrets under another key).
        """
        return self.registry.get(self.connection(exp))


def tls_settings(exp: Experiment) -> dict[str, Any]:
    """The experiment's TLS, timeout and Rucio VO settings as ExperimentConnection arguments; an empty
    setting is left out, so the adapters' default applies (README.md there)."""
    out: dict[str, Any] = {"verify_tls": exp.verify_tls is not False, "ca_path": exp.ca_path or None}
    if exp.service_timeout:
        out["timeout"] = float(exp.service_timeout)
    if exp.rucio_vo:
        out["rucio_vo"] = exp.rucio_vo
    return out


def _auth_default(server_url: str | None) -> str | None:
    """The clients' own default (server_url + "/auth"), made explicit so no $..._AUTH_URL variable leaks in."""
    return server_url + "/auth" if server_url else None
