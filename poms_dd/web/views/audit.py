"""The audit trail of an experiment: who changed what, with before/after (HTML and JSON), page by page."""
from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, jsonify, render_template, request

from ..auth import login_required
from ..request import services

bp = Blueprint("audit", __name__)
MAX_DIGITS = 18         # longer page numbers are simply "the last page"
PAGE_LINKS = 2          # page links on each side of the current page (plus the first and the last)


def _page():
    """The requested page: not a whole number means the first; one beyond the last (however long) the last."""
    number = request.args.get("page", "1")
    if number.isascii() and number.isdigit():
        page = int(number) if len(number) <= MAX_DIGITS else 10 ** MAX_DIGITS
    else:
        page = 1
    return services().audit.page(request.view_args["experiment"], page, request.args.get("object_type") or None)


def as_json(value: Any) -> str:
    """A recorded value as JSON text (null, false, "quoted strings"), as the API shows it."""
    return json.dumps(value, ensure_ascii=False, default=str)


def page_numbers(page: int, pages: int) -> list[int | None]:
    """The page links to show: 1, a window around ``page``, the last; None marks a gap."""
    wanted = sorted({1, pages, *range(max(1, page - PAGE_LINKS), min(pages, page + PAGE_LINKS) + 1)})
    out: list[int | None] = []
    for n in wanted:
        if out and n - (out[-1] or 0) > 1:
            out.append(None)
        out.append(n)
    return out


@bp.route("/experiments/<experiment>/audit")
@login_required
def audit_page(experiment: str):
    result = _page()
    return render_template("poms_dd/audit.html", experiment=result.experiment, events=result.events,
                           result=result, page_numbers=page_numbers(result.page, result.pages),
                           object_type=request.args.get("object_type"), as_json=as_json)


@bp.route("/api/experiments/<experiment>/audit")
@login_required
def audit_api(experiment: str):
    result = _page()
    return jsonify({"experiment": result.experiment.name, "has_more": result.has_more, "events": [
        {"id": e.id, "at": e.at.isoformat(), "actor": e.actor, "action": e.action, "object_type": e.object_type,
         "object_id": e.object_id, "summary": e.summary, "before": e.before, "after": e.after}
        for e in result.events]})
