"""Campaign INI files through the web: upload page, download, JSON API (driven as a person or script would)."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from factories import csrf_token, login, make_experiment, make_user
from ini_samples import BAD_FILE, EXAMPLE, HIJACK, POMS_FILE
from poms_dd.models import AuditEvent, Campaign, CampaignStage, LaunchTemplate, StageDependency, User
from poms_dd.cli.context import cli_actor
from poms_dd.services.accounts.users import UserService

IMPORT = "/experiments/hypot/campaigns/import"


@pytest.fixture
def hypot(session):
    return make_experiment(session, "hypot")


@pytest.fixture
def paula(session, hypot):
    return make_user(session, "paula", roles={hypot: "production"})


def counts(session) -> dict[str, int]:
    return {m.__name__: session.scalar(select(func.count()).select_from(m))
            for m in (Campaign, CampaignStage, StageDependency, LaunchTemplate, AuditEvent)}


def upload(client, text: str, *, replace: bool = False, token: str | None = None):
    data = {"file": (io.BytesIO(text.encode()), "campaign.ini")}
    if replace:
        data["replace"] = "y"
    if token is not False:
        data["csrf_token"] = token or csrf_token(client, IMPORT)
    return client.post(IMPORT, data=data, content_type="multipart/form-data")


def test_upload_page_imports_the_example_and_download_round_trips(client, session, paula):
    login(client, "paula")
    page = client.get(IMPORT)
    assert page.status_code == 200 and 'type="file"' in page.get_data(as_text=True)
    response = upload(client, EXAMPLE.read_text(), token=None)
    assert response.status_code == 302
    camp = session.scalars(select(Campaign).where(Campaign.name == "hypot_reco_2026")).one()
    assert sorted(s.name for s in camp.stages) == ["ana", "reco"]
    event = session.scalars(select(AuditEvent).where(AuditEvent.object_type == "campaign",
                                                     AuditEvent.object_id == camp.id)).one()
    assert event.actor == "paula"
    shown = client.get(response.headers["Location"], follow_redirects=True).get_data(as_text=True)
    assert "Imported campaign hypot_reco_2026 with 2 stage(s)" in shown
    download = client.get(f"/experiments/hypot/campaigns/{camp.id}/export.ini")
    assert download.status_code == 200 and download.mimetype == "text/plain"
    assert download.headers["Content-Disposition"] == 'attachment; filename=hypot_reco_2026.ini'
    text = download.get_data(as_text=True)
    again = upload(client, text, replace=True)
    assert again.status_code == 302
    assert client.get(f"/experiments/hypot/campaigns/{camp.id}/export.ini").get_data(as_text=True) == text


def test_bad_upload_lists_every_problem_and_saves_nothing(client, session, paula):
    login(client, "paula")
    before = counts(session)
    response = upload(client, BAD_FILE)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    for where in ("[campaign] colour", "[campaign] campaign_stage_list", "[campaign_stage reco] cs_split_type",
                  "[campaign_stage reco] completion_pct", "[campaign_stage ana] param_overrides",
                  "[dependencies ana] campaign_stage_2", "[strange_section]"):
        assert f"<code>{where}</code>" in html, where
    assert "nothing was imported" in html and 'type="file"' in html      # same page, form again
    assert counts(session) == before


def test_upload_needs_csrf(client, session, paula):
    login(client, "paula")
    before = counts(session)
    response = upload(client, POMS_FILE, token=False)
    assert response.status_code == 400 and "CSRF" in response.get_data(as_text=True)
    assert counts(session) == before


def test_other_experiments_user_gets_404_and_anonymous_is_sent_to_login(client, session, paula):
    login(client, "paula")
    assert upload(client, POMS_FILE).status_code == 302
    camp_id = session.scalars(select(Campaign.id)).one()
    client.post("/logout", data={"csrf_token": csrf_token(client, "/account")})
    assert client.get(IMPORT).status_code == 302                       # anonymous: to the sign-in page
    make_user(session, "otto", roles={make_experiment(session, "other"): "production"})
    login(client, "otto")
    assert client.get(IMPORT).status_code == 404
    assert client.get(f"/experiments/hypot/campaigns/{camp_id}/export.ini").status_code == 404
    assert client.get(f"/experiments/other/campaigns/{camp_id}/export.ini").status_code == 404


def test_analysis_member_cannot_import_production_stages(client, session, hypot):
    make_user(session, "ann", roles={hypot: "analysis"})
    login(client, "ann")
    response = upload(client, POMS_FILE)
    assert response.status_code == 403 and "production" in response.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Campaign)) == 0


def test_json_api_import_and_export_with_a_token(client, session, paula):
    _, token = UserService(session, cli_actor()).create_token(paula, "script", None)
    auth = {"Authorization": f"Bearer {token}"}
    response = client.post("/api/experiments/hypot/campaigns/import", data=POMS_FILE,
                           content_type="text/plain", headers=auth)
    assert response.status_code == 201, response.json
    body = response.json
    assert body["name"] == "reco2026" and body["created"] and body["stages"] == ["reco", "ana"]
    exported = client.get(body["export_url"], headers=auth)
    assert exported.status_code == 200 and "[campaign_stage reco]" in exported.get_data(as_text=True)
    again = client.post("/api/experiments/hypot/campaigns/import?replace=true", data=exported.get_data(),
                        content_type="text/plain", headers=auth)
    assert again.status_code == 200 and again.json["created"] is False
    bad = client.post("/api/experiments/hypot/campaigns/import", data=BAD_FILE, content_type="text/plain",
                      headers=auth)
    assert bad.status_code == 400
    assert "[campaign_stage reco] completion_pct" in bad.json["field_errors"]
    before = counts(session)
    anonymous = client.post("/api/experiments/hypot/campaigns/import", data=POMS_FILE.replace("reco2026", "x"),
                            content_type="text/plain")
    assert anonymous.status_code in (400, 401)          # no token: refused (CSRF check or sign-in required)
    assert counts(session) == before


# --- launch templates used by production stages (Hardening item 1) ---------------------------------------



def template(session) -> LaunchTemplate:
    session.expire_all()
    return session.scalars(select(LaunchTemplate).where(LaunchTemplate.name == "hypot_reco_jt@hypot_login")).one()


@pytest.fixture
def production_template(client, session, paula):
    """paula (production) imports reco2026, whose production stage reco runs template hypot_reco_jt@hypot_login."""
    login(client, "paula")
    assert upload(client, POMS_FILE).status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client, "/account")})
    make_user(session, "ann", roles={session.get(Campaign, session.scalars(select(Campaign.id)).one()).experiment:
                                     "analysis"})
    return template(session)


def test_analysis_member_cannot_rewrite_a_production_template_by_page_import(client, session, production_template):
    command = production_template.command_template
    login(client, "ann")
    before = counts(session)
    response = upload(client, HIJACK, replace=True)
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert "only production members may change it" in html and "reco2026/reco" in html
    assert template(session).command_template == command == "fife_launch -c reco.cfg"
    assert counts(session) == before


def test_analysis_member_cannot_rewrite_a_production_template_by_api_import(app, session, production_template):
    ann = session.scalars(select(User).where(User.username == "ann")).one()
    _, token = UserService(session, cli_actor()).create_token(ann, "script", None)
    response = app.test_client().post("/api/experiments/hypot/campaigns/import?replace=true", data=HIJACK,
                           content_type="text/plain", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403, response.json
    assert "reco2026/reco" in response.json["message"]
    assert template(session).command_template == "fife_launch -c reco.cfg"


def test_import_refuses_to_change_a_template_other_campaigns_use(client, session, production_template):
    login(client, "paula")                                              # even a production member
    response = upload(client, HIJACK.replace("vo_role=Analysis", "vo_role=Production"), replace=True)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "also used by reco2026/ana, reco2026/reco" in html
    assert "Rename the [login_setup]/[job_type] sections" in html
    assert template(session).command_template == "fife_launch -c reco.cfg"
    renamed = HIJACK.replace("hypot_reco_jt", "my_jt").replace("hypot_login", "my_login")
    assert upload(client, renamed).status_code == 302                  # a template of one's own is fine


def test_production_member_changes_the_template_of_their_campaign_audited(client, session, production_template):
    login(client, "paula")
    changed = POMS_FILE.replace("fife_launch -c reco.cfg", "fife_launch -c reco_v2.cfg")
    assert upload(client, changed, replace=True).status_code == 302
    assert template(session).command_template == "fife_launch -c reco_v2.cfg"
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "launch_template.update")).one()
    assert event.actor == "paula"
    assert event.before == {"command_template": "fife_launch -c reco.cfg"}
    assert event.after == {"command_template": "fife_launch -c reco_v2.cfg"}
