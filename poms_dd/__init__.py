"""poms_dd: the Data Dispatcher extension of a POMS-style campaign manager.

``create_app(config=None)`` builds the Flask app (``poms_dd.web.app``); ``config`` may be a ``Settings``
object, a mapping of ``POMS_DD_*`` variables, or None (read the process environment).  Importing ``poms_dd``
loads no web stack: the services, models and adapters run without Flask (the worker and the CLI use them).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .version import __version__  # noqa: F401  (re-exported)

if TYPE_CHECKING:
    from flask import Flask


def create_app(config: Any = None, *, db: Any = None) -> "Flask":
    """Build the web application (see :func:`poms_dd.web.app.create_app`)."""
    from .web.app import create_app as build
    return build(config, db=db)
