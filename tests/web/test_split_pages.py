"""The split pages and API over HTTP (preview, reset, cursor, split types), signed in through the real login form
or with a real API token, against the testbed for the preview: what a person or a script sees, the CSRF and
permission rules, and clear 400s for bad values."""
from __future__ import annotations

import re
from html import unescape

import pytest
from sqlalchemy import func, select
from test_openapi import check

from factories import csrf_token, login, make_campaign, make_experiment, make_stage, make_user
from poms_dd.models import AuditEvent, DataDispatcherSubmission, Experiment, Submission
from poms_dd.permissions import Actor
from poms_dd.services.accounts.users import UserService
from poms_dd.services.factory import Services

RUN = "files from hypot:raw where core.runs[any] = {run}"
API = "/api/experiments/hypot/campaigns/{cid}/stages/{sid}"
PAGE = "/experiments/hypot/campaigns/{cid}/stages/{sid}"
SPEC_STAGE = "/api/experiments/{experiment}/campaigns/{campaign_id}/stages/{stage_id}"


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


def onboard(session, settings, name: str, url: str) -> Experiment:
    """Onboard ``name`` with MetaCat, DD and Rucio at ``url`` (the testbed, or a port where nothing listens)."""
    Services(session, Actor.system_actor("test"), settings=settings).onboarding.create({
        "name": name, "metacat_url": url + "/mc", "metacat_auth_url": url + "/mc/auth", "dd_url": url + "/dd",
        "dd_auth_url": url + "/dd/auth", "rucio_host": url + "/rucio", "rucio_account": "poms",
        "default_namespace": "hypot",
        "credentials": {svc: {"method": "password", "username": "poms", "secret": "poms"}
                        for svc in ("metacat", "data_dispatcher", "rucio")}})
    return session.scalar(select(Experiment).where(Experiment.name == name))


@pytest.fixture
def world(session, settings, testbed):
    hypot = onboard(session, settings, "hypot", testbed.url)
    dune = make_experiment(session, "dune")
    users = [make_user(session, "paula", roles={hypot: "production"}),
             make_user(session, "ana", roles={hypot: "analysis"}),
             make_user(session, "sue", roles={hypot: "superuser"}),
             make_user(session, "bob", roles={dune: "superuser"})]
    camp = make_campaign(session, hypot, "reco2026", keywords={"n": "10"})
    stage = make_stage(session, camp, "raw", role="production", split_type="nfiles(%(n)s)",
                       data_dispatcher_dataset_query=RUN.format(run=1000), owner_id=users[0].id)
    tokens = {u.username: UserService(session, Actor.person(u)).create_token(u, "t")[1] for u in users}
    return {"campaign": camp, "stage": stage, "tokens": tokens, "testbed": testbed,
            "api": API.format(cid=camp.id, sid=stage.id), "page": PAGE.format(cid=camp.id, sid=stage.id)}


def auth(world, user: str = "paula") -> dict[str, str]:
    return {"Authorization": f"Bearer {world['tokens'][user]}"}


def signed_in(app, username: str):
    c = app.test_client()
    assert login(c, username).status_code == 302
    return c


def run_files(tb, run: int) -> list:
    files = [f for f in tb.store.files_by_fid.values()
             if f.namespace == "hypot" and f.fid in tb.store.datasets["hypot:raw"].fid_set and not f.retired
             and run in f.metadata.get("core.runs", [])]
    return sorted(files, key=lambda f: (f.created_timestamp, f.fid))


# --- preview -----------------------------------------------------------------------------------------------

def test_preview_api_answers_the_documented_document(client, world):
    r = client.get(world["api"] + "/preview?slices=2&replicas=false", headers=auth(world))
    doc = check(r, SPEC_STAGE + "/preview", "GET", 200)
    files = run_files(world["testbed"], 1000)
    assert doc["split_type"] == "nfiles(10)" and [s["index"] for s in doc["slices"]] == [0, 1]
    assert [s["total_size"] for s in doc["slices"]] == [sum(f.size for f in files[k:k + 10]) for k in (0, 10)]
    assert doc["slices"][0]["mql"] == f"({RUN.format(run=1000)}) ordered skip 0 limit 10"
    assert doc["exhausted"] is False and doc["repeats"] is False and doc["slices"][0]["replicas"] is None
    assert doc["slices"][1]["last"] is False
    with_replicas = check(client.get(world["api"] + "/preview?slices=1", headers=auth(world)),
                          SPEC_STAGE + "/preview", "GET", 200)
    assert with_replicas["slices"][0]["replicas"]["checked"] == 10


