"""The start page: my experiments and my role in each."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, send_from_directory

from ..auth import login_required
from ..request import current_user, services

bp = Blueprint("home", __name__)


@bp.route("/")
@login_required
def index():
    user = current_user()
    return render_template("poms_dd/home.html", user=user,
                           experiments=services().users.experiments_with_roles(user))


@bp.route("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico on their own; answer with ours instead of a 404."""
    return send_from_directory(current_app.static_folder, "favicon.ico", mimetype="image/vnd.microsoft.icon",
                               max_age=7 * 24 * 3600)
