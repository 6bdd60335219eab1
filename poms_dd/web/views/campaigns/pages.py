"""Campaign configuration pages: experiment home, campaign page, campaign/stage/dependency/clone forms.

Thin: call the request's services (campaigns, dependencies, cloning) for the signed-in user, render.  Permission errors and missing
objects go to the shared error handler (403/404 pages that name nothing of the hidden experiment).
"""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from wtforms import SelectChoice

from ....errors import InvalidInput
from ....models import DataHandlingService
from ....services.campaigns.keywords import keywords_text
from ....services.campaigns.names import CAMPAIGN_LABELS, STAGE_LABELS, label
from ....services.campaigns.stage_rules import STAGE_FIELDS
from ...auth import login_required
from ...forms import CampaignForm, CloneForm, DependencyForm, StageForm
from ...request import services

bp = Blueprint("campaigns", __name__, url_prefix="/experiments/<experiment>")

CAMPAIGN_FORM_FIELDS = ("name", "data_handling_service", "keywords", "tags", "state", "dd_worker_timeout",
                        "dd_idle_timeout", "dd_virtual", "dd_load_limit")


def _service():
    return services().campaigns


def _data(form, fields) -> dict:
    return {name: form[name].data for name in fields if name in form}


def _show_errors(form, err: InvalidInput, labels=STAGE_LABELS) -> None:
    """Put the service's field messages next to the fields; the summary and the rest become flash messages
    (naming the fields by their labels)."""
    flash(err.message, "error")
    for name, messages in err.field_errors.items():
        if name in form:
            form[name].errors = list(form[name].errors) + list(messages)
        else:
            for m in messages:
                flash(f"{label(name, labels)}: {m}", "error")


def _flash_notes(svc, stage) -> None:
    """What MetaCat/DD say of the saved stage's data: warnings and notes, never a failed save."""
    for note in svc.data_notes(stage):
        flash(note.message, note.level)


def _limit_roles(svc, form, exp) -> None:
    """Offer only the stage roles the person may choose."""
    allowed = svc.stage_roles(exp)
    form.role.choices = [c for c in form.role.choices if (c[0] if isinstance(c, tuple) else c) in allowed]


def _campaign_form(camp=None) -> CampaignForm:
    form = CampaignForm()
    if camp is not None and not form.is_submitted():
        for name in CAMPAIGN_FORM_FIELDS:
            value = getattr(camp, name)
            form[name].data = (keywords_text(value) if name == "keywords" else ", ".join(value) if name == "tags"
                               else "" if value is None else value if isinstance(value, bool) else str(value))
    return form


@bp.route("")
@login_required
def experiment_home(experiment):
    svc = _service()
    exp = svc.experiment(experiment)
    return render_template("campaigns/experiment.html", experiment=exp,
                           campaigns=svc.list_campaigns(experiment), counts=svc.submission_counts(experiment),
                           can_audit=services().scope.allowed("audit.view", exp.id))


@bp.route("/campaigns/new", methods=["GET", "POST"])
@login_required
def new_campaign(experiment):
    svc = _service()
    exp = svc.experiment(experiment, "campaign.create")
    form = _campaign_form()
    if form.validate_on_submit():
        try:
            camp = svc.create_campaign(experiment, _data(form, CAMPAIGN_FORM_FIELDS))
            flash(f"Campaign {camp.name} created.", "success")
            return redirect(url_for(".campaign", experiment=experiment, campaign_id=camp.id))
        except InvalidInput as err:
            _show_errors(form, err)
    status = 400 if form.is_submitted() else 200
    return render_template("campaigns/campaign_form.html", experiment=exp, form=form, campaign=None), status


@bp.route("/campaigns/<int:campaign_id>")
@login_required
def campaign(experiment, campaign_id):
    svc = _service()
    camp = svc.get_campaign(experiment, campaign_id)
    return render_template("campaigns/campaign.html", experiment=camp.experiment, campaign=camp,
                           previews={s.id: svc.stage_preview(s) for s in camp.stages},
                           editable={s.id: svc.stage_edit_refusal(s) is None for s in camp.stages},
                           campaign_read_only=svc.campaign_edit_refusal(camp))


@bp.route("/campaigns/<int:campaign_id>/edit", methods=["GET", "POST"])
@login_required
def edit_campaign(experiment, campaign_id):
    svc = _service()
    camp = svc.get_campaign(experiment, campaign_id)
    form = _campaign_form(camp)
    if form.validate_on_submit():
        try:
            svc.update_campaign(experiment, campaign_id, _data(form, CAMPAIGN_FORM_FIELDS))
            flash("Campaign saved.", "success")
            return redirect(url_for(".campaign", experiment=experiment, campaign_id=campaign_id))
        except InvalidInput as err:
            _show_errors(form, err, CAMPAIGN_LABELS)
    status = 400 if form.is_submitted() else 200
    return render_template("campaigns/campaign_form.html", experiment=camp.experiment, form=form,
                           campaign=camp, read_only=svc.campaign_edit_refusal(camp)), status


def _stage_form(stage=None) -> StageForm:
    form = StageForm()
    if stage is not None and not form.is_submitted():
        for name in STAGE_FIELDS:
            if name in form:
                value = getattr(stage, name)
                form[name].data = (value if isinstance(value, bool) and name == "hold"
                                   else "" if value is None else str(value).lower() if isinstance(value, bool)
                                   else str(value))
    return form


