"""Launch confirmation and submission pages.

The Launch button leads to a confirm page that shows the exact MQL and file count of what would be launched
(warning above ~10,000 files); its form carries a one-time key, so a double click or a resubmitted form makes
one submission.  The submission page shows status, history, the environment, the launch log and the project's
handle counts; it updates itself while the launch is in progress (``static/submission.js`` polls the JSON API).
"""
from __future__ import annotations

import secrets

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from ....errors import InvalidInput
from ....models import LaunchKind
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
