"""The launch and tracking API (SPEC §8.1; route names are a contract).

``POST .../stages/<sid>/launches`` queues a launch (202); the same ``Idempotency-Key`` again answers with the
same submission.  Submissions are read from the database; ``POST .../refresh`` asks Data Dispatcher now.
"""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request, url_for

from ....errors import InvalidInput
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
