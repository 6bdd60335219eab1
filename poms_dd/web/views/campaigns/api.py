"""JSON API for campaign configuration: /api/experiments/<experiment>/campaigns[...].

The same services as the pages.  Bodies are JSON objects of model field names (see
``services/campaigns/stage_rules.py``); errors come from the shared handler as JSON with ``field_errors``.
"""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from ....errors import InvalidInput
from ....services.campaigns.values import BIGINT_MAX, check_int, check_text, invalid_input
from ....services.campaigns.snapshots import campaign_document, campaign_snapshot, dependency_snapshot, stage_document
from ...auth import login_required
from ...request import services

bp = Blueprint("api_campaigns", __name__, url_prefix="/api/experiments/<experiment>/campaigns")


def _service():
    return services().campaigns


def _body(texts: tuple[str, ...] = (), ids: tuple[str, ...] = ()) -> dict:
    """The JSON object of the request.  ``texts`` must be strings (or null) and ``ids`` row ids (a whole number
    from 1 to 2**63-1, or its digits); the campaign and stage fields are checked by the services' rules."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise InvalidInput("Send a JSON object (Content-Type: application/json) with the fields to set.")
    errors: dict[str, list[str]] = {}
    for name in texts:
        check_text(errors, data, name, name, 500)
    for name in ids:
        if name in data:
            check_int(errors, data, name, 1, name, BIGINT_MAX)
    if errors:
        raise invalid_input(errors)
    return data


@bp.get("")
@login_required
def list_campaigns(experiment):
    return jsonify({"campaigns": [campaign_snapshot(c) for c in _service().list_campaigns(experiment)]})


@bp.post("")
@login_required
def create_campaign(experiment):
    return jsonify(campaign_document(_service().create_campaign(experiment, _body()))), 201


@bp.get("/<int:campaign_id>")
@login_required
def get_campaign(experiment, campaign_id):
    return jsonify(campaign_document(_service().get_campaign(experiment, campaign_id)))


@bp.route("/<int:campaign_id>", methods=["PATCH", "PUT"])
@login_required
def update_campaign(experiment, campaign_id):
    return jsonify(campaign_document(_service().update_campaign(experiment, campaign_id, _body())))


@bp.post("/<int:campaign_id>/clone")
@login_required
def clone_campaign(experiment, campaign_id):
    body = _body(texts=("name", "replace_from", "replace_to"))
    return jsonify(campaign_document(services().cloning.clone(experiment, campaign_id, body))), 201


def _saved(stage) -> dict:
    """The stage with what MetaCat/DD say of its data (``warnings``; ``data_checks`` with the notes too)."""
    doc = stage_document(stage)
    notes = _service().data_notes(stage)
    doc["warnings"] = [n.message for n in notes if n.level == "warning"]
    doc["data_checks"] = [n.to_json() for n in notes]
    return doc


@bp.post("/<int:campaign_id>/stages")
@login_required
def create_stage(experiment, campaign_id):
    return jsonify(_saved(_service().create_stage(experiment, campaign_id, _body()))), 201


@bp.get("/<int:campaign_id>/stages/<int:stage_id>")
@login_required
def get_stage(experiment, campaign_id, stage_id):
    svc = _service()
    stage = svc.get_stage(experiment, campaign_id, stage_id)
    doc = stage_document(stage)
    doc["preview"] = {p.field: {"text": p.text, "error": p.error} for p in svc.stage_preview(stage)}
    return jsonify(doc)


@bp.route("/<int:campaign_id>/stages/<int:stage_id>", methods=["PATCH", "PUT"])
@login_required
def update_stage(experiment, campaign_id, stage_id):
    return jsonify(_saved(_service().update_stage(experiment, campaign_id, stage_id, _body())))


@bp.delete("/<int:campaign_id>/stages/<int:stage_id>")
@login_required
def delete_stage(experiment, campaign_id, stage_id):
    _service().delete_stage(experiment, campaign_id, stage_id)
    return "", 204


@bp.post("/<int:campaign_id>/stages/<int:stage_id>/dependencies")
@login_required
def add_dependency(experiment, campaign_id, stage_id):
    body = _body(texts=("file_pattern",), ids=("provider_stage_id",))
    dep = services().dependencies.add(experiment, campaign_id, stage_id, body)
    return jsonify(dependency_snapshot(dep)), 201


@bp.delete("/<int:campaign_id>/stages/<int:stage_id>/dependencies/<int:dependency_id>")
@login_required
def remove_dependency(experiment, campaign_id, stage_id, dependency_id):
    services().dependencies.remove(experiment, campaign_id, stage_id, dependency_id)
    return "", 204
