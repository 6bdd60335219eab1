"""RucioAdapter: the real ``rucio.client.Client`` behind our value types.

What ``_RucioClient`` changes, and why (each is process-wide or per-user state in rucio-clients):

* **Token file**: rucio-clients puts it under ``tempfile.gettempdir()/<user>/`` or ``auth_token_file_path`` of
  rucio.cfg (process-wide).  ``_get_auth_tokens`` puts it in ``conn.state_dir/rucio/`` under a name with a
  fingerprint of the credential: a cached token never lets a changed (wrong) password pass (PROTOCOLS §8), and
  experiments never share a token.
* **Bearer tokens** (``token_file``, auth type ``oidc``): rucio-clients would take ``$BEARER_TOKEN``,
  ``$BEARER_TOKEN_FILE`` or ``$XDG_RUNTIME_DIR/bt_u<uid>`` of the process (``wlcg_token_discovery``) and, on 401,
  start an interactive OIDC flow.  ``__read_token``/``__get_token`` read the experiment's own token instead
  (re-reading the file on 401, so a refreshed file is picked up; the same token refused twice is an error).
* **Everything explicit**: account, VO, CA policy (``tls.py``), timeout and auth type are passed, so neither
  ``$RUCIO_ACCOUNT``/``$RUCIO_VO``/``$X509_CERT_DIR`` nor a rucio.cfg decides them.  An x509 credential
  without a separate key file is used as a proxy (``x509_proxy``), never ``$X509_USER_PROXY``.
* ``BaseClient.__init__`` rewrites ``sys.argv[0]``; construction runs under a module lock that restores it.

The client logs in while it is constructed and again by itself on HTTP 401.  It keeps one requests Session and
mutable token state, so calls on one adapter are serialised (``_call_lock``); experiments run in parallel.
"""
from __future__ import annotations

import logging
import os
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, TypeVar

from rucio.client import Client
from rucio.common.exception import CannotAuthenticate, DataIdentifierNotFound

from ..errors import ConfigurationError, InvalidInput
from . import tls
from .config import ExperimentConnection
from .errors import RUCIO, check_reply, raise_translated
from .redaction import Secrets
from .retry import call_read
from .token_files import read_bearer_token, secrets_of
from .tokens import check_x509_files, credential_fingerprint, private_dir
from .types import DIDInfo, FileReplicas, Identity, ReplicaLocation, RSEInfo

T = TypeVar("T")
MAX_DIDS_PER_CALL = 1000       # the server rejects more (InvalidObject)
_ARGV_LOCK = threading.Lock()


class _RucioClient(Client):
    """The real client with its token and its bearer token placed by poms_dd (see the module docstring)."""

    def __init__(self, token_dir: Path, token_name: str, secrets: Secrets, bearer: Callable[[], str] | None = None,
                 **kwargs: Any):
        self._poms_token_dir = str(token_dir)
        self._poms_token_name = token_name
        self._poms_bearer = bearer
        self._poms_secrets = secrets
        with _ARGV_LOCK:
            argv0 = sys.argv[0] if sys.argv else None
            try:
                super().__init__(**kwargs)
            finally:
                if argv0 is not None:
                    sys.argv[0] = argv0

    def _get_auth_tokens(self):
        directory, name = self._poms_token_dir, self._poms_token_name
        return None, f"{directory}/auth_token_exp_{name}", f"{directory}/auth_token_{name}", directory

    def _poms_use_bearer(self, token: str) -> None:
        self.auth_token = token
        self.headers["X-Rucio-Auth-Token"] = token
        _write_private(self.token_file, token)

    def _BaseClient__read_token(self) -> bool:      # noqa: N802 - overrides BaseClient.__read_token
        if self._poms_bearer is None:
            found = super()._BaseClient__read_token()
            self._poms_secrets.add(getattr(self, "auth_token", None))      # a token held is a secret too
            return found
        self._poms_use_bearer(self._poms_bearer())
        return True

    def _BaseClient__get_token(self):          # noqa: N802 - overrides BaseClient.__get_token
        if self._poms_bearer is None:
            try:
                return super()._BaseClient__get_token()
            finally:
                self._poms_secrets.add(getattr(self, "auth_token", None))
        token = self._poms_bearer()
        if token == self.auth_token:
            raise CannotAuthenticate("the bearer token was refused; refresh the token file")
        self._poms_use_bearer(token)


