"""What the MetaCat and Data Dispatcher adapters share: endpoints, timeout, TLS policy, the experiment's
secrets, the token library and the logged-in session, and running one client call with its reply checked."""
from __future__ import annotations

from typing import Any, Callable, TypeVar

from . import tls
from .config import ExperimentConnection
from .errors import check_reply
from .token_files import secrets_of
from .tokens import TokenLibrary, TokenLogin, credential_fingerprint
from .types import Identity

T = TypeVar("T")


class TokenServiceAdapter:
    """Base of MetaCatAdapter and DataDispatcherAdapter (``service``: the name in messages; ``key``: the
    connection's credential attribute, timeout key and state folder)."""

    service: str
    key: str

    def _connect(self, conn: ExperimentConnection, url: str, auth_url: str | None, client_class: type,
                 **client_args: Any) -> None:
        self.conn = conn
        self.url = url.rstrip("/")
        self.auth_url = (auth_url or self.url + "/auth").rstrip("/")
        self.timeout = conn.timeout_for(self.key)
        self.tls = tls.resolve(conn.ca_path, conn.verify_tls)
        self.secrets = secrets_of(conn)
        credential = getattr(conn, self.key)
        library = TokenLibrary(conn.state_dir / self.key, credential_fingerprint(credential, self.auth_url,
                                                                                   key=conn.identity_key))
        self.client = client_class(server_url=self.url, auth_server_url=self.auth_url,
                                   token_library=str(library.path), timeout=self.timeout, **client_args)
        self.client.configure(self.tls.verify, self.timeout)
        self.session = TokenLogin(self.service, self.client, library, credential, self.timeout,
                                  secrets=self.secrets, token_root=conn.token_root)

    # -- identity -------------------------------------------------------------------------------------------
    def login(self, force: bool = False) -> Identity:
        """Log in (``force``: even if a saved token is still fresh) and return who we are."""
        return self.session.run("log in", lambda: self.session.login(force=force), idempotent=True, ensure=False)

    def identity(self) -> Identity | None:
        return self.session.identity()

    # -- one client call ------------------------------------------------------------------------------------
    def _call(self, operation: str, fn: Callable[[], Any], idempotent: bool,
              expect: type | tuple[type, ...] | None, shape: dict[str, Any]) -> Any:
        if expect is None:
            return self.session.run(operation, fn, idempotent=idempotent)
        return self.session.run(operation, lambda: check_reply(fn(), expect, **shape), idempotent=idempotent)

    def _read(self, operation: str, fn: Callable[[], Any], expect: type | tuple[type, ...] | None = None,
              **shape: Any) -> Any:
        """``fn()`` (an idempotent read) logged in, retried by the read policy, its result checked by
        ``check_reply(result, expect, **shape)``."""
        return self._call(operation, fn, True, expect, shape)

    def _write(self, operation: str, fn: Callable[[], Any], expect: type | tuple[type, ...] | None = None,
               **shape: Any) -> Any:
        """Like ``_read`` but sent once (only a 401 leads to one new login and one more attempt)."""
        return self._call(operation, fn, False, expect, shape)
