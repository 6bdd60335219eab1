"""The one place where client-library exceptions become ``ExternalServiceError`` with a message a person can act
on, plus the two classifications the adapters need: "the token was refused" (log in again once) and "this
may work if tried again" (the shared retry policy, ``retry.py``).

Every message made here has the experiment's secrets removed (``redaction.py``), and a server's HTML error
page is reduced to its exception line (``html_error_text``): never its traceback or server paths.  Replies
of the wrong shape (``None`` for a missing object, a string where JSON was expected) are caught by
``check_reply``, called by the adapters on every client result.
"""
from __future__ import annotations

import html
import re
from typing import Any, Callable, NoReturn

import requests
from metacat.common.auth_client import AuthenticationError
from metacat.common.exceptions import WebAPIError as CommonWebAPIError
from metacat.webapi.webapi import WebAPIError as MetaCatWebAPIError
from rucio.common import exception as rucio_exc

from ..errors import ExternalServiceError, NotFound, PomsDDError
from .redaction import Secrets


class AuthURLNotFound(AuthenticationError):
    """The auth server answered 404: the auth URL is wrong (not the credentials)."""

    def __init__(self, url: str):
        super().__init__(f"HTTP 404 from {url}")
        self.url = url

METACAT = "MetaCat"
DATA_DISPATCHER = "Data Dispatcher"
RUCIO = "Rucio"

TRANSIENT_STATUS = (502, 503, 504)
_MAX_BODY = 400
MAX_SERVER_EXCEPTION = 300
_NO_SECRETS = Secrets()


class MalformedReply(Exception):
    """A client choked on a reply it could not parse (missing headers, broken JSON), or returned something of
    the wrong shape: the service's or the network's fault, raised by the adapter around the client call."""


class TokenRejected(Exception):
    """A bearer token file/secret could not be used (missing, empty, or refused)."""


class RedactedError(Exception):
    """Stands in for an exception whose text contained a secret: same traceback, text redacted."""


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


# -- reply shapes ---------------------------------------------------------------------------------------------
def check_reply(value: Any, expected: type | tuple[type, ...], *, missing: str | None = None,
                optional: bool = False, items: type | tuple[type, ...] | None = None,
                none: str = "the client returned no data (None)") -> Any:
    """``value`` if a client returned the shape the adapter expects, else raise.

    ``None`` (the DD client's ``post()`` turns an HTTP 404 into None; MetaCat parses a ``null`` body) becomes
    ``NotFound(missing)`` when ``missing`` is given, is returned when ``optional``, else MalformedReply(``none``).
    A value of another type (e.g. the raw text the clients return for an unexpected content type) is
    MalformedReply (translated to "sent an answer that cannot be read").  With ``items``, ``value`` (a list or
    a client's generator) is read into a list whose every element must be of type ``items``; a client
    failing while it parses the stream is MalformedReply too.  The reply itself is never put in a message.
    """
    if value is None:
        if optional:
            return None
        if missing:
            raise NotFound(missing)
        raise MalformedReply(none)
    if not isinstance(value, expected):
        raise MalformedReply(f"expected {_names(expected)}, got {type(value).__name__}")
    if items is None:
        return value
    try:
        value = list(value)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:    # raised inside the client's parser
        raise MalformedReply(f"{exc.__class__.__name__} while reading the answer") from exc
    for item in value:
        if not isinstance(item, items):
            raise MalformedReply(f"expected a list of {_names(items)}, got an element of type {type(item).__name__}")
    return value


def _names(types: type | tuple[type, ...]) -> str:
    return " or ".join(t.__name__ for t in (types if isinstance(types, tuple) else (types,)))


# -- HTML error pages -----------------------------------------------------------------------------------------
_HTML_START = re.compile(r"^\s*(?:<\?xml[^>]*>\s*)?<(?:!doctype|html|head|body|title|h[1-6]|p|pre|div)\b", re.I)
_H3 = re.compile(r"<h3[^>]*>(.*?)</h3\s*>", re.I | re.S)
_TAG = re.compile(r"</?[A-Za-z][^<>]{0,200}>")
_SERVER_PATH = re.compile(r"(?<![\w:/.~-])/(?:[\w.~+-]+/)+[\w.~+-]*")