def test_preview_page_shows_the_slices_with_copy_buttons_and_no_inline_script(app, world):
    c = signed_in(app, "paula")
    html = text(c.get(world["page"] + "/preview?slices=12"))
    files = run_files(world["testbed"], 1000)
    assert 'id="preview-slices"' in html and html.count('<tr id="slice-') == 10
    assert "last slice" in html and "No more slices after these" in html
    assert f"({RUN.format(run=1000)}) ordered skip 90 limit 10" in html
    assert 'data-copy="mql-0"' in html and "/static/split_preview.js" in html and "<script>" not in html
    assert "available" in html and "FNAL_ENSTORE" in html
    assert sum(1 for f in files) == 100
    js = c.get("/static/split_preview.js").get_data(as_text=True)
    assert "navigator.clipboard.writeText" in js


@pytest.mark.parametrize("query, words", [
    ("slices=0", "slices must be a whole number from 1 to 50"), ("slices=51", "from 1 to 50"),
    ("slices=abc", "from 1 to 50"), ("slices=" + "9" * 5000, "from 1 to 50"), ("slices=%C2%B2", "from 1 to 50"),
    ("slices=%00", "NUL"), ("kind=%00", "NUL"), ("kind=production", "standard"), ("replicas=maybe", "true or false"),
])
def test_bad_preview_values_are_a_clear_400(client, world, query, words):
    r = client.get(world["api"] + "/preview?" + query, headers=auth(world))
    assert r.status_code == 400 and r.is_json, r.get_data(as_text=True)[:500]
    assert words in r.get_json()["message"] + str(r.get_json().get("field_errors"))
    assert len(r.get_data()) < 2000                         # a huge value is not echoed back in full


def test_preview_permissions(client, world):
    assert client.get(world["api"] + "/preview").status_code == 401
    denied = client.get(world["api"] + "/preview", headers=auth(world, "ana"))
    assert denied.status_code == 403 and "production role" in denied.get_json()["message"]
    hidden = client.get(world["api"] + "/preview", headers=auth(world, "bob"))
    assert hidden.status_code == 404 and "reco2026" not in hidden.get_data(as_text=True)


def test_pages_do_not_call_the_services_and_the_preview_reports_an_outage(app, session, settings, world):
    """An experiment whose services cannot be reached: the campaign and stage pages render from the database;
    the preview (a deliberate action) says what failed instead of a 500."""
    dead = onboard(session, settings, "deadexp", "http://127.0.0.1:9")
    make_user(session, "dora", roles={dead: "production"})
    camp = make_campaign(session, dead, "c")
    stage = make_stage(session, camp, "s", split_type="nfiles(5)", split_cursor={"k": 2, "exhausted_at": "2026-01-02"},
                       cron_schedule="0 * * * *", schedule_disabled_reason="The schedule stopped: all slices launched.")
    c = signed_in(app, "dora")
    page = text(c.get(f"/experiments/deadexp/campaigns/{camp.id}"))
    assert "All slices launched" in page and "The schedule stopped: all slices launched." in page
    assert "Preview</a>" in page and "Reset split</a>" in page
    form = text(c.get(f"/experiments/deadexp/campaigns/{camp.id}/stages/{stage.id}/edit"))
    assert 'data-split-check="split_type"' in form and "/static/split_form.js" in form
    assert "What each split type does" in form and "Edit the cursor" in form
    r = c.get(f"/experiments/deadexp/campaigns/{camp.id}/stages/{stage.id}/preview")
    assert r.status_code == 502 and "The preview failed: MetaCat" in text(r)
    api = c.get(f"/api/experiments/deadexp/campaigns/{camp.id}/stages/{stage.id}/preview")
    assert api.status_code == 502 and api.get_json()["service"] == "MetaCat"


