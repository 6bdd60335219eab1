"""The Data Dispatcher 2.0.3 data server as its client sees it (PROTOCOLS §1.2–§1.5, §6, §7).

``bp`` (mounted at ``/dd``) serves ``version`` and nests the endpoint groups: projects (``dd_projects``), the
worker calls ``next_file`` / ``release`` (``dd_workers``) and the RSEs (``dd_rses``).  Every JSON answer is
``Content-Type: text/json`` (anything else reaches the DD client as a raw string); expected errors are short
plain-text bodies (``DDError``).  Quirk decisions are listed in ``poms_dd/testbed/README.md``.
"""
from __future__ import annotations

from flask import Blueprint, Response

from . import dd_projects, dd_rses, dd_workers
from .dd_common import DDError
from .errors import text_error

bp = Blueprint("testbed_dd", __name__)
bp.register_error_handler(DDError, text_error)
for _group in (dd_projects.bp, dd_rses.bp, dd_workers.bp):
    bp.register_blueprint(_group)
VERSION = "2.0.3"


@bp.route("/version")
def version() -> Response:
    return Response(VERSION, content_type="text/plain")
