"""The audit trail of an experiment: who changed what, with before/after (HTML and JSON)."""
from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request

from ..auth import login_required
from ..request import services

bp = Blueprint("audit", __name__)


def _page():
    return services().audit.page(request.view_args["experiment"], request.args.get("page", 1, type=int),
                    request.args.get("object_type") or None)


@bp.route("/experiments/<experiment>/audit")
@login_required
def audit_page(experiment: str):
    exp, events, has_more = _page()
    return render_template("poms_dd/audit.html", experiment=exp, events=events, has_more=has_more,
                           page=request.args.get("page", 1, type=int), object_type=request.args.get("object_type"))


@bp.route("/api/experiments/<experiment>/audit")
@login_required
def audit_api(experiment: str):
    exp, events, has_more = _page()
    return jsonify({"experiment": exp.name, "has_more": has_more, "events": [
        {"id": e.id, "at": e.at.isoformat(), "actor": e.actor, "action": e.action, "object_type": e.object_type,
         "object_id": e.object_id, "summary": e.summary, "before": e.before, "after": e.after} for e in events]})