def _stage_page(svc, camp, form, stage, status, dep_form=None, read_only=None):
    return render_template("campaigns/stage_form.html", experiment=camp.experiment, campaign=camp, form=form,
                           stage=stage, dd=camp.data_handling_service == DataHandlingService.DATA_DISPATCHER,
                           dep_form=dep_form, read_only=read_only,
                           preview=svc.stage_preview(stage) if stage is not None else []), status


def _stage_data(form, dd: bool) -> dict:
    """The submitted stage fields; fields the campaign's service disables are not sent."""
    skip = {"sam_dataset"} if dd else {"data_dispatcher_dataset_query", "data_dispatcher_project_id",
                                       "dd_worker_timeout", "dd_idle_timeout", "dd_load_limit", "dd_virtual"}
    return _data(form, [f for f in STAGE_FIELDS if f not in skip])


@bp.route("/campaigns/<int:campaign_id>/stages/new", methods=["GET", "POST"])
@login_required
def new_stage(experiment, campaign_id):
    svc = _service()
    camp = svc.get_campaign(experiment, campaign_id)
    form = _stage_form()
    _limit_roles(svc, form, camp.experiment)
    if form.validate_on_submit():
        try:
            stage = svc.create_stage(experiment, campaign_id,
                                     _stage_data(form, camp.data_handling_service == DataHandlingService.DATA_DISPATCHER))
            flash(f"Stage {stage.name} created.", "success")
            _flash_notes(svc, stage)
            return redirect(url_for(".campaign", experiment=experiment, campaign_id=campaign_id))
        except InvalidInput as err:
            _show_errors(form, err)
    return _stage_page(svc, camp, form, None, 400 if form.is_submitted() else 200)


@bp.route("/campaigns/<int:campaign_id>/stages/<int:stage_id>/edit", methods=["GET", "POST"])
@login_required
def edit_stage(experiment, campaign_id, stage_id):
    svc = _service()
    stage = svc.get_stage(experiment, campaign_id, stage_id)
    camp = stage.campaign
    form = _stage_form(stage)
    read_only = svc.stage_edit_refusal(stage)
    if not read_only:
        _limit_roles(svc, form, camp.experiment)
    if form.validate_on_submit():
        try:
            svc.update_stage(experiment, campaign_id, stage_id,
                             _stage_data(form, camp.data_handling_service == DataHandlingService.DATA_DISPATCHER))
            flash(f"Stage {stage.name} saved.", "success")
            _flash_notes(svc, stage)
            return redirect(url_for(".campaign", experiment=experiment, campaign_id=campaign_id))
        except InvalidInput as err:
            _show_errors(form, err)
    dep_form = DependencyForm(formdata=None)
    dep_form.provider_stage_id.choices = [SelectChoice(str(s.id), f"{s.campaign.name} / {s.name}")
                                          for c in svc.list_campaigns(experiment) for s in c.stages
                                          if s.id != stage.id]
    return _stage_page(svc, camp, form, stage, 400 if form.is_submitted() else 200, dep_form, read_only)


@bp.route("/campaigns/<int:campaign_id>/stages/<int:stage_id>/delete", methods=["POST"])
@login_required
def delete_stage(experiment, campaign_id, stage_id):
    _service().delete_stage(experiment, campaign_id, stage_id)
    flash("Stage deleted.", "success")
    return redirect(url_for(".campaign", experiment=experiment, campaign_id=campaign_id))


@bp.route("/campaigns/<int:campaign_id>/stages/<int:stage_id>/dependencies", methods=["POST"])
@login_required
def add_dependency(experiment, campaign_id, stage_id):
    form = DependencyForm()
    try:
        services().dependencies.add(experiment, campaign_id, stage_id,
                                  {"provider_stage_id": form.provider_stage_id.raw_data[0]
                                   if form.provider_stage_id.raw_data else None,
                                   "file_pattern": form.file_pattern.data})
        flash("Dependency added.", "success")
    except InvalidInput as err:
        for messages in err.field_errors.values() or [[err.message]]:
            for m in messages:
                flash(m, "error")
    return redirect(url_for(".edit_stage", experiment=experiment, campaign_id=campaign_id, stage_id=stage_id))


@bp.route("/campaigns/<int:campaign_id>/stages/<int:stage_id>/dependencies/<int:dependency_id>/delete",
          methods=["POST"])
@login_required
def remove_dependency(experiment, campaign_id, stage_id, dependency_id):
    services().dependencies.remove(experiment, campaign_id, stage_id, dependency_id)
    flash("Dependency removed.", "success")
    return redirect(url_for(".edit_stage", experiment=experiment, campaign_id=campaign_id, stage_id=stage_id))


@bp.route("/campaigns/<int:campaign_id>/clone", methods=["GET", "POST"])
@login_required
def clone_campaign(experiment, campaign_id):
    svc = _service()
    camp = svc.get_campaign(experiment, campaign_id)
    form = CloneForm()
    if form.validate_on_submit():
        try:
            copy = services().cloning.clone(experiment, campaign_id, _data(form, ("name", "replace_from", "replace_to")))
            flash(f"Campaign {camp.name} copied as {copy.name}.", "success")
            return redirect(url_for(".campaign", experiment=experiment, campaign_id=copy.id))
        except InvalidInput as err:
            _show_errors(form, err)
    status = 400 if form.is_submitted() else 200
    return render_template("campaigns/clone.html", experiment=camp.experiment, campaign=camp, form=form), status
