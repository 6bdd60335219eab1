"""Error answers the testbed's faces share.

* ``TextError`` — an expected error: a status with a short plain-text body (what MetaCat and DD handlers return).
* ``application_error`` — an *unexpected* server error on MetaCat or DD, in the shape of the ``webpie``
  framework both run on: HTTP 500, ``Content-Type: text/html``, an "Application error" page with
  ``<h2>Application error</h2>``, the exception text in ``<h3>`` and the Python traceback in ``<pre>``, whose
  first frames are the upstream server's (``/usr/lib/python3/site-packages/webpie/...`` and the service's handler
  module), followed by the testbed's own frames when there is a real exception.
"""
from __future__ import annotations

import html
import traceback
from types import TracebackType

from flask import Response

SITE = "/usr/lib/python3/site-packages"
# the upstream module that handles a request, per service (``webserver/data_handler.py``, ``web_server/data_server.py``)
HANDLER_FILES = {"mc": f"{SITE}/metacat/webserver/data_handler.py",
                 "dd": f"{SITE}/data_dispatcher/web_server/data_server.py"}


class TextError(Exception):
    """An expected error answer: ``status`` with a plain-text ``message``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ServerError(Exception):
    """An error the upstream server does not catch (MetaCat's PostgreSQL errors, DD's crashes): answered with
    ``application_error``; ``str(err)`` is the text its traceback ends with (``"Type: message"``)."""


def text_error(err: TextError) -> Response:
    return Response(err.message, status=err.status, content_type="text/plain")


def _upstream_frames(service: str, endpoint: str) -> list[str]:
    handler = endpoint.rsplit(".", 1)[-1] or "handler"
    return [f'  File "{SITE}/webpie/WPApp.py", line 1006, in __call__\n    response = self.process_request(request)\n',
            f'  File "{SITE}/webpie/WPApp.py", line 931, in process_request\n'
            f'    response = handler._handle_request(request, path, path_down, args)\n',
            f'  File "{SITE}/webpie/WPApp.py", line 368, in _handle_request\n'
            f'    return method(request, relpath, **args)\n',
            f'  File "{HANDLER_FILES[service]}", line 212, in {handler}\n'
            f'    return self.{handler}_impl(request, relpath, **args)\n']


def application_error(service: str, endpoint: str, exception_text: str,
                      tb: TracebackType | None = None) -> Response:
    """webpie's 500 page for an uncaught exception in the ``service`` ("mc" or "dd") handler ``endpoint``.

    ``exception_text`` is ``"Type: message"`` (the last traceback line, also shown in ``<h3>``); ``tb``, when
    given, adds the testbed's own frames after the upstream ones.
    """
    frames = _upstream_frames(service, endpoint)
    if tb is not None:                  # the testbed's own frames (not Flask's) where the error was raised
        own = [f for f in traceback.extract_tb(tb) if "/poms_dd/testbed/" in f.filename.replace("\\", "/")]
        frames += traceback.StackSummary.from_list(own).format()
    trace = "Traceback (most recent call last):\n" + "".join(frames) + exception_text + "\n"
    page = ("<html><body><h2>Application error</h2>\n"
            f"<h3>{html.escape(exception_text)}</h3>\n"
            f"<pre>{html.escape(trace)}</pre>\n"
            "</body>\n</html>\n")
    return Response(page, status=500, content_type="text/html")


def exception_text(err: BaseException) -> str:
    """``Type: message`` as the last line of a Python traceback shows it (a ``ServerError`` carries its own)."""
    if isinstance(err, ServerError):
        return str(err)
    return f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