# --- reset -------------------------------------------------------------------------------------------------

def test_reset_page_says_what_is_processed_again_then_resets_with_csrf(app, session, world):
    stage = world["stage"]
    stage.split_cursor = {"k": 3, "exhausted_at": "2026-01-02T00:00:00"}
    stage.schedule_disabled_reason = "stopped"
    for n in (10, 10, 7):
        sub = Submission(stage_id=stage.id, status="created", launch_kind="standard")
        sub.dd_task = DataDispatcherSubmission(stage_id=stage.id, file_count=n, split_slice={"epoch": 0, "test": False})
        session.add(sub)
    session.add(Submission(stage_id=stage.id, status="launch_failed", launch_kind="standard",
                           dd_task=DataDispatcherSubmission(stage_id=stage.id, file_count=50,
                                                            split_slice={"epoch": 0, "test": False})))
    session.flush()
    c = signed_in(app, "paula")
    page = text(c.get(world["page"] + "/split/reset"))
    assert "3 launches took 27 files" in page and "will be processed again" in page
    assert "All slices launched" in page and "stopped" in page
    assert c.post(world["page"] + "/split/reset", data={"kind": "standard"}).status_code == 400      # no CSRF
    session.refresh(stage)
    assert stage.split_cursor["k"] == 3
    r = c.post(world["page"] + "/split/reset", data={"kind": "standard",
                                                       "csrf_token": csrf_token(c, world["page"] + "/split/reset")})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/campaigns/{world['campaign'].id}")
    session.refresh(stage)
    assert stage.split_cursor == {"epoch": 1} and stage.schedule_disabled_reason is None
    assert "0 launch" not in text(c.get(world["page"] + "/split/reset"))
    assert "no launch took files from this cursor" in text(c.get(world["page"] + "/split/reset"))


def test_reset_api(client, session, world):
    stage = world["stage"]
    stage.test_split_cursor = {"k": 4, "epoch": 2}
    stage.split_cursor = {"k": 1}
    session.flush()
    body = check(client.post(world["api"] + "/split/reset", json={"kind": "test"}, headers=auth(world)),
                 SPEC_STAGE + "/split/reset", "POST", 200)
    assert body["test_split_cursor"] == {"epoch": 3} and body["split_cursor"] == {"k": 1}
    body = check(client.post(world["api"] + "/split/reset", headers=auth(world)), SPEC_STAGE + "/split/reset", "POST",
                 200)
    assert body["split_cursor"] == {"epoch": 1} and body["schedule_disabled_reason"] is None
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "stage.split_reset")).all()
    assert [e.after for e in events] == [{"test_split_cursor": {"epoch": 3}}, {"split_cursor": {"epoch": 1}}]
    check(client.post(world["api"] + "/split/reset", headers=auth(world, "ana")), SPEC_STAGE + "/split/reset",
          "POST", 403)
    check(client.post(world["api"] + "/split/reset", json={"kind": ["test"]}, headers=auth(world)),
          SPEC_STAGE + "/split/reset", "POST", 400)
    assert client.post(world["api"] + "/split/reset", data="kind=test", headers=auth(world)).status_code == 400


# --- cursor ------------------------------------------------------------------------------------------------

def test_cursor_page_for_the_owner_and_a_clear_403_for_others(app, session, world):
    owner = signed_in(app, "paula")
    form = text(owner.get(world["page"] + "/split/cursor"))
    keys = re.search(r'<dd id="cursor-keys">(.*?)</dd>', form).group(1)
    assert 'id="cursor-form"' in form and keys == "<code>epoch</code>, <code>k</code>, <code>baseline</code>"
    path = world["page"] + "/split/cursor"
    bad = owner.post(path, data={"cursor": '{"k": -4}', "csrf_token": csrf_token(owner, path)})
    assert bad.status_code == 400 and "k must be a whole number from 0" in text(bad)
    notjson = owner.post(path, data={"cursor": '{"k": NaN}', "csrf_token": csrf_token(owner, path)})
    assert notjson.status_code == 400 and "not valid JSON" in text(notjson)
    assert owner.post(path, data={"cursor": '{"k": 4}'}).status_code == 400                         # no CSRF
    session.refresh(world["stage"])
    assert world["stage"].split_cursor == {}
    ok = owner.post(path, data={"cursor": '{"k": 4}', "csrf_token": csrf_token(owner, path)})
    assert ok.status_code == 302
    session.refresh(world["stage"])
    assert world["stage"].split_cursor == {"k": 4}
    other = signed_in(app, "ana")
    refused = other.get(path)
    assert refused.status_code == 403 and "Only its owner paula or a superuser" in text(refused)


