"""Campaign pages and JSON API driven over HTTP after signing in through the real login form."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from factories import csrf_token, login, make_campaign, make_experiment, make_stage, make_user
from poms_dd.models import AuditEvent, Campaign, CampaignStage


def body(response) -> str:
    return response.get_data(as_text=True)


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def world(session):
    hypot = make_experiment(session, "hypot")
    dune = make_experiment(session, "dune")
    make_user(session, "ana", roles={hypot: "analysis"})
    make_user(session, "prod", roles={hypot: "production"})
    make_user(session, "bob", roles={dune: "production"})
    secret = make_campaign(session, dune, "dune-secret-campaign", keywords={"k": "dune-secret-keyword"})
    make_stage(session, secret, "dune-secret-stage", data_dispatcher_dataset_query="files from dune:secretds")
    return {"hypot": hypot, "dune": dune, "dune_campaign": secret}


def signed_in(app, username):
    c = app.test_client()
    assert login(c, username).status_code == 302
    return c


def post(client, path, fields, form_page=None):
    return client.post(path, data=dict(fields, csrf_token=csrf_token(client, form_page or path)))


STAGE = {"name": "reco", "role": "analysis", "data_dispatcher_dataset_query": "files from %(ns)s:raw",
         "data_dispatcher_project_id": "", "split_type": "drainingn(5)", "test_split_type": "", "dd_virtual": "",
         "completion_type": "complete", "completion_pct": "95", "output_file_patterns": "%",
         "output_ancestor_depth": "1", "auto_recovery": "none"}


def create_dd_campaign(client):
    r = post(client, "/experiments/hypot/campaigns/new",
             {"name": "reco2026", "data_handling_service": "data_dispatcher", "keywords": "ns = hypot",
              "state": "active", "dd_load_limit": "4"})
    assert r.status_code == 302, body(r)
    return int(r.headers["Location"].rstrip("/").split("/")[-1])


def test_create_dd_campaign_and_stage_through_the_pages(app, world, session):
    c = signed_in(app, "ana")
    page = body(c.get("/experiments/hypot"))
    assert "New campaign" in page and "dune-secret" not in page
    form = body(c.get("/experiments/hypot/campaigns/new"))
    assert 'data-service="data_dispatcher"' in form and "campaign_form.js" in form
    cid = create_dd_campaign(c)
    new_stage = f"/experiments/hypot/campaigns/{cid}/stages/new"
    stage_form = body(c.get(new_stage))
    assert '<input disabled id="sam_dataset"' in stage_form       # DD campaign: SAM dataset disabled
    assert 'id="data_dispatcher_project_id"' in stage_form
    r = post(c, new_stage, STAGE)
    assert r.status_code == 302, body(r)
    page = body(c.get(f"/experiments/hypot/campaigns/{cid}"))
    assert "reco" in page and "drainingn(5)" in page
    assert "files from hypot:raw" in page          # keyword-substituted query shown
    assert "%(ns)s" in page and "hypot" in page     # keywords listed
    stage = session.scalar(select(CampaignStage).where(CampaignStage.campaign_id == cid))
    assert stage.data_dispatcher_dataset_query == "files from %(ns)s:raw" and stage.split_type == "drainingn(5)"
    edit = body(c.get(f"/experiments/hypot/campaigns/{cid}/stages/{stage.id}/edit"))
    assert 'id="keyword-preview"' in edit and "files from hypot:raw" in edit


def test_both_query_and_project_id_shows_field_message_and_stores_nothing(app, world, session):
    c = signed_in(app, "ana")
    cid = create_dd_campaign(c)
    before = (count(session, CampaignStage), count(session, AuditEvent))
    r = post(c, f"/experiments/hypot/campaigns/{cid}/stages/new", dict(STAGE, data_dispatcher_project_id="17"))
    assert r.status_code == 400
    page = body(r)
    assert page.count('<div class="field-error">Give either an MQL query or a DD project id, not both') == 2
    assert (count(session, CampaignStage), count(session, AuditEvent)) == before
    r = post(c, f"/experiments/hypot/campaigns/{cid}/stages/new", dict(STAGE, split_type="mod(x)"),
             form_page=f"/experiments/hypot/campaigns/{cid}/stages/new")
    assert r.status_code == 400 and "mod(m): m must be a positive integer, got &#39;x&#39;." in body(r)


def test_malformed_mql_shows_metacats_parser_message_on_the_query_field(app, world, session):
    c = signed_in(app, "ana")
    cid = create_dd_campaign(c)
    new_stage = f"/experiments/hypot/campaigns/{cid}/stages/new"
    before = (count(session, CampaignStage), count(session, AuditEvent))
    r = post(c, new_stage, dict(STAGE, data_dispatcher_dataset_query="files from %(ns)s:raw where"))
    assert r.status_code == 400
    page = body(r)
    assert ('<div class="field-error">MetaCat cannot parse this query (after substituting the campaign keywords: '
            '&#39;files from hypot:raw where&#39;): MQLSyntaxError: Unexpected end-of-input.') in page
    r = post(c, new_stage, dict(STAGE, data_dispatcher_dataset_query="datasets matching hypot:*"),
             form_page=new_stage)
    assert r.status_code == 400 and '<div class="field-error">This is a dataset query; the stage query must ' \
        'select files' in body(r)
    assert (count(session, CampaignStage), count(session, AuditEvent)) == before
    h = {"X-CSRFToken": csrf_token(c, new_stage)}
    r = c.post(f"/api/experiments/hypot/campaigns/{cid}/stages", headers=h,
               json={"name": "s", "data_dispatcher_dataset_query": "files form hypot:raw"})
    assert r.status_code == 400
    (message,) = r.get_json()["field_errors"]["data_dispatcher_dataset_query"]
    assert message.startswith("MetaCat cannot parse this query: MQLSyntaxError: ") and "line 1 col" in message
    assert count(session, CampaignStage) == before[0]


def test_other_experiment_is_invisible(app, world, session):
    c = signed_in(app, "ana")
    cid = world["dune_campaign"].id
    for path in ("/experiments/dune", f"/experiments/dune/campaigns/{cid}", f"/experiments/hypot/campaigns/{cid}",
                 f"/experiments/dune/campaigns/{cid}/edit", f"/api/experiments/dune/campaigns/{cid}",
                 "/api/experiments/dune/campaigns"):
        r = c.get(path)
        assert r.status_code == 404, path
        assert "dune-secret" not in body(r)
    token = csrf_token(c, "/experiments/hypot/campaigns/new")
    r = c.post(f"/experiments/dune/campaigns/{cid}/edit", data={"name": "hijacked", "csrf_token": token,
                                                                 "data_handling_service": "sam"})
    assert r.status_code == 404 and "dune-secret" not in body(r)
    r = c.patch(f"/api/experiments/dune/campaigns/{cid}", json={"name": "hijacked"},
                headers={"X-CSRFToken": token})
    assert r.status_code == 404 and "dune-secret" not in body(r)
    session.expire_all()
    assert session.get(Campaign, cid).name == "dune-secret-campaign"


def test_form_post_without_csrf_token_is_refused(app, world, session):
    c = signed_in(app, "ana")
    r = c.post("/experiments/hypot/campaigns/new", data={"name": "nocsrf", "data_handling_service": "sam"})
    assert r.status_code == 400
    assert session.scalar(select(Campaign).where(Campaign.name == "nocsrf")) is None


def test_analysis_user_editing_production_stage_is_forbidden(app, world, session):
    camp = make_campaign(session, world["hypot"], "prodcamp")
    stage = make_stage(session, camp, "prodstage", role="production")
    c = signed_in(app, "ana")
    path = f"/experiments/hypot/campaigns/{camp.id}/stages/{stage.id}/edit"
    r = post(c, path, dict(STAGE, name="renamed", role="production",
                           data_dispatcher_dataset_query="files from hypot:raw"))
    assert r.status_code == 403
    r = c.patch(f"/api/experiments/hypot/campaigns/{camp.id}/stages/{stage.id}", json={"hold": True},
                headers={"X-CSRFToken": csrf_token(c, path)})
    assert r.status_code == 403 and r.get_json()["error"] == "PermissionDenied"
    session.expire_all()
    assert session.get(CampaignStage, stage.id).name == "prodstage"
    p = signed_in(app, "prod")
    r = post(p, path, dict(STAGE, name="renamed", role="production",
                           data_dispatcher_dataset_query="files from hypot:raw"))
    assert r.status_code == 302, body(r)
    ev = session.scalars(select(AuditEvent).where(AuditEvent.action == "stage.update")).one()
    assert ev.actor == "prod" and ev.before["name"] == "prodstage" and ev.after["name"] == "renamed"


def test_json_api_create_update_and_field_errors(app, world, session):
    c = signed_in(app, "prod")
    h = {"X-CSRFToken": csrf_token(c, "/experiments/hypot/campaigns/new")}
    r = c.post("/api/experiments/hypot/campaigns", json={"name": "api2026", "data_handling_service":
                                                         "data_dispatcher", "keywords": {"ns": "hypot"}}, headers=h)
    assert r.status_code == 201, body(r)
    cid = r.get_json()["id"]
    r = c.post(f"/api/experiments/hypot/campaigns/{cid}/stages", headers=h, json={
        "name": "s", "data_dispatcher_dataset_query": "files from a:b", "data_dispatcher_project_id": 3})
    assert r.status_code == 400
    assert set(r.get_json()["field_errors"]) == {"data_dispatcher_dataset_query", "data_dispatcher_project_id"}
    r = c.post(f"/api/experiments/hypot/campaigns/{cid}/stages", headers=h, json={
        "name": "s", "data_dispatcher_project_id": 3, "dd_idle_timeout": 60})
    assert r.status_code == 201 and r.get_json()["data_dispatcher_project_id"] == 3
    sid = r.get_json()["id"]
    r = c.patch(f"/api/experiments/hypot/campaigns/{cid}/stages/{sid}", headers=h,
                json={"data_dispatcher_project_id": None, "data_dispatcher_dataset_query": "files from %(ns)s:x",
                      "split_type": "nfiles(2)"})
    assert r.status_code == 200 and r.get_json()["split_type"] == "nfiles(2)"
    doc = c.get(f"/api/experiments/hypot/campaigns/{cid}/stages/{sid}").get_json()
    assert doc["preview"]["data_dispatcher_dataset_query"]["text"] == "files from hypot:x"
    listing = c.get("/api/experiments/hypot/campaigns").get_json()
    assert [x["name"] for x in listing["campaigns"]] == ["api2026"]
    r = c.post("/api/experiments/hypot/campaigns", data="not json", headers=h)
    assert r.status_code == 400 and "JSON object" in r.get_json()["message"]
    actions = session.scalars(select(AuditEvent.action).where(AuditEvent.experiment_id == world["hypot"].id)
                              .order_by(AuditEvent.id)).all()
    assert actions == ["campaign.create", "stage.create", "stage.update"]


def test_clone_and_dependency_pages(app, world, session):
    c = signed_in(app, "prod")
    cid = create_dd_campaign(c)
    new_stage = f"/experiments/hypot/campaigns/{cid}/stages/new"
    assert post(c, new_stage, STAGE).status_code == 302
    assert post(c, new_stage, dict(STAGE, name="ana")).status_code == 302
    reco, ana = session.scalars(select(CampaignStage).where(CampaignStage.campaign_id == cid)
                                .order_by(CampaignStage.id)).all()
    edit = f"/experiments/hypot/campaigns/{cid}/stages/{ana.id}/edit"
    r = post(c, f"/experiments/hypot/campaigns/{cid}/stages/{ana.id}/dependencies",
             {"provider_stage_id": str(reco.id), "file_pattern": "%.root"}, form_page=edit)
    assert r.status_code == 302
    page = body(c.get(edit))
    assert 'id="dependencies"' in page and "%.root" in page
    r = post(c, f"/experiments/hypot/campaigns/{cid}/clone",
             {"name": "", "replace_from": "2026", "replace_to": "2027"})
    assert r.status_code == 302, body(r)
    copy = session.scalar(select(Campaign).where(Campaign.name == "reco2027"))
    assert [s.name for s in copy.stages] == ["reco", "ana"]
    assert copy.stages[1].dependencies[0].provider_stage_id == copy.stages[0].id
    r = post(c, f"/experiments/hypot/campaigns/{cid}/clone", {"name": "reco2027"})
    assert r.status_code == 400 and "already used" in body(r)


def test_sam_campaign_stage_form_has_no_dd_fields(app, world, session):
    camp = make_campaign(session, world["hypot"], "samcamp", data_handling_service="sam")
    c = signed_in(app, "ana")
    form = body(c.get(f"/experiments/hypot/campaigns/{camp.id}/stages/new"))
    assert 'id="data_dispatcher_dataset_query"' not in form and '<input id="sam_dataset"' in form
    edit = body(c.get(f"/experiments/hypot/campaigns/{camp.id}/edit"))
    assert '<fieldset data-service="data_dispatcher" hidden>' in edit and '<fieldset data-service="sam">' in edit
    r = post(c, f"/experiments/hypot/campaigns/{camp.id}/stages/new",
             dict(STAGE, data_dispatcher_dataset_query="", split_type="", sam_dataset="raw_ds"))
    assert r.status_code == 302, body(r)
    stage = session.scalar(select(CampaignStage).where(CampaignStage.campaign_id == camp.id))
    assert stage.sam_dataset == "raw_ds" and stage.data_dispatcher_dataset_query is None


def test_campaign_with_production_stages_is_productions_to_change(app, world, session):
    camp = make_campaign(session, world["hypot"], "prodcamp", keywords={"ds": "raw"})
    make_stage(session, camp, "prodstage", role="production", data_dispatcher_dataset_query="files from hypot:%(ds)s")
    c = signed_in(app, "ana")
    h = {"X-CSRFToken": csrf_token(c, "/experiments/hypot/campaigns/new")}
    for change in ({"keywords": {"ds": "mc"}}, {"state": "inactive"}, {"data_handling_service": "sam"}):
        r = c.patch(f"/api/experiments/hypot/campaigns/{camp.id}", json=change, headers=h)
        assert r.status_code == 403, change
        assert "production role" in r.get_json()["message"] and "production stages" in r.get_json()["message"]
    page = f"/experiments/hypot/campaigns/{camp.id}/edit"
    r = post(c, page, {"name": "prodcamp", "data_handling_service": "data_dispatcher", "keywords": "ds = mc",
                       "state": "active"})
    assert r.status_code == 403
    session.expire_all()
    assert session.get(Campaign, camp.id).keywords == {"ds": "raw"}
    assert count(session, AuditEvent) == 0
    p = signed_in(app, "prod")
    r = p.patch(f"/api/experiments/hypot/campaigns/{camp.id}", json={"keywords": {"ds": "mc"}},
                headers={"X-CSRFToken": csrf_token(p, "/experiments/hypot/campaigns/new")})
    assert r.status_code == 200 and r.get_json()["keywords"] == {"ds": "mc"}
    ev = session.scalars(select(AuditEvent).where(AuditEvent.action == "campaign.update")).one()
    assert ev.actor == "prod" and ev.before == {"keywords": {"ds": "raw"}} and ev.after == {"keywords": {"ds": "mc"}}
    analysis_only = make_campaign(session, world["hypot"], "anacamp", keywords={"ds": "raw"})
    make_stage(session, analysis_only, "mine", data_dispatcher_dataset_query="files from hypot:%(ds)s")
    r = c.patch(f"/api/experiments/hypot/campaigns/{analysis_only.id}", json={"keywords": {"ds": "mc"}}, headers=h)
    assert r.status_code == 200                     # an analysis campaign stays the analysis members'


# --- role-aware forms, messages, save-time checks (Hardening item 14) -------------------------------------

def test_production_stage_is_read_only_for_an_analysis_member_with_the_reason(app, world, session):
    camp = make_campaign(session, world["hypot"], "prodcamp")
    stage = make_stage(session, camp, "prodstage", role="production")
    mine = make_stage(session, camp, "mine")
    c = signed_in(app, "ana")
    page = body(c.get(f"/experiments/hypot/campaigns/{camp.id}/stages/{stage.id}/edit"))
    assert ("Read only: You need the production role in this experiment to change production stages "
            "(you have analysis).") in page
    assert '<fieldset class="read-only" disabled>' in page
    assert "Save stage" not in page and "Delete stage" not in page and "Add dependency" not in page
    campaign_page = body(c.get(f"/experiments/hypot/campaigns/{camp.id}"))
    assert f'stage_id={stage.id}' not in campaign_page or ">View</a>" in campaign_page
    assert "Campaign settings (read only)" in campaign_page
    settings = body(c.get(f"/experiments/hypot/campaigns/{camp.id}/edit"))
    assert "Read only: You need the production role" in settings and "campaigns that have production stages" \
        in settings and ">Save<" not in settings
    own = body(c.get(f"/experiments/hypot/campaigns/{camp.id}/stages/{mine.id}/edit"))
    assert "Save stage" in own and "Read only" not in own
    assert '<option value="production"' not in own and '<option selected value="analysis"' in own
    new = body(c.get(f"/experiments/hypot/campaigns/{camp.id}/stages/new"))
    assert '<option value="production"' not in new
    p = signed_in(app, "prod")
    page = body(p.get(f"/experiments/hypot/campaigns/{camp.id}/stages/{stage.id}/edit"))
    assert "Read only" not in page and "Save stage" in page and 'value="production"' in page


def test_permission_messages_read_well():
    from poms_dd.errors import PermissionDenied
    from poms_dd.models import Experiment, ExperimentMembership, User
    from poms_dd.permissions import Actor, check
    user = User(id=1, username="ann", active=True)
    user.memberships = [ExperimentMembership(experiment_id=7, role="analysis")]
    for action, words in (("stage.edit", "change production stages"), ("stage.launch", "launch production stages")):
        with pytest.raises(PermissionDenied) as exc:
            check(Actor.person(user), action, 7, "production")
        assert exc.value.message == f"You need the production role in this experiment to {words} (you have analysis)."


def test_messages_name_fields_by_label_and_report_every_stage_problem(app, world, session):
    camp = make_campaign(session, world["hypot"], "c1")
    c = signed_in(app, "prod")
    h = {"X-CSRFToken": csrf_token(c, "/experiments/hypot/campaigns/new")}
    r = c.post(f"/api/experiments/hypot/campaigns/{camp.id}/stages", headers=h,
               json={"name": "s", "data_dispatcher_dataset_query": "files from hypot:raw where", "split_type": "nosuchsplit(3)"})
    assert r.status_code == 400
    doc = r.get_json()
    assert set(doc["field_errors"]) == {"split_type", "data_dispatcher_dataset_query"}     # both at once
    assert "MetaCat cannot parse this query" in doc["field_errors"]["data_dispatcher_dataset_query"][0]
    assert "Data Dispatcher query" in doc["message"] and "Split type" in doc["message"]
    assert "data_dispatcher_dataset_query" not in doc["message"]
    page = post(c, f"/experiments/hypot/campaigns/{camp.id}/stages/new",
                dict(STAGE, data_dispatcher_dataset_query="files from hypot:raw where", split_type="nosuchsplit(3)"))
    html = body(page)
    assert page.status_code == 400 and "MetaCat cannot parse this query" in html and "nosuchsplit" in html
    flashes = html.split('<div class="flashes">')[1].split("<main>")[0]
    assert "Please correct" in flashes and "Data Dispatcher query" in flashes
    assert "data_dispatcher_dataset_query" not in flashes and "split_type" not in flashes
    assert count(session, CampaignStage) == 1                   # only the dune stage of the fixture


def test_favicon_breadcrumbs_confirmations_and_phone_width_tables(app, world, session):
    anonymous = app.test_client()
    icon = anonymous.get("/favicon.ico")
    assert icon.status_code == 200 and icon.mimetype == "image/vnd.microsoft.icon" and icon.data[:4] == b"\0\0\1\0"
    camp = make_campaign(session, world["hypot"], "c1")
    stage = make_stage(session, camp, "s1")
    c = signed_in(app, "prod")
    for path, crumbs in ((f"/experiments/hypot/campaigns/{camp.id}/clone", ("/experiments/hypot\"", f"campaigns/{camp.id}\"")),
                         ("/experiments/hypot/campaigns/import", ("/experiments/hypot\"",))):
        html = body(c.get(path))
        nav = html.split('<nav class="breadcrumbs muted" aria-label="Breadcrumb">')[1].split("</nav>")[0]
        assert all(f'href="{crumb}' in nav or crumb.rstrip('"') in nav for crumb in crumbs), (path, nav)
    edit = body(c.get(f"/experiments/hypot/campaigns/{camp.id}/stages/{stage.id}/edit"))
    assert 'data-confirm="Delete stage s1 of campaign c1? This cannot be undone."' in edit
    assert "/static/confirm.js" in edit and "<script>" not in edit       # no inline script
    assert "window.confirm" in anonymous.get("/static/confirm.js").get_data(as_text=True)
    css = anonymous.get("/static/poms_dd.css").get_data(as_text=True)
    assert "@media (max-width: 700px)" in css and "table.data { display: block; max-width: 100%; overflow-x: auto;" in css
    assert '<div class="table-scroll"><table class="data" id="stages">' in body(c.get(f"/experiments/hypot/campaigns/{camp.id}"))


def onboarded(app, session, tb):
    """boss (administrator) onboards hypot against the testbed ``tb`` through the admin form."""
    make_user(session, "boss", superuser=True)
    c = signed_in(app, "boss")
    fields = {"name": "hypot", "description": "", "active": "y", "verify_tls": "y",
              "metacat_url": tb.mc_url, "metacat_auth_url": tb.mc_url + "/auth", "metacat_gui_url": "",
              "dd_url": tb.dd_url, "dd_auth_url": tb.dd_url + "/auth", "dd_gui_url": "",
              "rucio_host": tb.rucio_url, "rucio_auth_host": "", "rucio_account": "poms",
              "service_role": "hypot/production", "default_namespace": "hypot", "default_worker_timeout": "",
              "default_idle_timeout": ""}
    for svc in ("metacat", "data_dispatcher", "rucio"):
        fields.update({f"{svc}-method": "password", f"{svc}-username": "poms", f"{svc}-secret": "poms"})
    r = post(c, "/admin/experiments/new", fields)
    assert r.status_code == 302, body(r)
    camp = create_dd_campaign(c)
    return c, camp


def test_save_warns_of_a_query_without_files_and_an_unknown_project(app, session, testbed):
    c, cid = onboarded(app, session, testbed)
    new_stage = f"/experiments/hypot/campaigns/{cid}/stages/new"
    r = post(c, new_stage, dict(STAGE, name="nothing", data_dispatcher_dataset_query="files from hypot:nosuchdataset"))
    assert r.status_code == 302                                     # saved: a warning, not a refusal
    shown = body(c.get(r.headers["Location"]))
    assert 'flash-warning' in shown and "The Data Dispatcher query selects no files in MetaCat now" in shown
    r = post(c, new_stage, dict(STAGE, name="raw", data_dispatcher_dataset_query="files from hypot:raw"))
    shown = body(c.get(r.headers["Location"]))
    sizes = re.search(r"The Data Dispatcher query selects 2,000 files \(([\d.]+) (kB|MB|GB|TB)\)", shown)
    assert sizes, shown[shown.find("flashes"):][:800]                 # human units, not a byte count
    h = {"X-CSRFToken": csrf_token(c, new_stage)}
    r = c.post(f"/api/experiments/hypot/campaigns/{cid}/stages", headers=h,
               json={"name": "proj", "data_dispatcher_project_id": 987654})
    assert r.status_code == 201
    assert r.get_json()["warnings"] == ["Data Dispatcher has no project 987654; launches of this stage will fail "
                                        "until it exists."]
    sid = r.get_json()["id"]
    r = c.patch(f"/api/experiments/hypot/campaigns/{cid}/stages/{sid}", headers=h,
                json={"data_dispatcher_project_id": None, "data_dispatcher_dataset_query": "files from hypot:nosuchdataset"})
    assert r.status_code == 200 and "selects no files" in r.get_json()["warnings"][0]
    assert count(session, CampaignStage) == 3


def test_a_service_that_is_down_gives_a_could_not_check_note_not_a_failed_save(app, session, fresh_testbed):
    c, cid = onboarded(app, session, fresh_testbed)
    fresh_testbed.stop()
    new_stage = f"/experiments/hypot/campaigns/{cid}/stages/new"
    r = post(c, new_stage, dict(STAGE, data_dispatcher_dataset_query="files from hypot:raw"))
    assert r.status_code == 302
    shown = body(c.get(r.headers["Location"]))
    assert "Saved, but MetaCat could not check the Data Dispatcher query" in shown
    r = c.post(f"/api/experiments/hypot/campaigns/{cid}/stages", headers={"X-CSRFToken": csrf_token(c, new_stage)},
               json={"name": "proj", "data_dispatcher_project_id": 5})
    assert r.status_code == 201 and r.get_json()["warnings"] == []
    assert "could not check" in r.get_json()["data_checks"][0]["message"]
    assert count(session, CampaignStage) == 2


def test_removing_a_member_asks_first(app, world, session):
    make_user(session, "boss", superuser=True)
    c = signed_in(app, "boss")
    html = body(c.get("/admin/experiments/hypot"))
    assert 'data-confirm="Remove ana from hypot?"' in html and "/static/confirm.js" in html
