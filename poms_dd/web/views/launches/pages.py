"""Launch confirmation and submission pages.

The Launch button leads to a confirm page that shows the exact MQL and file count of what would be launched
(warning above ~10,000 files); its form carries a one-time key, so a double click or a resubmitted form makes
one submission.  The submission page shows status, history, the environment, the launch log and the project's
handle counts; it updates itself while the launch is in progress (``static/submission.js`` polls the JSON API).

The split pages: the preview (the next slices, asked for deliberately: it reads MetaCat, DD and Rucio), the reset
(a confirmation that says what will be processed again), the cursor editor and the split types' help.
"""
from __future__ import annotations

import json
import secrets

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from ....errors import Conflict, ExternalServiceError, InvalidInput
from ....models import LaunchKind
from ....services.launch.resolve import STAGE_NOTES
from ....services.launch.split_values import MAX_SLICES, flag, is_test, slice_count, split_type_document
from ...auth import login_required
from ...request import services

bp = Blueprint("launches", __name__, url_prefix="/experiments/<experiment>")
KINDS = (LaunchKind.STANDARD, LaunchKind.TEST)


@bp.route("/campaigns/<int:campaign_id>/stages/<int:stage_id>/launch", methods=["GET", "POST"])
@login_required
def launch(experiment: str, campaign_id: int, stage_id: int):
    svc = services().launches
    if request.method == "POST":
        kind = request.form.get("kind", LaunchKind.STANDARD)
        try:
            sub, created = svc.request(experiment, campaign_id, stage_id, kind, request.form.get("launch_key"))
        except InvalidInput as err:
            flash(err.message, "error")
            return redirect(url_for(".launch", experiment=experiment, campaign_id=campaign_id, stage_id=stage_id,
                                    kind=kind))
        if created:
            flash(f"Launch queued as submission {sub.id}; a worker will pick it up.", "success")
        return redirect(url_for(".submission", experiment=experiment, submission_id=sub.id))
    kind = request.args.get("kind", LaunchKind.STANDARD)
    if kind not in KINDS:
        abort(404)
    preview = svc.preview(experiment, campaign_id, stage_id, kind)
    return render_template("launches/confirm.html", preview=preview, stage=preview.stage, kind=kind,
                           campaign=preview.stage.campaign, experiment=preview.stage.campaign.experiment,
                           launch_key=secrets.token_urlsafe(16))


@bp.route("/submissions")
@login_required
def submissions(experiment: str):
    stage_id = request.args.get("stage_id", type=int)
    page = services().submissions.page(experiment, stage_id=stage_id, page=max(1, min(request.args.get(
        "page", 1, type=int), 10**9)))
    return render_template("launches/submissions.html", page=page, experiment_name=experiment, stage_id=stage_id)


@bp.route("/submissions/<int:submission_id>")
@login_required
def submission(experiment: str, submission_id: int):
    sub = services().submissions.get(experiment, submission_id)
    return render_template("launches/submission.html", sub=sub, task=sub.dd_task, stage=sub.stage,
                           experiment=sub.stage.campaign.experiment)


@bp.route("/submissions/<int:submission_id>/refresh", methods=["POST"])
@login_required
def refresh(experiment: str, submission_id: int):
    services().submissions.refresh(experiment, submission_id)
    flash("Counts refreshed from Data Dispatcher.", "success")
    return redirect(url_for(".submission", experiment=experiment, submission_id=submission_id))


# --- splits ---------------------------------------------------------------------------------------------------

STAGE = "/campaigns/<int:campaign_id>/stages/<int:stage_id>"


def _campaign_page(experiment: str, campaign_id: int):
    return redirect(url_for("campaigns.campaign", experiment=experiment, campaign_id=campaign_id))


@bp.route(STAGE + "/preview")
@login_required
def preview(experiment: str, campaign_id: int, stage_id: int):
    args = request.args
    n, test, replicas = slice_count(args.get("slices")), is_test(args.get("kind")), flag(args.get("replicas"),
                                                                                       "replicas")
    svc = services().split_control
    stage = svc.launchable(experiment, campaign_id, stage_id)
    result, error, status = None, None, 200
    try:
        result = svc.preview(experiment, campaign_id, stage_id, n, "test" if test else "standard", replicas)
    except (ExternalServiceError, Conflict, InvalidInput) as err:
        error, status = err.message, err.status
    return render_template("launches/preview.html", stage=stage, campaign=stage.campaign,
                           experiment=stage.campaign.experiment, preview=result, error=error, slices=n, test=test,
                           replicas=replicas, max_slices=MAX_SLICES), status


@bp.route(STAGE + "/split/reset", methods=["GET", "POST"])
@login_required
def reset_split(experiment: str, campaign_id: int, stage_id: int):
    svc = services().split_control
    kind = "test" if is_test(request.values.get("kind")) else "standard"
    if request.method == "POST":
        try:
            stage = svc.reset(experiment, campaign_id, stage_id, kind)
        except Conflict as err:
            flash(err.message, "error")
            return redirect(url_for(".reset_split", experiment=experiment, campaign_id=campaign_id,
                                    stage_id=stage_id, kind=kind))
        flash(f"The {'test ' if kind == 'test' else ''}split of stage {stage.name} was reset: the next launch "
              "starts from the first slice.", "success")
        return _campaign_page(experiment, campaign_id)
    summary = svc.reset_summary(experiment, campaign_id, stage_id, kind)
    return render_template("launches/split_reset.html", summary=summary, stage=summary.stage,
                           campaign=summary.stage.campaign, experiment=summary.stage.campaign.experiment, kind=kind)


@bp.route(STAGE + "/split/cursor", methods=["GET", "POST"])
@login_required
def edit_split_cursor(experiment: str, campaign_id: int, stage_id: int):
    svc = services().split_control
    kind = "test" if is_test(request.values.get("kind")) else "standard"
    stage = svc.cursor_stage(experiment, campaign_id, stage_id)
    text, error, status = None, None, 200
    if request.method == "POST":
        text = request.form.get("cursor", "")
        try:
            stage = svc.edit_cursor(experiment, campaign_id, stage_id, _json_object(text), kind)
            flash(f"The {'test ' if kind == 'test' else ''}split cursor of stage {stage.name} was saved.", "success")
            return _campaign_page(experiment, campaign_id)
        except (InvalidInput, Conflict) as err:
            error, status = err, err.status
    current = getattr(stage, "test_split_cursor" if kind == "test" else "split_cursor") or {}
    if text is None:
        text = json.dumps({k: v for k, v in current.items() if k not in STAGE_NOTES}, indent=2, sort_keys=True)
    return render_template("launches/split_cursor.html", stage=stage, campaign=stage.campaign,
                           experiment=stage.campaign.experiment, kind=kind, text=text, error=error, current=current,
                           keys=svc.cursor_keys(stage, kind == "test")), status


def _json_object(text: str):
    """The cursor typed into the form (JSON text; the service checks its shape)."""
    if len(text) > 10_000:
        raise InvalidInput("The cursor is at most 10,000 characters of JSON.", field_errors={"cursor": ["too long"]})
    try:
        return json.loads(text or "{}", parse_constant=_not_json)
    except ValueError as err:
        raise InvalidInput(f"The cursor is not valid JSON: {err}.", field_errors={"cursor": [str(err)]}) from None


def _not_json(name: str):
    raise ValueError(f"{name} is not a JSON number")


@bp.route("/split-types")
@login_required
def split_types(experiment: str):
    types = [split_type_document(t) for t in services().split_control.split_types(experiment)]
    return render_template("launches/split_types.html", experiment_name=experiment, split_types=types)
