"""Hostile input over HTTP (issue "Hardening", items 8 and 9): every case is a 4xx with a message that says
what and where, nothing is saved, and never a 500.  Driven the way a script or a browser form would."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from factories import csrf_token, login, make_campaign, make_experiment, make_stage, make_user
from poms_dd.models import (ApiToken, AuditEvent, Campaign, CampaignStage, Experiment, ExperimentMembership,
                            StageDependency, User)
from poms_dd.permissions import Actor
from poms_dd.services.accounts.users import UserService

API = "/api/experiments/hypot/campaigns"
MODELS = (Campaign, CampaignStage, StageDependency, AuditEvent, ApiToken, Experiment, ExperimentMembership, User)


def counts(session) -> dict[str, int]:
    return {m.__name__: session.scalar(select(func.count()).select_from(m)) for m in MODELS}


@pytest.fixture
def world(session):
    hypot = make_experiment(session, "hypot")
    boss = make_user(session, "boss", superuser=True, roles={hypot: "superuser"})
    camp = make_campaign(session, hypot, "reco2026", keywords={"ds": "hypot:raw"})
    stage = make_stage(session, camp, "reco")
    _, token = UserService(session, Actor.person(boss)).create_token(boss, "hostile")
    return {"auth": {"Authorization": f"Bearer {token}"}, "campaign": camp, "stage": stage}


def refused(response, *words: str, status: int = 400) -> dict:
    """The response is ``status`` JSON whose message (or field messages) contains every word."""
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    body = response.get_json()
    text = body["message"] + " " + " ".join(" ".join(v) for v in (body.get("field_errors") or {}).values())
    for word in words:
        assert word in text, text
    return body


# --- NUL characters ----------------------------------------------------------------------------------------

def test_nul_in_the_login_form_is_a_400_naming_the_field(client, world):
    token = csrf_token(client, "/login")
    r = client.post("/login", data={"username": "bo\x00ss", "password": "pw", "csrf_token": token})
    assert r.status_code == 400
    assert "username" in r.get_data(as_text=True) and "NUL" in r.get_data(as_text=True)


def test_nul_in_a_token_name_is_a_400_and_no_token(client, session, world):
    assert login(client, "boss").status_code == 302
    before = counts(session)
    r = client.post("/account/tokens", data={"name": "tk\x00", "csrf_token": csrf_token(client, "/account")})
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert "NUL" in page and "name" in page and "poms_dd" in page     # our page, not Werkzeug's
    assert counts(session) == before


@pytest.mark.parametrize("path", [
    "/api/experiments/hy%00pot/campaigns",
    "/api/experiments/hypot/campaigns?page=%00",
    "/api/admin/experiments/hy%00pot",
    "/api/admin/experiments/hypot/members/bo%00ss",
])
def test_nul_in_a_path_or_query_is_a_400(client, world, path):
    refused(client.get(path, headers=world["auth"]), "NUL")


@pytest.mark.parametrize("body, where", [
    ({"name": "c\x00"}, "name"),
    ({"name": "c", "keywords": {"k": "v\x00"}}, "keywords.k"),
    ({"name": "c", "keywords": {"k\x00": "v"}}, "keywords"),
    ({"name": "c", "tags": ["a", "t\x00"]}, "tags[1]"),
])
def test_nul_in_campaign_json_is_a_400_naming_where(client, session, world, body, where):
    before = counts(session)
    refused(client.post(API, json=body, headers=world["auth"]), "NUL", where)
    assert counts(session) == before


def test_nul_in_stage_member_and_credential_fields_is_a_400(client, session, world):
    before = counts(session)
    url = f"{API}/{world['campaign'].id}/stages"
    refused(client.post(url, json={"name": "s", "data_dispatcher_dataset_query": "files from a:b\x00"},
                        headers=world["auth"]), "NUL", "data_dispatcher_dataset_query")
    refused(client.post("/api/admin/experiments/hypot/members", json={"username": "x\x00", "role": "analysis"},
                        headers=world["auth"]), "NUL", "username")
    refused(client.post("/api/admin/experiments", json={"name": "nu", "credentials": {
        "rucio": {"username": "po\x00ms"}}}, headers=world["auth"]), "NUL", "credentials.rucio.username")
    assert counts(session) == before


def test_nul_in_an_ini_upload_is_a_400(client, session, world):
    before = counts(session)
    text = "[campaign]\nname=nul\x00camp\ndata_handling_service=data_dispatcher\n"
    refused(client.post(f"{API}/import", data=text.encode(), content_type="text/plain", headers=world["auth"]),
            "NUL")
    import io
    refused(client.post(f"{API}/import", data={"file": (io.BytesIO(text.encode()), "c.ini")},
                        headers=world["auth"]), "NUL", "file")
    assert counts(session) == before


# --- JSON shape --------------------------------------------------------------------------------------------

def test_deeply_nested_json_is_a_400(client, session, world):
    before = counts(session)
    deep = '{"name": "c", "keywords": ' + "[" * 100_000 + "]" * 100_000 + "}"
    refused(client.post(API, data=deep, content_type="application/json", headers=world["auth"]), "nested")
    assert counts(session) == before


@pytest.mark.parametrize("raw", ['{"name": "c", "dd_load_limit": NaN}', '{"name": "c", "dd_idle_timeout": Infinity}'])
def test_non_finite_numbers_are_a_400(client, session, world, raw):
    before = counts(session)
    refused(client.post(API, data=raw, content_type="application/json", headers=world["auth"]), "finite")
    assert counts(session) == before


@pytest.mark.parametrize("field, value, expected", [
    ("name", ["a"], "text"), ("name", 5, "text"), ("data_handling_service", {"a": 1}, "text"),
    ("state", True, "text"), ("dd_virtual", [1], "true or false"), ("dd_worker_timeout", [5], "whole number"),
    ("keywords", ["a"], "mapping"), ("tags", "x", None), ("tags", [1], "list"),
])
def test_campaign_fields_of_the_wrong_json_type_are_a_400_naming_field_and_type(client, session, world, field,
                                                                                  value, expected):
    before = counts(session)
    body = {"name": "typed", field: value} if field != "name" else {"name": value}
    if expected is None:          # a comma-separated string is the form's spelling of tags: accepted
        assert client.post(API, json=body, headers=world["auth"]).status_code == 201
        return
    got = refused(client.post(API, json=body, headers=world["auth"]), expected)
    assert field in got["field_errors"]
    assert counts(session) == before


@pytest.mark.parametrize("field, value, expected", [
    ("name", ["a"], "text"), ("data_dispatcher_dataset_query", {"q": 1}, "text"), ("split_type", 5, "text"),
    ("role", ["analysis"], "text"), ("hold", {"x": 1}, "true or false"), ("completion_pct", "95%", "whole number"),
    ("output_ancestor_depth", [1], "whole number"), ("cron_schedule", 5, "text"),
])
def test_stage_fields_of_the_wrong_json_type_are_a_400(client, session, world, field, value, expected):
    before = counts(session)
    body = {"name": "typed", "data_dispatcher_dataset_query": "files from a:b", field: value}
    got = refused(client.post(f"{API}/{world['campaign'].id}/stages", json=body, headers=world["auth"]), expected)
    assert field in got["field_errors"]
    assert counts(session) == before


def test_clone_and_dependency_bodies_of_the_wrong_type_are_a_400(client, session, world):
    before = counts(session)
    camp, stage = world["campaign"], world["stage"]
    refused(client.post(f"{API}/{camp.id}/clone", json={"name": ["copy"]}, headers=world["auth"]), "name", "text")
    refused(client.post(f"{API}/{camp.id}/clone", json={"replace_from": {"a": 1}}, headers=world["auth"]), "text")
    url = f"{API}/{camp.id}/stages/{stage.id}/dependencies"
    for bad in (10**30, 2**63, -1, True, [1], 1.5):
        refused(client.post(url, json={"provider_stage_id": bad}, headers=world["auth"]), "provider_stage_id")
    refused(client.post(url, json={"provider_stage_id": stage.id, "file_pattern": ["%"]}, headers=world["auth"]),
            "file_pattern", "text")
    assert counts(session) == before


def test_credentials_that_are_not_objects_are_a_400(client, session, world):
    before = counts(session)
    for creds in ("x", {"rucio": ["x"]}, ["rucio"], {"rucio": "x"}):
        refused(client.post("/api/admin/experiments", json={"name": "nu", "credentials": creds},
                            headers=world["auth"]), "credentials", "object")
        refused(client.patch("/api/admin/experiments/hypot", json={"credentials": creds},
                             headers=world["auth"]), "credentials", "object")
    assert counts(session) == before


# --- numbers out of range ----------------------------------------------------------------------------------

OUT_OF_RANGE = [10**30, 2**63, 1e308, -1, True, False, 2**31]


@pytest.mark.parametrize("field", ["dd_worker_timeout", "dd_idle_timeout", "dd_load_limit"])
@pytest.mark.parametrize("value", OUT_OF_RANGE)
def test_campaign_numbers_out_of_range_get_the_allowed_range(client, session, world, field, value):
    before = counts(session)
    got = refused(client.post(API, json={"name": "n", field: value}, headers=world["auth"]))
    assert field in got["field_errors"] and "2147483647" in got["field_errors"][field][0]
    assert counts(session) == before


@pytest.mark.parametrize("field, highest", [
    ("data_dispatcher_project_id", "9223372036854775807"), ("dd_worker_timeout", "2147483647"),
    ("dd_idle_timeout", "2147483647"), ("dd_load_limit", "2147483647"), ("completion_pct", "100"),
    ("output_ancestor_depth", "2147483647"), ("launch_template_id", "2147483647")])
@pytest.mark.parametrize("value", OUT_OF_RANGE + ["99999999999999999999"])
def test_stage_numbers_out_of_range_get_the_allowed_range(client, session, world, field, highest, value):
    before = counts(session)
    body = {"name": "n", field: value}
    if field != "data_dispatcher_project_id":
        body["data_dispatcher_dataset_query"] = "files from a:b"
    response = client.post(f"{API}/{world['campaign'].id}/stages", json=body, headers=world["auth"])
    if field == "data_dispatcher_project_id" and value == 2**31:      # in range for a BIGINT
        assert response.status_code == 201
        return
    got = refused(response)
    assert field in got["field_errors"] and highest in " ".join(got["field_errors"][field]), got
    assert counts(session) == before


@pytest.mark.parametrize("field", ["default_worker_timeout", "default_idle_timeout", "service_timeout"])
@pytest.mark.parametrize("value", [10**30, 2**31, 1e308, True])
def test_onboarding_numbers_out_of_range_are_a_400(client, session, world, field, value):
    before = counts(session)
    got = refused(client.patch("/api/admin/experiments/hypot", json={field: value}, headers=world["auth"]))
    assert field in got["field_errors"]
    assert counts(session) == before


@pytest.mark.parametrize("path", ["/api/experiments/hypot/audit?page=99999999999999999999",
                                  "/api/experiments/hypot/audit?page=-1", "/api/experiments/hypot/audit?page=x"])
def test_huge_page_numbers_are_a_400(client, world, path):
    refused(client.get(path, headers=world["auth"]), "page", "1000000")


def test_huge_page_number_on_the_audit_page_is_a_400(client, world):
    assert login(client, "boss").status_code == 302
    r = client.get("/experiments/hypot/audit?page=99999999999999999999")
    assert r.status_code == 400 and "page" in r.get_data(as_text=True)


# --- names and headers ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["a\r\nSet-Cookie: x=1", "two\nlines", "tab\there", "bell\x07"])
def test_control_characters_in_names_are_refused(client, session, world, name):
    before = counts(session)
    refused(client.post(API, json={"name": name}, headers=world["auth"]), "control character")
    refused(client.post(f"{API}/{world['campaign'].id}/stages",
                        json={"name": name, "data_dispatcher_dataset_query": "files from a:b"},
                        headers=world["auth"]), "control character")
    assert counts(session) == before


def test_export_of_a_non_latin1_campaign_name_uses_rfc5987(client, session, world):
    camp = client.post(API, json={"name": "Kampagne-ü-数据 \"x\""}, headers=world["auth"]).get_json()
    r = client.get(f"{API}/{camp['id']}/export.ini", headers=world["auth"])
    assert r.status_code == 200
    header = r.headers["Content-Disposition"]
    header.encode("latin-1")
    assert "filename*=UTF-8''Kampagne-%C3%BC-%E6%95%B0%E6%8D%AE%20%22x%22.ini" in header
    assert 'filename="Kampagne-_-__ _x_.ini"' in header


# --- sizes ------------------------------------------------------------------------------------------------------

def test_keyword_values_and_tags_have_limits(client, session, world):
    before = counts(session)
    refused(client.post(API, json={"name": "big", "keywords": {"k": "v" * 1_000_000}}, headers=world["auth"]),
            "keywords", "4096")
    refused(client.post(API, json={"name": "big", "tags": ["t" * 1_000_000]}, headers=world["auth"]), "100")
    refused(client.post(API, json={"name": "big", "tags": [f"t{i}" for i in range(1000)]}, headers=world["auth"]),
            "50")
    refused(client.post(API, json={"name": "big", "keywords": {f"k{i}": "v" for i in range(1000)}},
                        headers=world["auth"]), "100")
    refused(client.post(API, json={"name": "big", "tags": "a,b" * 200_000}, headers=world["auth"]), "tags")
    assert counts(session) == before


def test_a_json_body_over_a_mebibyte_is_refused_before_parsing(client, session, world):
    before = counts(session)
    refused(client.post(API, json={"name": "big", "keywords": {"k": "v" * 2_000_000}}, headers=world["auth"]),
            "bytes")
    assert counts(session) == before


def test_a_huge_mql_through_the_form_is_refused_before_parsing(app, session, world):
    client = app.test_client()
    assert login(client, "boss").status_code == 302
    camp = world["campaign"]
    before = counts(session)
    chain = "files from hypot:raw where " + " or ".join(f"core.runs[any] = {i}" for i in range(3_500))
    assert 65536 < len(chain) < 100_000         # under the form's own limit: the service's limit decides
    path = f"/experiments/hypot/campaigns/{camp.id}/stages/new"
    r = client.post(path, data={"name": "huge", "data_dispatcher_dataset_query": chain, "role": "analysis",
                                "completion_type": "complete", "completion_pct": "95", "auto_recovery": "none",
                                "output_ancestor_depth": "1", "csrf_token": csrf_token(client, path)})
    assert r.status_code == 400 and "65536 characters" in r.get_data(as_text=True)
    assert counts(session) == before


@pytest.mark.parametrize("query, words", [
    ("files from hypot:raw where " + " or ".join(f"core.runs[any] = {i}" for i in range(2000)), ("parts", "2000")),
    ("files from hypot:raw where " + "(" * 5000 + "core.runs[any] = 1" + ")" * 5000, ("nested", "50")),
    ("files from hypot:raw where " + "(" * 60 + "core.runs[any] = 1" + ")" * 60, ("nested", "50")),
])
def test_mql_too_complex_to_parse_is_a_clear_400(client, session, world, query, words):
    before = counts(session)
    got = refused(client.post(f"{API}/{world['campaign'].id}/stages", json={"name": "q",
                  "data_dispatcher_dataset_query": query}, headers=world["auth"]), *words)
    assert "data_dispatcher_dataset_query" in got["field_errors"]
    assert counts(session) == before


def test_keywords_cannot_blow_a_query_past_its_limit(client, session, world):
    camp = client.post(API, json={"name": "kw", "data_handling_service": "data_dispatcher",
                                   "keywords": {"k": "x" * 4000}}, headers=world["auth"]).get_json()
    before = counts(session)
    query = "files from hypot:raw where a in (" + ",".join(["'%(k)s'"] * 100) + ")"
    refused(client.post(f"{API}/{camp['id']}/stages", json={"name": "q", "data_dispatcher_dataset_query": query},
                        headers=world["auth"]), "after substituting", "65536")
    assert counts(session) == before
