"""The start page: my experiments and my role in each."""
from __future__ import annotations

from flask import Blueprint, render_template

from ..auth import current_user, login_required
from ..services.users import UserService
from ..web import db_session

bp = Blueprint("home", __name__)


@bp.route("/")
@login_required
def index():
    user = current_user()
    return render_template("poms_dd/home.html", user=user,
                           experiments=UserService(db_session()).experiments_with_roles(user))
