"""Sign-in pages: /login, /logout, /account (memberships, API tokens) and GET /api/whoami."""
from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, render_template, request, session, url_for
from flask_login import logout_user

from ...db import utcnow
from ...errors import PomsDDError
from ..auth import client_address, known_device, login_required, remember_device, safe_next, start_browser_session
from ..forms import ApiTokenForm, LoginForm
from ..request import auth_method, current_user, ext, services

bp = Blueprint("auth", __name__)

BAD_LOGIN = "Unknown user or wrong password."


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Local password sign-in; in header mode explains that the SSO proxy signs people in."""
    if ext().settings.auth_mode != "local":
        return render_template("poms_dd/login.html", form=None), (200 if request.method == "GET" else 403)
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next"))
    if form.validate_on_submit():
        return _sign_in(form)
    return render_template("poms_dd/login.html", form=form), (400 if form.errors else 200)


def _sign_in(form: LoginForm):
    """Check the rate limit, then the password; on success a fresh session and the known-device cookie."""
    username, address = form.username.data.strip(), client_address()
    throttle = services().signin_throttle
    refusal = throttle.refusal(username, address, known_device=known_device(username))
    if refusal is not None:
        return (render_template("poms_dd/login.html", form=form, refusal=refusal.message), 429,
                {"Retry-After": str(refusal.retry_after)})
    user = services().signin.authenticate_password(username, form.password.data)
    if user is None:
        throttle.record_failure(username, address)
        form.password.errors.append(BAD_LOGIN)
        return render_template("poms_dd/login.html", form=form), 401
    throttle.record_success(username)
    target = safe_next(form.next.data) or url_for("home.index")
    start_browser_session(user)
    response = redirect(target)
    remember_device(response, user.username)
    return response


@bp.route("/logout", methods=["POST"])
def logout():
    """Sign out: ends this user's browser sessions everywhere (a copied cookie stops working too)."""
    user = current_user()
    if user is not None and auth_method() == "session":
        services().signin.sign_out_everywhere(user)
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account")
@login_required
def account():
    return _account_page(ApiTokenForm(), new_token=None)


def _account_page(form: ApiTokenForm, new_token: str | None, status: int = 200):
    user = current_user()
    users = services().users
    return render_template("poms_dd/account.html", user=user, form=form, new_token=new_token,
                           memberships=users.memberships_of(user), tokens=users.tokens_of(user),
                           now=utcnow()), status


@bp.route("/account/tokens", methods=["POST"])
@login_required
def create_token():
    """Create an API token; its value is shown on this response only."""
    form = ApiTokenForm()
    if not form.validate_on_submit():
        return _account_page(form, new_token=None, status=400)
    try:
        _, plaintext = services().users.create_token(current_user(), form.name.data, form.expires_days.data)
    except PomsDDError as err:
        for field, messages in err.field_errors.items():
            getattr(form, field).errors = list(messages)
        return _account_page(form, new_token=None, status=err.status)
    response = _account_page(ApiTokenForm(formdata=None), new_token=plaintext)
    return response[0], 201, {"Cache-Control": "no-store"}


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id: int):
    row = services().users.revoke_token(token_id)
    flash(f"API token {row.name!r} revoked.", "info")
    return redirect(url_for("auth.account"))


@bp.route("/api/whoami")
@login_required
def whoami():
    """JSON: who the caller is, how they signed in, and their experiments with roles."""
    user = current_user()
    pairs = services().users.experiments_with_roles(user)
    return jsonify(username=user.username, full_name=user.full_name, is_superuser=user.is_superuser,
                   authenticated_via=auth_method(),
                   experiments=[{"name": exp.name, "role": role} for exp, role in pairs])