def html_error_text(body: object, status: int | None = None) -> str | None:
    """What a person may see of an HTML error page, or None if ``body`` is not HTML.

    MetaCat and DD (webpie) answer an unhandled exception with HTTP 500 text/html
    ``<h2>Application error</h2><h3>{exception}</h3><pre>{traceback}</pre>``: only the exception line is kept
    (HTML-unescaped, server file paths removed, at most MAX_SERVER_EXCEPTION characters).  Any other HTML page
    (a proxy's 502, an Apache error) becomes "the server answered an HTML error page (HTTP N)".
    """
    text = "" if body is None else str(body)
    if not _HTML_START.match(text):
        return None
    match = _H3.search(text) if re.search(r"<h2[^>]*>\s*Application error\s*</h2>", text, re.I) else None
    if match:
        line = " ".join(html.unescape(_TAG.sub(" ", match.group(1))).split())
        line = _SERVER_PATH.sub("<server path>", line)
        if line:
            return line if len(line) <= MAX_SERVER_EXCEPTION else line[:MAX_SERVER_EXCEPTION] + " …"
    http = f" (HTTP {status})" if status else ""
    return f"the server answered an HTML error page{http}"


# -- messages -------------------------------------------------------------------------------------------------
def _one_line(text: object, limit: int = _MAX_BODY) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= limit else text[:limit] + " …"


def _connection_reason(exc: BaseException, clean: Callable[..., str]) -> str:
    text = str(exc)
    if isinstance(exc, requests.exceptions.SSLError) or "CERTIFICATE_VERIFY_FAILED" in text:
        return ("TLS certificate problem: " + clean(text, 200) + "; check the CA path the experiment uses "
                "(ca_path, else $X509_CERT_DIR) and the client certificate")
    if "Connection refused" in text or "ConnectionRefused" in text:
        return "connection refused"
    if "Name or service not known" in text or "Failed to resolve" in text or "nodename nor servname" in text:
        return "host name not found"
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "connection timed out"
    if "Connection reset" in text or "RemoteDisconnected" in text or "aborted" in text:
        return "the connection was dropped"
    return clean(text, 200) or exc.__class__.__name__


def _client_message(exc: BaseException, clean: Callable[..., str]) -> str:
    message = getattr(exc, "Message", None) or getattr(exc, "Body", None)
    if isinstance(exc, rucio_exc.RucioException):
        message = getattr(exc, "_message", None) or str(exc)
        args = [a for a in exc.args if a]
        if args:
            message = "; ".join(str(a) for a in args)
    message = message if message else str(exc)
    page = html_error_text(message, status_of(exc))
    return clean(page if page is not None else message)


