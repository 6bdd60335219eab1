"""Campaign INI files on the web: download an export, upload an import (page and JSON API).

Thin: CampaignIniService checks permissions, validates the whole file and owns the transaction.  A bad file
is shown again with every problem listed by section and key (status 400); nothing is saved.
"""
from __future__ import annotations

import re
from urllib.parse import quote

from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField

from ....errors import InvalidInput
from ....models import Campaign
from ...auth import login_required
from ...request import services

bp = Blueprint("ini", __name__)
_TOKEN = re.compile(r"^[A-Za-z0-9_.-]+$")


class CampaignImportForm(FlaskForm):
    file = FileField("Campaign INI file", validators=[FileRequired("Choose a campaign .ini file to upload.")])
    replace = BooleanField("Replace the campaign of the same name if it exists (stages are matched by name; "
                           "its launch templates are updated unless other campaigns use them)")


def _service():
    return services().ini


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("The file is not UTF-8 text; is it really a campaign .ini file?",
                           field_errors={"file": ["not UTF-8 text"]}) from None


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII ``filename`` fallback and the exact UTF-8 name as RFC 5987 ``filename*``
    (a header must be Latin-1; a non-Latin-1 campaign name in a plain ``filename`` breaks the response)."""
    if _TOKEN.match(filename):
        return f"attachment; filename={filename}"
    fallback = "".join(c if " " <= c <= "~" and c not in '"\\' else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _ini_response(campaign: Campaign, text: str) -> Response:
    resp = Response(text, mimetype="text/plain")
    resp.headers["Content-Disposition"] = content_disposition(f"{campaign.name}.ini")
    return resp


@bp.route("/experiments/<experiment>/campaigns/<int:campaign_id>/export.ini")
@bp.route("/api/experiments/<experiment>/campaigns/<int:campaign_id>/export.ini", endpoint="api_export")
@login_required
def export(experiment: str, campaign_id: int):
    campaign, text = _service().export_text(experiment, campaign_id)
    return _ini_response(campaign, text)


@bp.route("/experiments/<experiment>/campaigns/import", methods=["GET", "POST"])
@login_required
def import_page(experiment: str):
    service = _service()
    exp = service.authorize_import(experiment)
    form = CampaignImportForm()
    problems: dict[str, list[str]] = {}
    message = ""
    if form.validate_on_submit():
        try:
            result = service.import_text(exp.name, _text(form.file.data.read()), replace=form.replace.data)
        except InvalidInput as err:
            problems, message = err.field_errors, err.message
        else:
            camp = result.campaign
            flash(f"{'Imported' if result.created else 'Updated'} campaign {camp.name} with "
                  f"{len(camp.stages)} stage(s).", "success")
            for warning in result.warnings:
                flash(warning, "warning")
            return redirect(url_for("campaigns.campaign", experiment=exp.name, campaign_id=camp.id))
    status = 400 if request.method == "POST" else 200
    return render_template("campaigns/import.html", experiment=exp, form=form, problems=problems,
                           message=message), status


@bp.route("/api/experiments/<experiment>/campaigns/import", methods=["POST"])
@login_required
def api_import(experiment: str):
    """Body: the INI text (any text content type) or a multipart ``file``; ``?replace=true`` to update.
    201 (created) / 200 (updated) with the campaign; 400 with ``field_errors`` ("[section] key") on a bad file."""
    upload = request.files.get("file")
    text = _text(upload.read() if upload is not None else request.get_data())
    replace = (request.values.get("replace") or "").lower() in ("1", "true", "yes", "on")
    result = _service().import_text(experiment, text, replace=replace)
    camp = result.campaign
    body = {"campaign_id": camp.id, "name": camp.name, "experiment": experiment, "created": result.created,
            "stages": [s.name for s in camp.stages], "warnings": result.warnings,
            "export_url": url_for("ini.api_export", experiment=experiment, campaign_id=camp.id)}
    return jsonify(body), 201 if result.created else 200