def test_cursor_api(client, session, world):
    path = world["api"] + "/split/cursor"
    body = check(client.put(path, json={"cursor": {"k": 5}}, headers=auth(world, "sue")), SPEC_STAGE + "/split/cursor",
                 "PUT", 200)
    assert body["split_cursor"] == {"k": 5}
    refused = check(client.put(path, json={"cursor": {"k": 1}}, headers=auth(world, "ana")),
                    SPEC_STAGE + "/split/cursor", "PUT", 403)
    assert "Only its owner paula" in refused["message"]
    bad = check(client.put(path, json={"cursor": {"k": "1", "x": 2}}, headers=auth(world)),
                SPEC_STAGE + "/split/cursor", "PUT", 400)
    assert set(bad["field_errors"]) == {"cursor.k", "cursor.x"}
    check(client.put(path, json={"k": 1}, headers=auth(world)), SPEC_STAGE + "/split/cursor", "PUT", 400)
    assert client.put(path, json={"cursor": {"k": 2**80}}, headers=auth(world)).status_code == 400
    session.refresh(world["stage"])
    assert world["stage"].split_cursor == {"k": 5}
    assert session.scalar(select(func.count()).select_from(AuditEvent)
                          .where(AuditEvent.action == "stage.split_cursor")) == 1


# --- split types -------------------------------------------------------------------------------------------

def test_split_type_validation_endpoint(app, client, world):
    url = f"/api/experiments/hypot/split-types/validate?campaign_id={world['campaign'].id}&text="
    ok = client.get(url + "DrainingN(%20%205%20)", headers=auth(world)).get_json()
    assert ok["valid"] is True and ok["text"] == "drainingn(5)" and ok["help"] and ok["refills"] is True
    keyword = client.get(url + "limitn(%25(n)s)", headers=auth(world)).get_json()
    assert keyword == {**keyword, "valid": True, "text": "limitn(10)"}
    unknown = client.get(url + "limitn(%25(nope)s)", headers=auth(world)).get_json()
    assert unknown["valid"] is False and "Unknown campaign keyword %(nope)s" in unknown["message"]
    bad = client.get(url + "nfiles(0)", headers=auth(world)).get_json()
    assert bad["valid"] is False and "nfiles" in bad["message"]
    assert "at most 500" in client.get(url + "x" * 600, headers=auth(world)).get_json()["message"]
    assert client.get(url + "a%00", headers=auth(world)).status_code == 400
    assert client.get(url + "draining").status_code == 401
    assert client.get(url + "draining", headers=auth(world, "bob")).status_code == 404
    session_client = signed_in(app, "ana")                   # the stage form asks with the browser's session
    assert session_client.get(url + "nfiles(3)").get_json()["text"] == "nfiles(3)"


def test_split_types_page_and_api_list_every_type(app, client, world):
    from poms_dd.services.splits import SPLIT_TYPES
    listed = client.get("/api/experiments/hypot/split-types", headers=auth(world)).get_json()["split_types"]
    assert [t["kind"] for t in listed] == list(SPLIT_TYPES)
    html = text(signed_in(app, "ana").get("/experiments/hypot/split-types"))
    for t in SPLIT_TYPES.values():
        assert f'id="split-{t.kind}"' in html and t.syntax in html
    assert SPLIT_TYPES["drainingn"].drift_help in html
    assert re.search(r"<td>an MQL query", html)