class _RedactingLog(logging.LoggerAdapter):
    """rucio-clients' own logger, with the experiment's secrets removed from every record: at DEBUG it logs
    each request header, ``X-Rucio-Password`` included (it hides only ``X-Rucio-Auth-Token``)."""

    def __init__(self, secrets: Secrets):
        super().__init__(logging.getLogger("rucio.client.baseclient"), {})
        self.secrets = secrets

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        if self.isEnabledFor(level):
            text = str(msg) % args if args else str(msg)
            self.logger.log(level, "%s", self.secrets.redact(text), **kwargs)


def _write_private(path: str, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path))
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def login_description(cred: Any, account: str) -> str:
    """Who a failed Rucio call was made as: the login identity (userpass user, certificate or token) and the
    Rucio account it acts for, which need not be the same."""
    if cred.method == "password":
        return f"userpass user {cred.username!r} (Rucio account {account!r})"
    if cred.method == "x509":
        return f"x509 certificate {cred.cert_path} (Rucio account {account!r})"
    if cred.method == "token_file":
        return f"bearer token (Rucio account {account!r})"
    return f"Rucio account {account!r}"


def _split_did(did: str | tuple[str, str]) -> tuple[str, str]:
    if isinstance(did, tuple):
        return did
    scope, sep, name = str(did).partition(":")
    if not sep or not scope or not name:
        raise InvalidInput(f"Invalid DID {did!r}: expected scope:name.")
    return scope, name


