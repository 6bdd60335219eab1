"""The start page: my experiments and my role in each."""
from __future__ import annotations

from flask import Blueprint, render_template

from ..auth import login_required
from ..request import current_user, services

bp = Blueprint("home", __name__)


@bp.route("/")
@login_required
def index():
    user = current_user()
    return render_template("poms_dd/home.html", user=user,
                           experiments=services().users.experiments_with_roles(user))
