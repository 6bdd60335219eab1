"""Per-experiment service identity for MetaCat and Data Dispatcher: the token library and the login.

Each experiment has its own folder ``conn.state_dir/<service>/`` (mode 0700) holding

* ``token_library`` (0600): the clients' own ``TokenLib`` file (``<server_url> <jwt>`` per line);
* ``token_library.lock``: an ``fcntl`` lock taken around every login, so threads and processes that share
  the experiment log in one at a time and reuse each other's fresh token instead of racing on the file;
* ``identity``: a fingerprint of the configured credential; when the credential changes (new password,
  other account) the old tokens are dropped, so a stale token never hides a wrong password.

Logins use the clients' ``login_password`` / ``login_token`` / ``login_x509`` as ``clients.py`` redefines them:
with the adapter's timeout and TLS policy (the originals have neither).  Certificate and key files are checked
before an x509 login, so a missing file is a clear configuration error rather than a requests ``OSError``.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import hmac
import json
import os
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

from metacat.common import SignedToken, TokenLib

from .config import Credential
from ..errors import ConfigurationError
from .errors import TokenRejected, is_auth_failure, raise_translated
from .redaction import Secrets
from .retry import call_read
from .token_files import read_bearer_token
from .types import Identity

T = TypeVar("T")

REFRESH_MARGIN = 300.0          # log in again when the token has less than this many seconds left
METHODS = ("password", "token_file", "x509")


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) if needed and make it 0700; return it."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive ``fcntl.flock`` on ``path`` (created 0600), for threads and processes alike."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def credential_fingerprint(credential: Credential, *extra: str | None, key: bytes | None = None) -> str:
    """A digest that changes whenever the credential (or e.g. the auth URL) changes; never the secret itself.

    With ``key`` (the experiment connection's ``identity_key``) it is an HMAC-SHA256, so the file it is written
    to cannot be used to test password guesses without the key.
    """
    blob = json.dumps([credential.method, credential.username, credential.secret, credential.token_file,
                       credential.cert_path, credential.key_path, *extra]).encode()
    if key:
        return hmac.new(key, blob, hashlib.sha256).hexdigest()
    return hashlib.sha256(blob).hexdigest()


def check_x509_files(service: str, credential: Credential, private_key_mode: bool = False) -> None:
    """Refuse an x509 credential whose certificate or key file is missing or unreadable; with
    ``private_key_mode`` also a key readable by others (rucio-clients requires mode 0400 or 0600).

    Raises ConfigurationError naming the file and what to do.
    """
    if not credential.cert_path:
        raise ConfigurationError(f"{service}: x509 login is configured without a certificate file.")
    paths = [("certificate", credential.cert_path)]
    if credential.key_path:
        paths.append(("private key", credential.key_path))
    for what, path in paths:
        if not os.path.isfile(path) or not os.access(path, os.R_OK):
            raise ConfigurationError(f"{service}: the x509 {what} file {path} does not exist or cannot be read "
                                     "by poms_dd; fix the path in the experiment settings.")
    key = credential.key_path or credential.cert_path
    mode = os.stat(key).st_mode & 0o777
    if private_key_mode and mode not in (0o400, 0o600):
        raise ConfigurationError(f"{service}: the x509 private key {key} has mode {mode:o}; Rucio requires 400 "
                                 f"or 600 (run: chmod 600 {key}).")


class TokenLibrary:
    """The token library file of one service of one experiment."""

    def __init__(self, directory: Path, fingerprint: str):
        self.directory = private_dir(directory)
        self.path = directory / "token_library"
        self.lock_path = directory / "token_library.lock"
        self.identity_path = directory / "identity"
        self.fingerprint = fingerprint
        self.prepare()

    def prepare(self) -> None:
        """Create the library 0600; drop its tokens if they belong to a different credential."""
        with self.locked():
            stale = not self.identity_path.exists() or self.identity_path.read_text() != self.fingerprint
            flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if stale else 0)
            os.close(os.open(self.path, flags, 0o600))
            os.chmod(self.path, 0o600)
            if stale:
                fd = os.open(self.identity_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w") as f:
                    f.write(self.fingerprint)

    def locked(self) -> contextlib.AbstractContextManager[None]:
        return file_lock(self.lock_path)

    def stored(self, server_url: str) -> SignedToken | None:
        """The unexpired token saved for ``server_url`` (by any process), or None."""
        return TokenLib(str(self.path), create=False).get(server_url)


class TokenLogin:
    """Keeps one MetaCat/DD client logged in as the experiment's service account.

    ``client`` is a real ``MetaCatClient``/``DataDispatcherClient`` built with ``token_library=library.path``.
    """

    def __init__(self, service: str, client: Any, library: TokenLibrary, credential: Credential,
                 timeout: float, secrets: Secrets | None = None, token_root: Path | None = None):
        self.service = service
        self.client = client
        self.library = library
        self.credential = credential
        self.timeout = timeout
        self.secrets = secrets if secrets is not None else Secrets([credential.secret])
        self.token_root = token_root
        self._lock = threading.Lock()

    @property
    def server_url(self) -> str:
        return self.client.ServerURL

    def identity(self) -> Identity | None:
        token = self.client.Token
        if token is None:
            return None
        expires = dt.datetime.fromtimestamp(token.expiration, tz=dt.timezone.utc) if token.expiration else None
        return Identity(username=token.subject or "", expires=expires)

    def _fresh(self, token: SignedToken | None) -> bool:
        return token is not None and (not token.expiration or token.expiration - time.time() > REFRESH_MARGIN)

    def ensure(self) -> None:
        """Log in unless the client holds a token valid for more than REFRESH_MARGIN seconds."""
        if not self._fresh(self.client.Token):
            self.login()

    def login(self, rejected: SignedToken | None = None, force: bool = False) -> Identity:
        """Log in (or adopt a fresh token another thread/process just saved).  ``rejected`` is a token the
        server refused, never adopted again; ``force`` always talks to the auth server (used by "Test
        connection" to prove the credential).

        Raises metacat's AuthenticationError, TokenRejected, ConfigurationError or requests errors.
        """
        rejected_text = rejected.encode() if rejected is not None else None
        with self._lock, self.library.locked():
            stored = None if force else self.library.stored(self.server_url)
            if self._fresh(stored) and stored.encode() != rejected_text:
                self.client.Token = stored
            else:
                self._login_now()
            if self.client.Token is not None:
                self.secrets.add(self.client.Token.encode())       # the service token we hold
        return self.identity()

    def _login_now(self) -> None:
        cred = self.credential
        if cred.method not in METHODS:
            raise TokenRejected(f"unknown authentication method {cred.method!r} (use one of {', '.join(METHODS)})")
        if cred.method == "password":
            call = lambda: self.client.login_password(cred.username, cred.secret or "")  # noqa: E731
        elif cred.method == "token_file":
            token = read_bearer_token(cred, self.token_root, self.secrets)
            call = lambda: self.client.login_token(cred.username, token)  # noqa: E731
        else:
            check_x509_files(self.service, cred)
            call = lambda: self.client.login_x509(cred.username, cred.cert_path, cred.key_path)  # noqa: E731
        call()
        os.chmod(self.library.path, 0o600)

    def run(self, operation: str, fn: Callable[[], T], *, idempotent: bool, ensure: bool = True) -> T:
        """Call ``fn`` (one client call) logged in: log in first if needed; on HTTP 401 log in again and call
        ``fn`` once more; retry transient failures only when ``idempotent``.

        Raises ExternalServiceError naming the service, ``operation`` and what to do.
        """
        def once() -> T:
            if ensure:
                self.ensure()
            token = self.client.Token
            try:
                return fn()
            except Exception as exc:
                if not is_auth_failure(exc):
                    raise
            self.login(rejected=token)
            return fn()

        try:
            return call_read(once) if idempotent else once()
        except Exception as exc:
            raise_translated(self.service, operation, self.server_url, exc, timeout=self.timeout,
                             identity=self.credential.username, secrets=self.secrets)
