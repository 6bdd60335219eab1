"""The launch and tracking API (SPEC §8.1; route names are a contract).

``POST .../stages/<sid>/launches`` queues a launch (202); the same ``Idempotency-Key`` again answers with the
same submission.  Submissions are read from the database; ``POST .../refresh`` asks Data Dispatcher now.
``GET .../stages/<sid>/preview`` is the split's dry run, ``POST .../split/reset`` starts the split over and
``PUT .../split/cursor`` sets its cursor (``services/launch/split_control.py``); ``GET split-types[/validate]``
describe the split types and check a typed one (the stage form's live check).
"""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request, url_for

from ....errors import InvalidInput
from ....services.campaigns.snapshots import stage_document
from ....services.launch.split_values import flag, split_type_document
from ....services.launch.submissions import submission_document
from ...auth import login_required
from ...request import services

bp = Blueprint("api_launches", __name__, url_prefix="/api/experiments/<experiment>")


def _int_arg(name: str, default: int | None = None) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or len(raw) > 12:
        raise InvalidInput(f"{name} must be a positive whole number, got {raw!r}.",
                           field_errors={name: ["a positive whole number"]})
    return int(raw)


def _url(experiment: str, submission_id: int) -> str:
    return url_for("api_launches.get_submission", experiment=experiment, submission_id=submission_id)


@bp.post("/campaigns/<int:campaign_id>/stages/<int:stage_id>/launches")
@login_required
def launch(experiment: str, campaign_id: int, stage_id: int):
    body = request.get_json(silent=True)
    if body is None and request.get_data():
        raise InvalidInput('Send a JSON object like {"kind": "standard"} (or no body).')
    body = body if isinstance(body, dict) else {}
    kind = body.get("kind", "standard")
    if not isinstance(kind, str):
        raise InvalidInput("kind must be the text standard or test.", field_errors={"kind": ["standard or test"]})
    sub, _ = services().launches.request(experiment, campaign_id, stage_id, kind,
                                         request.headers.get("Idempotency-Key"))
    return jsonify({"submission_id": sub.id, "status": sub.status, "url": _url(experiment, sub.id)}), 202


@bp.get("/submissions")
@login_required
def list_submissions(experiment: str):
    page = services().submissions.page(experiment, stage_id=_int_arg("stage_id"),
                                       status=request.args.get("status") or None, page=_int_arg("page", 1),
                                       per_page=_int_arg("per_page", 50))
    return jsonify({**page, "items": [submission_document(s, _url(experiment, s.id)) for s in page["items"]]})


@bp.get("/submissions/<int:submission_id>")
@login_required
def get_submission(experiment: str, submission_id: int):
    return jsonify(submission_document(services().submissions.get(experiment, submission_id)))


@bp.get("/submissions/<int:submission_id>/log")
@login_required
def submission_log(experiment: str, submission_id: int):
    sub = services().submissions.get(experiment, submission_id)
    return Response(sub.launch_log or "", mimetype="text/plain")


@bp.post("/submissions/<int:submission_id>/refresh")
@login_required
def refresh_submission(experiment: str, submission_id: int):
    return jsonify(submission_document(services().submissions.refresh(experiment, submission_id)))


# --- splits: preview, reset, cursor, split types ------------------------------------------------------------

STAGE = "/campaigns/<int:campaign_id>/stages/<int:stage_id>"


def _split_body() -> dict:
    """The optional JSON object of a split request (``{"kind": "test"}``); ``?kind=`` works too."""
    body = request.get_json(silent=True)
    if body is None and request.get_data():
        raise InvalidInput('Send a JSON object like {"kind": "test"} (or no body).')
    if body is not None and not isinstance(body, dict):
        raise InvalidInput('Send a JSON object like {"kind": "test"}.')
    body = dict(body or {})
    body.setdefault("kind", request.args.get("kind") or "standard")
    return body


def _stage_answer(stage) -> dict:
    return {**stage_document(stage), "schedule_disabled_reason": stage.schedule_disabled_reason}


@bp.get(STAGE + "/preview")
@login_required
def preview_split(experiment: str, campaign_id: int, stage_id: int):
    args = request.args
    result = services().split_control.preview(experiment, campaign_id, stage_id, slices=args.get("slices"),
                                              kind=args.get("kind") or "standard",
                                              replicas=flag(args.get("replicas"), "replicas"))
    return jsonify(result.to_json())


@bp.post(STAGE + "/split/reset")
@login_required
def reset_split(experiment: str, campaign_id: int, stage_id: int):
    body = _split_body()
    return jsonify(_stage_answer(services().split_control.reset(experiment, campaign_id, stage_id, body["kind"])))


@bp.put(STAGE + "/split/cursor")
@login_required
def edit_split_cursor(experiment: str, campaign_id: int, stage_id: int):
    body = _split_body()
    if "cursor" not in body:
        raise InvalidInput('Send {"cursor": {...}} with the new cursor (and "kind": "test" for the test cursor).',
                           field_errors={"cursor": ["missing"]})
    stage = services().split_control.edit_cursor(experiment, campaign_id, stage_id, body["cursor"], body["kind"])
    return jsonify(_stage_answer(stage))


@bp.get("/split-types")
@login_required
def split_types(experiment: str):
    return jsonify({"split_types": [split_type_document(t) for t in services().split_control.split_types(experiment)]})


@bp.get("/split-types/validate")
@login_required
def validate_split_type(experiment: str):
    return jsonify(services().split_control.check_split_text(experiment, request.args.get("text"),
                                                             _int_arg("campaign_id")))