class RucioAdapter:
    """One experiment's Rucio account.  Every method raises ExternalServiceError when Rucio fails or cannot
    be reached (including a refused login)."""

    service = RUCIO

    def __init__(self, conn: ExperimentConnection):
        if not conn.rucio_host:
            raise ConfigurationError(f"No Rucio host is configured for experiment {conn.experiment}.")
        self.conn = conn
        self.url = conn.rucio_host.rstrip("/")
        self.auth_url = (conn.rucio_auth_host or conn.rucio_host).rstrip("/")
        self.timeout = conn.timeout_for("rucio")
        self.tls = tls.resolve(conn.ca_path, conn.verify_tls)
        cred = conn.rucio
        self.account = conn.rucio_account or cred.username
        if not self.account:
            raise ConfigurationError(f"No Rucio account is configured for experiment {conn.experiment}.")
        self.token_dir = conn.state_dir / "rucio"
        fingerprint = credential_fingerprint(cred, self.auth_url, self.account, key=conn.identity_key)[:16]
        self.token_name = f"for_account_{self.account}_{fingerprint}"
        self.secrets = secrets_of(conn)
        self.who = login_description(cred, self.account)
        self._client: _RucioClient | None = None
        self._lock = threading.Lock()
        self._call_lock = threading.RLock()
        self._rse_types: dict[str, bool] | None = None

    def _build(self) -> _RucioClient:
        cred = self.conn.rucio
        bearer = None
        if cred.method == "password":
            auth_type, creds = "userpass", {"username": cred.username, "password": cred.secret or ""}
        elif cred.method == "x509":
            check_x509_files(RUCIO, cred, private_key_mode=True)
            if cred.key_path:
                auth_type, creds = "x509", {"client_cert": cred.cert_path, "client_key": cred.key_path}
            else:
                auth_type, creds = "x509_proxy", {"client_proxy": cred.cert_path}
        elif cred.method == "token_file":
            auth_type, creds = "oidc", {}
            bearer = lambda: read_bearer_token(cred, self.conn.token_root, self.secrets)  # noqa: E731
        else:
            raise ConfigurationError(f"Unknown Rucio authentication method {cred.method!r}.")
        private_dir(self.token_dir)
        return _RucioClient(self.token_dir, self.token_name, self.secrets, bearer=bearer, rucio_host=self.url,
                            auth_host=self.auth_url, account=self.account, auth_type=auth_type, creds=creds,
                            ca_cert=self.tls.verify, vo=self.conn.rucio_vo, timeout=self.timeout,
                            logger=_RedactingLog(self.secrets))

    @property
    def client(self) -> _RucioClient:
        """The logged-in client, built (and logged in) on first use; raises ExternalServiceError."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._call("log in", self._build, idempotent=True, connect=False)
        return self._client

    def _call(self, operation: str, fn: Callable[[], T], *, idempotent: bool, connect: bool = True,
              expect: type | tuple[type, ...] | None = None, **shape: Any) -> T:
        """``fn()`` (one client call) under the call lock, its result checked by ``check_reply(result, expect,
        **shape)``; reads follow the retry policy.  Raises ExternalServiceError (no secret in it)."""
        def once() -> T:
            if connect:
                self.client
            with self._call_lock:
                result = fn()
            return result if expect is None else check_reply(result, expect, **shape)
        try:
            return call_read(once) if idempotent else once()
        except Exception as exc:
            raise_translated(RUCIO, operation, self.url, exc, timeout=self.timeout, who=self.who,
                             secrets=self.secrets)

    def login(self, force: bool = False) -> Identity:
        """Log in (``force``: drop the cached token first, proving the credential) and return the account."""
        if force:
            with self._lock:
                self._client = None
                token_file = self.token_dir / f"auth_token_{self.token_name}"
                if token_file.exists():
                    token_file.unlink()
        return self.whoami()

    def ping(self) -> str:
        """The server version."""
        return str(self._call("ping", lambda: self.client.ping(), idempotent=True, expect=dict).get("version", ""))

    def whoami(self) -> Identity:
        data = self._call("ask who we are", lambda: self.client.whoami(), idempotent=True, expect=dict)
        return Identity(username=data.get("account") or self.account or "")

    def list_rses(self, expression: str | None = None) -> list[RSEInfo]:
        items = self._call("list RSEs", lambda: self.client.list_rses(expression), idempotent=True,
                           expect=(list, Iterator), items=dict)
        rses = [RSEInfo(name=r["rse"], is_tape=str(r.get("rse_type", "")).upper() == "TAPE") for r in items]
        if expression is None:
            self._rse_types = {r.name: r.is_tape for r in rses}
        return rses

    def get_did(self, did: str) -> DIDInfo | None:
        """The DID's type and size, or None if Rucio does not know it."""
        scope, name = _split_did(did)

        def call() -> dict[str, Any] | None:
            try:
                return self.client.get_did(scope, name)
            except DataIdentifierNotFound:
                return None
        data = self._call("look up the DID", call, idempotent=True, expect=dict, optional=True)
        if data is None:
            return None
        return DIDInfo(scope=data["scope"], name=data["name"], type=str(data.get("type", "")).upper(),
                       bytes=data.get("bytes"), length=data.get("length"), account=data.get("account"))

    def replicas(self, dids: Iterable[str | tuple[str, str]], *, rse_expression: str | None = None,
                 chunk_size: int = MAX_DIDS_PER_CALL) -> Iterator[FileReplicas]:
        """Replicas of many file DIDs, asked ``chunk_size`` (≤ 1000) at a time; files Rucio does not know are
        absent.  Each location says its RSE, state (AVAILABLE, ...) and whether it is tape."""
        chunk_size = max(1, min(chunk_size, MAX_DIDS_PER_CALL))
        batch: list[dict[str, str]] = []
        for did in dids:
            scope, name = _split_did(did)
            batch.append({"scope": scope, "name": name})
            if len(batch) == chunk_size:
                yield from self._replica_chunk(batch, rse_expression)
                batch = []
        if batch:
            yield from self._replica_chunk(batch, rse_expression)

    def _replica_chunk(self, batch: list[dict[str, str]], rse_expression: str | None) -> Iterator[FileReplicas]:
        if self._rse_types is None:
            self.list_rses()
        items = self._call("list replicas", lambda: self.client.list_replicas(
            batch, all_states=True, ignore_availability=True, rse_expression=rse_expression), idempotent=True,
            expect=(list, Iterator), items=dict)
        for item in items:
            yield self._replicas_from_json(item)

    def _replicas_from_json(self, item: dict[str, Any]) -> FileReplicas:
        pfn_types = {info.get("rse"): str(info.get("type", "")).upper()
                     for info in (item.get("pfns") or {}).values()}
        states = item.get("states") or {}
        locations = []
        for rse, pfns in sorted((item.get("rses") or {}).items()):
            kind = pfn_types.get(rse)
            is_tape = kind == "TAPE" if kind else (self._rse_types or {}).get(rse, False)
            locations.append(ReplicaLocation(rse=rse, state=str(states.get(rse, "AVAILABLE")), is_tape=is_tape,
                                             pfn=pfns[0] if pfns else None))
        for rse, state in sorted(states.items()):      # replicas without a PFN (e.g. not yet available)
            if rse not in (item.get("rses") or {}):
                locations.append(ReplicaLocation(rse=rse, state=str(state),
                                                 is_tape=(self._rse_types or {}).get(rse, False)))
        return FileReplicas(scope=item["scope"], name=item["name"], bytes=item.get("bytes"),
                            locations=tuple(locations))
