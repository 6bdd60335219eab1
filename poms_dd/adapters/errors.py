"""The one place where client-library exceptions become ``ExternalServiceError`` with a message a person can act
on, plus the two classifications the adapters need: "the token was refused" (log in again once) and "this
may work if tried again" (the shared retry policy, ``retry.py``).
"""
from __future__ import annotations

import requests
from metacat.common.auth_client import AuthenticationError
from metacat.common.exceptions import WebAPIError as CommonWebAPIError
from metacat.webapi.webapi import WebAPIError as MetaCatWebAPIError
from rucio.common import exception as rucio_exc

from ..errors import ExternalServiceError

METACAT = "MetaCat"
DATA_DISPATCHER = "Data Dispatcher"
RUCIO = "Rucio"

TRANSIENT_STATUS = (502, 503, 504)
_MAX_BODY = 400


class MalformedReply(Exception):
    """A client choked on a reply it could not parse (missing headers, broken JSON): the service's or the
    network's fault, raised by the adapter around the client call that parsed it."""


class TokenRejected(Exception):
    """A bearer token file/secret could not be used (missing, empty, or refused)."""


def status_of(exc: BaseException) -> int | None:
    """The HTTP status carried by a MetaCat/DD client exception, if any."""
    if isinstance(exc, (CommonWebAPIError, MetaCatWebAPIError)):
        return getattr(exc, "StatusCode", None)
    return None


def is_auth_failure(exc: BaseException) -> bool:
    """True when a data call was refused because of the token (HTTP 401): log in again and retry once."""
    return status_of(exc) == 401


def is_transient(exc: BaseException) -> bool:
    """True for failures that a later identical read may not hit: refused/reset connections, 502/503/504.

    Read timeouts are not retried (they would multiply the wait), nor are 4xx/500 answers.
    """
    if isinstance(exc, requests.exceptions.ConnectionError) and not isinstance(exc, requests.exceptions.SSLError):
        return True
    if isinstance(exc, rucio_exc.ServerConnectionException):
        return True
    return status_of(exc) in TRANSIENT_STATUS


def _one_line(text: object) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= _MAX_BODY else text[:_MAX_BODY] + " …"


def _connection_reason(exc: BaseException) -> str:
    text = str(exc)
    if isinstance(exc, requests.exceptions.SSLError) or "CERTIFICATE_VERIFY_FAILED" in text:
        return ("TLS certificate problem: " + _one_line(text)[:200] + "; check the CA path the experiment uses "
                "(ca_path, else $X509_CERT_DIR) and the client certificate")
    if "Connection refused" in text or "ConnectionRefused" in text:
        return "connection refused"
    if "Name or service not known" in text or "Failed to resolve" in text or "nodename nor servname" in text:
        return "host name not found"
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "connection timed out"
    if "Connection reset" in text or "RemoteDisconnected" in text or "aborted" in text:
        return "the connection was dropped"
    return _one_line(text)[:200] or exc.__class__.__name__


def _client_message(exc: BaseException) -> str:
    message = getattr(exc, "Message", None) or getattr(exc, "Body", None)
    if isinstance(exc, rucio_exc.RucioException):
        message = getattr(exc, "_message", None) or str(exc)
        args = [a for a in exc.args if a]
        if args:
            message = "; ".join(str(a) for a in args)
    return _one_line(message if message else str(exc))


def translate(service: str, operation: str, url: str | None, exc: BaseException, *, timeout: float | None = None,
              identity: str | None = None) -> ExternalServiceError | None:
    """Return the ExternalServiceError describing ``exc``, or None if ``exc`` is not a client/transport error
    (programming errors are not disguised as service failures)."""
    request = getattr(exc, "request", None)
    if isinstance(exc, requests.exceptions.RequestException) and getattr(request, "url", None):
        url = request.url.split("?", 1)[0]        # the server actually contacted (maybe the auth server)
    where = f"{service} at {url}" if url else service
    who = f" for user {identity!r}" if identity else ""
    if isinstance(exc, MalformedReply):
        detail = (f"{where} sent an answer that cannot be read ({_one_line(exc)[:200]}); try again, and tell the "
                  "service operators if it persists")
    elif isinstance(exc, TokenRejected):
        detail = f"{service} bearer token problem{who}: {exc}"
    elif isinstance(exc, requests.exceptions.Timeout) and not isinstance(exc, requests.exceptions.ConnectTimeout):
        limit = f"within {timeout:g} s" if timeout else "in time"
        detail = f"{where} did not answer {limit}; the service may be overloaded, try again later"
    elif isinstance(exc, requests.exceptions.ConnectionError):
        detail = f"{where} is not reachable ({_connection_reason(exc)}); check the URL and that the service is up"
    elif isinstance(exc, AuthenticationError):
        detail = (f"{service} refused the login{who}: {_one_line(exc) or 'no reason given'}; "
                  "check the service account and its password, token or certificate in the experiment settings")
    elif isinstance(exc, (CommonWebAPIError, MetaCatWebAPIError)):
        detail = _http_detail(service, where, operation, status_of(exc), _client_message(exc), who)
    elif isinstance(exc, rucio_exc.RucioException):
        detail = _rucio_detail(where, exc, who)
    elif isinstance(exc, requests.exceptions.RequestException):
        detail = f"{where}: {_one_line(exc)}"
    else:
        return None
    return ExternalServiceError(service, operation, detail)


def _http_detail(service: str, where: str, operation: str, status: int | None, message: str, who: str) -> str:
    if status == 400 and service == METACAT and "query" in operation:
        return f"MetaCat rejected the query: {message}"
    if status == 400:
        return f"{service} rejected the request: {message}"
    if status == 401:
        return (f"{service} does not accept poms_dd's login{who} (HTTP 401: {message}); "
                "check the service account in the experiment settings")
    if status == 403:
        return f"{service} refused permission{who}: {message}"
    if status == 404:
        return f"{service} has no such object: {message}"
    if status == 409:
        return f"{service} says it already exists: {message}"
    if status is not None and status >= 500:
        return (f"{where} answered HTTP {status} (server error): {message or 'no message'}; "
                "try again later, and tell the service operators if it persists")
    return f"{where} answered HTTP {status}: {message}"


def _rucio_detail(where: str, exc: BaseException, who: str) -> str:
    message = _client_message(exc)
    if isinstance(exc, (rucio_exc.CannotAuthenticate, rucio_exc.NoAuthInformation)):
        return (f"Rucio refused the login{who}: {message}; check the Rucio account and its credentials "
                "in the experiment settings")
    if isinstance(exc, rucio_exc.ServerConnectionException):
        return f"{where} is not reachable; check the URL and that the service is up"
    if isinstance(exc, (rucio_exc.MissingClientParameter, rucio_exc.ClientProtocolNotSupported,
                        rucio_exc.ClientProtocolNotFound)):
        return f"Rucio is not configured correctly: {message}"
    if isinstance(exc, rucio_exc.AccessDenied):
        return f"Rucio refused permission{who}: {message}"
    return f"{where} reported {exc.__class__.__name__}: {message}"
