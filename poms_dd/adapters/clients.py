"""The real MetaCat and Data Dispatcher clients, with two things changed for production servers.

1. **Every request is sent once, with our timeout and TLS policy** (``retry_request``).  The clients' own loops
   retry 502–524 for up to 30 minutes (MetaCat) or 503 for 5 minutes (DD), a create included; the adapters'
   retry policy (``retry.py``) decides instead.
2. **Logins verify the auth server's certificate and time out.**  ``metacat.common.auth_client`` sends the
   password, bearer token or client certificate with ``verify=False`` and no timeout, so on https anyone in
   the middle could collect the service account's password.  The four login calls below speak the same
   protocol (PROTOCOLS §2: ``AUTH/auth?method=ldap|digest|token|x509``, token in the
   ``X-Authentication-Token`` reply header, saved in the client's ``TokenLib`` under ``ServerURL``) with
   ``verify=<TLSPolicy>`` and ``timeout=<service timeout>``.

Both clients build every URL from the ``server_url``/``auth_server_url`` they are given, so https servers with a
separate auth server (``https://metacat.fnal.gov:8143/auth/<instance>``) work unchanged.
"""
from __future__ import annotations

from typing import Any

import requests
from data_dispatcher.api import DataDispatcherClient
from metacat.common import SignedToken
from metacat.common.auth_client import AuthenticationError
from metacat.webapi import MetaCatClient

from .errors import AuthURLNotFound


class _VerifiedHTTP:
    """Mixin placed before the client class; ``configure`` must be called right after construction."""

    _poms_verify: bool | str = True
    _poms_timeout: float = 60.0

    def configure(self, verify: bool | str, timeout: float) -> None:
        self._poms_verify = verify
        self._poms_timeout = timeout

    def retry_request(self, method: str, url: str, timeout: Any = None, **args: Any) -> requests.Response:
        return requests.request(method.upper(), url, timeout=self._poms_timeout, verify=self._poms_verify, **args)

    # -- logins (same wire protocol as metacat.common.auth_client.TokenAuthClientMixin) ----------------------
    def _auth(self, http: str, method: str, username: str | None = None, **kwargs: Any) -> tuple[str, float]:
        params = {"method": method}
        if username is not None:
            params["username"] = username
        response = requests.request(http, f"{self.AuthURL}/auth", params=params, verify=self._poms_verify,
                                    timeout=self._poms_timeout, **kwargs)
        if response.status_code == 404:
            raise AuthURLNotFound(f"{self.AuthURL}/auth")
        if response.status_code != 200:
            raise AuthenticationError(response.text)
        encoded = response.headers.get("X-Authentication-Token")
        if not encoded:
            raise AuthenticationError("the auth server answered 200 without an X-Authentication-Token header")
        self.Token = token = SignedToken.decode(encoded)
        if self.TokenLib is not None:
            self.TokenLib[self.ServerURL] = token
        return token.subject, token.expiration

    def login_ldap(self, username: str, password: str) -> tuple[str, float]:
        return self._auth("POST", "ldap", data=f"{username}:{password}".encode())

    def login_digest(self, username: str, password: str, save_token: bool = False) -> tuple[str, float]:
        return self._auth("GET", "digest", auth=requests.auth.HTTPDigestAuth(username, password))

    def login_token(self, username: str, encoded_token: str | bytes) -> tuple[str, float]:
        text = encoded_token.decode() if isinstance(encoded_token, bytes) else encoded_token
        return self._auth("POST", "token", username, headers={"Authorization": "bearer " + text.strip()})

    def login_x509(self, username: str, cert: str, key: str | None = None) -> tuple[str, float]:
        return self._auth("GET", "x509", username, cert=(cert, key or cert))


class PomsMetaCatClient(_VerifiedHTTP, MetaCatClient):
    """``metacat.webapi.MetaCatClient`` with the changes above."""


class PomsDDClient(_VerifiedHTTP, DataDispatcherClient):
    """``data_dispatcher.api.DataDispatcherClient`` with the changes above."""
