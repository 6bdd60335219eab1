"""Admin pages under /admin: onboard experiments (SPEC §7), test their connections, token status, members.

Thin: every route parses the form, calls OnboardingService / UserService (which check permissions and
commit) and renders.  Secret fields are PasswordFields that are never pre-filled.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from ....errors import InvalidInput, NotFound, PermissionDenied
from ....models import Experiment, Role, Service
from ....services.onboarding.inputs import url_credentials_problem
from ....services.onboarding.rules import CREDENTIAL_FIELDS, EXPERIMENT_FIELDS, URL_FIELDS, VERIFY_TLS_OFF_WARNING
from ....services.onboarding.service import OnboardingService, snapshot
from ...auth import login_required
from ...forms import ExperimentForm, MemberForm
from ...request import current_user, services

bp = Blueprint("admin", __name__, url_prefix="/admin")
SERVICES = tuple(Service)


def form_data(form: ExperimentForm) -> dict[str, Any]:
    """The service's input from a submitted form (credential sub-forms become ``credentials``)."""
    data = {field: form[field].data for field in EXPERIMENT_FIELDS + ("description",)}
    data["name"] = form.name.data
    data["credentials"] = {service: dict(form[service].data) for service in SERVICES}
    return data


def prefill(exp: Experiment) -> dict[str, Any]:
    """Form values for an existing experiment: every setting except secrets."""
    snap = snapshot(exp)
    data = {k: v for k, v in snap.items() if "." not in k}
    for service in SERVICES:
        data[service] = {f: snap[f"{service}.{f}"] for f in CREDENTIAL_FIELDS}
        data[service]["method"] = data[service]["method"] or "password"
    return data


def attach_errors(form: ExperimentForm, err: InvalidInput) -> None:
    """Show the service's field errors ("metacat_url", "rucio.cert_path") next to the form fields."""
    for key, messages in err.field_errors.items():
        service, _, field = key.partition(".")
        target = form[service].form[field] if field and service in SERVICES else form._fields.get(key)
        if target is None:
            target = form.name
        target.errors = list(target.errors) + list(messages)
    for field in URL_FIELDS:             # a URL with a password in it is not drawn again
        if form[field].data and url_credentials_problem(field, form[field].data):
            form[field].raw_data, form[field].data = [], ""


@bp.route("")
@login_required
def index():
    user = current_user()
    if user.is_superuser:
        return render_template("admin/index.html", experiments=services().onboarding.list_experiments(), admin=True)
    mine = [e for e, role in services().users.experiments_with_roles(user) if role == Role.SUPERUSER]
    if not mine:
        raise PermissionDenied("Only poms_dd administrators and experiment superusers have admin pages.")
    return render_template("admin/index.html", experiments=mine, admin=False)


@bp.route("/experiments/new", methods=["GET", "POST"])
@login_required
def new_experiment():
    service = services().onboarding
    service.authorize("experiment.create")
    form = ExperimentForm()
    if form.validate_on_submit():
        try:
            exp = service.create(form_data(form))
        except InvalidInput as err:
            attach_errors(form, err)
        else:
            flash(f"Experiment {exp.name} onboarded. Run “Test connection” to check the credentials.", "success")
            return redirect(url_for("admin.experiment", name=exp.name))
    return render_template("admin/experiment_new.html", form=form, verify_tls_warning=VERIFY_TLS_OFF_WARNING), \
        (400 if form.errors else 200)


@bp.route("/experiments/<name>", methods=["GET", "POST"])
@login_required
def experiment(name: str):
    service = services().onboarding
    exp = service.get(name)
    form = ExperimentForm(data=prefill(exp))
    if form.validate_on_submit():
        try:
            service.update(name, form_data(form))
        except InvalidInput as err:
            attach_errors(form, err)
        else:
            flash("Settings saved.", "success")
            return redirect(url_for("admin.experiment", name=name))
    return experiment_page(service, exp, form, status=400 if form.errors else 200)


def experiment_page(service: OnboardingService, exp: Experiment, form: ExperimentForm | None = None, *,
                    checks=None, tokens=None, status: int = 200):
    # formdata=None: after "Test connection" / "Refresh now" (POSTs without the settings) the form shows the
    # stored values, not the absent checkboxes of that POST as unticked.
    form = form or ExperimentForm(formdata=None, data=prefill(exp))
    return render_template("admin/experiment.html", exp=exp, form=form, checks=checks,
                           tokens=tokens if tokens is not None else service.token_status(exp.name),
                           tokens_refreshed=tokens is not None, settings=snapshot(exp),
                           members=services().users.members_of(exp), member_form=MemberForm(),
                           verify_tls_warning=VERIFY_TLS_OFF_WARNING), status


@bp.route("/experiments/<name>/test-connection", methods=["POST"])
@login_required
def test_connection(name: str):
    service = services().onboarding
    checks = service.test_connection(name)
    return experiment_page(service, service.get(name), checks=checks)


@bp.route("/experiments/<name>/refresh-tokens", methods=["POST"])
@login_required
def refresh_tokens(name: str):
    service = services().onboarding
    tokens = service.refresh_tokens(name)
    return experiment_page(service, service.get(name), tokens=tokens)


# --- members (experiment superusers too) ----------------------------------------------------------------

def _member_target(name: str):
    users = services().users
    return users, users.get_experiment(name)


def _back(name: str):
    user = current_user()
    target = "admin.experiment" if user.is_superuser else "admin.members"
    return redirect(url_for(target, name=name) + "#members")


@bp.route("/experiments/<name>/members", methods=["GET", "POST"])
@login_required
def members(name: str):
    """List members; POST adds one (username + role)."""
    users, exp = _member_target(name)
    rows = users.members_of(exp)        # permission check: experiment.members
    form = MemberForm()
    if form.validate_on_submit():
        try:
            users.add_member(users.get_user(form.username.data.strip()), exp, form.role.data)
        except (NotFound, InvalidInput) as err:
            form.username.errors = list(form.username.errors) + [err.message]
        else:
            flash(f"{form.username.data.strip()} added as {form.role.data}.", "success")
            return _back(name)
    return render_template("admin/members.html", exp=exp, members=rows, member_form=form), \
        (400 if form.errors else 200)


@bp.route("/experiments/<name>/members/<username>/role", methods=["POST"])
@login_required
def change_role(name: str, username: str):
    users, exp = _member_target(name)
    role = request.form.get("role", "")
    users.change_role(users.get_user(username), exp, role)   # InvalidInput for a bad role
    flash(f"{username} is now {role}.", "success")
    return _back(name)


@bp.route("/experiments/<name>/members/<username>/remove", methods=["POST"])
@login_required
def remove_member(name: str, username: str):
    users, exp = _member_target(name)
    users.remove_member(users.get_user(username), exp)
    flash(f"{username} removed from {name}.", "success")
    return _back(name)