def translate(service: str, operation: str, url: str | None, exc: BaseException, *, timeout: float | None = None,
              identity: str | None = None, who: str | None = None,
              secrets: Secrets | None = None) -> ExternalServiceError | None:
    """Return the ExternalServiceError describing ``exc``, or None if ``exc`` is not a client/transport error
    (programming errors are not disguised as service failures).  ``identity`` is the user name that logged in
    (``who`` replaces "user 'X'" by a fuller description); every form of every secret in ``secrets`` is
    removed from the message."""
    secrets = secrets or _NO_SECRETS

    def clean(text: object, limit: int = _MAX_BODY) -> str:
        return _one_line(secrets.redact(text), limit)

    request = getattr(exc, "request", None)
    if isinstance(exc, requests.exceptions.RequestException) and getattr(request, "url", None):
        url = request.url.split("?", 1)[0]        # the server actually contacted (maybe the auth server)
    # only the variable parts are redacted: our own wording ("poms_dd's login") stays readable
    where = f"{service} at {secrets.redact(url)}" if url else service
    who = secrets.redact(f" for {who}" if who else (f" for user {identity!r}" if identity else ""))
    if isinstance(exc, (MalformedReply, StopIteration)):
        reason = clean(exc, 200) if isinstance(exc, MalformedReply) else "the answer was empty"
        detail = (f"{where} sent an answer that cannot be read ({reason}); try again, and tell the "
                  "service operators if it persists")
    elif isinstance(exc, TokenRejected):
        detail = f"{service} bearer token problem{who}: {clean(exc)}"
    elif isinstance(exc, requests.exceptions.Timeout) and not isinstance(exc, requests.exceptions.ConnectTimeout):
        limit = f"within {timeout:g} s" if timeout else "in time"
        detail = f"{where} did not answer {limit}; the service may be overloaded, try again later"
    elif isinstance(exc, requests.exceptions.ConnectionError):
        detail = f"{where} is not reachable ({_connection_reason(exc, clean)}); check the URL and that the service is up"
    elif isinstance(exc, AuthURLNotFound):
        detail = (f"{service}'s auth server answered HTTP 404 at {secrets.redact(exc.url)}: the auth URL is wrong "
                  f"(it is not the password); correct the {service} auth URL in the experiment settings")
    elif isinstance(exc, AuthenticationError):
        page = html_error_text(str(exc))
        detail = (f"{service} refused the login{who}: {clean(page or exc) or 'no reason given'}; "
                  "check the service account and its password, token or certificate in the experiment settings")
    elif isinstance(exc, (CommonWebAPIError, MetaCatWebAPIError)):
        detail = _http_detail(service, where, operation, status_of(exc), _client_message(exc, clean), who)
    elif isinstance(exc, rucio_exc.RucioException):
        detail = _rucio_detail(where, exc, who, _client_message(exc, clean))
    elif isinstance(exc, requests.exceptions.RequestException):
        detail = f"{where}: {clean(exc)}"
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


def _rucio_detail(where: str, exc: BaseException, who: str, message: str) -> str:
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


# -- raising --------------------------------------------------------------------------------------------------
def scrubbed(exc: BaseException, secrets: Secrets | None) -> BaseException:
    """``exc`` itself, or, if its text or that of an exception it was raised from contains a secret, a
    RedactedError with the redacted text and ``exc``'s traceback (the chain is dropped)."""
    if not secrets:
        return exc
    chain, seen = [], set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        chain.append(link)
        link = link.__cause__ or link.__context__
    if not any(secrets.found_in(f"{e!s} {e!r}") for e in chain):
        return exc
    if isinstance(exc, PomsDDError) and not isinstance(exc, ExternalServiceError):
        try:        # our own error (ConfigurationError, NotFound, ...): the same class, its text redacted
            return exc.__class__(secrets.redact(exc.message),
                                 field_errors={k: [secrets.redact(m) for m in v] for k, v in exc.field_errors.items()})
        except TypeError:
            pass
    replacement = RedactedError(f"{exc.__class__.__module__}.{exc.__class__.__qualname__}: {secrets.redact(exc)}")
    replacement.__suppress_context__ = True
    return replacement.with_traceback(exc.__traceback__)


def raise_translated(service: str, operation: str, url: str | None, exc: BaseException, *,
                     timeout: float | None = None, identity: str | None = None, who: str | None = None,
                     secrets: Secrets | None = None) -> NoReturn:
    """Raise what callers see for ``exc`` (call inside ``except``): the ExternalServiceError of ``translate``,
    or ``exc`` itself when it is not a service failure (a bug of ours, or our own NotFound/ConfigurationError),
    either way without any secret, not even in the exception it is chained from."""
    error = translate(service, operation, url, exc, timeout=timeout, identity=identity, who=who, secrets=secrets)
    cause = scrubbed(exc, secrets)
    if error is None:
        if cause is exc:
            raise exc
        raise cause from None
    raise error from cause
