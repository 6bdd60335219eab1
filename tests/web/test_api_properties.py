"""Property-based tests of the API's write routes (issue "Hardening", item 10): whatever a script sends —
strings with NUL, control characters, lone surrogates, non-BMP characters or a megabyte of text; huge,
negative, fractional or non-finite numbers; JSON of the wrong type or deeply nested — the answer is never a
5xx, and a refused request (4xx) changes no row.

Every example runs in the test's one rolled-back transaction; rows are counted before and after each request.
"""
from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from factories import make_campaign, make_experiment, make_stage, make_user
from poms_dd.models import (ApiToken, AuditEvent, Campaign, CampaignStage, Experiment, ExperimentMembership,
                            LaunchTemplate, ServiceCredential, StageDependency)
from poms_dd.permissions import Actor
from poms_dd.services.accounts.users import UserService
from poms_dd.services.campaigns.campaign_rules import CAMPAIGN_FIELDS
from poms_dd.services.campaigns.stage_rules import STAGE_FIELDS

API = "/api/experiments/hypot/campaigns"
MODELS = (Campaign, CampaignStage, StageDependency, AuditEvent, ApiToken, Experiment, ExperimentMembership,
          LaunchTemplate, ServiceCredential)
SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large])

hostile_text = st.one_of(
    st.text(max_size=40),                                                   # includes NUL and control characters
    st.text(st.characters(min_codepoint=0x10000, max_codepoint=0x10FFFF), max_size=10),          # non-BMP
    st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=3),  # lone surrogates
    st.sampled_from(["\r\nX-Injected: 1", "files from hypot:raw\x00", "%(nokw)s", "(" * 3000, "x" * 70_000,
                     "files from hypot:raw where " + " or ".join(f"core.runs[any] = {i}" for i in range(400))]),
)
hostile_number = st.one_of(st.integers(), st.sampled_from([10**30, 2**63, 2**31, -1, -(2**63) - 1]),
                           st.floats(allow_nan=True, allow_infinity=True), st.booleans())
scalar = st.one_of(st.none(), hostile_text, hostile_number)
json_value = st.recursive(scalar, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                          st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                          max_leaves=12)


def body_of(fields) -> st.SearchStrategy[dict]:
    """JSON objects mostly of the route's own field names, with hostile values."""
    return st.dictionaries(st.one_of(st.sampled_from(fields), st.text(max_size=10)), json_value, max_size=6)


def counts(session) -> dict[str, int]:
    return {m.__name__: session.scalar(select(func.count()).select_from(m)) for m in MODELS}


@pytest.fixture
def world(session):
    hypot = make_experiment(session, "hypot")
    boss = make_user(session, "boss", superuser=True, roles={hypot: "superuser"})
    make_user(session, "carol")
    camp = make_campaign(session, hypot, "reco2026", keywords={"ds": "hypot:raw"})
    raw, reco = make_stage(session, camp, "raw"), make_stage(session, camp, "reco")
    _, token = UserService(session, Actor.person(boss)).create_token(boss, "props")
    return {"auth": {"Authorization": f"Bearer {token}"}, "campaign": camp.id, "raw": raw.id, "reco": reco.id}


def send(client, session, method: str, path: str, headers: dict, **kw):
    """One request: no 5xx, and a 4xx leaves every row count as it was."""
    before = counts(session)
    response = client.open(path, method=method, headers=headers, **kw)
    assert response.status_code < 500, (method, path, kw, response.get_data(as_text=True)[:1000])
    if response.status_code >= 400:
        assert counts(session) == before, (method, path, kw, response.get_data(as_text=True)[:500])
        assert response.get_json()["message"] if response.is_json else "poms_dd" in response.get_data(as_text=True)
    return response


def send_json(client, session, method, path, headers, body):
    # Python's json writes NaN/Infinity and lone surrogates, as careless clients do.
    return send(client, session, method, path, headers, data=json.dumps(body), content_type="application/json")


@SETTINGS
@given(body=body_of(CAMPAIGN_FIELDS))
def test_campaign_create_and_update(client, session, world, body):
    send_json(client, session, "POST", API, world["auth"], body)
    send_json(client, session, "PATCH", f"{API}/{world['campaign']}", world["auth"], body)


@SETTINGS
@given(body=body_of(STAGE_FIELDS))
def test_stage_create_and_update(client, session, world, body):
    send_json(client, session, "POST", f"{API}/{world['campaign']}/stages", world["auth"], body)
    send_json(client, session, "PATCH", f"{API}/{world['campaign']}/stages/{world['raw']}", world["auth"], body)


@SETTINGS
@given(body=body_of(("provider_stage_id", "file_pattern")), clone=body_of(("name", "replace_from", "replace_to")))
def test_dependencies_and_clone(client, session, world, body, clone):
    send_json(client, session, "POST", f"{API}/{world['campaign']}/stages/{world['reco']}/dependencies",
              world["auth"], body)
    send_json(client, session, "POST", f"{API}/{world['campaign']}/clone", world["auth"], clone)


@SETTINGS
@given(name=hostile_text, service=hostile_text, value=hostile_text, number=hostile_number)
def test_ini_import(client, session, world, name, service, value, number):
    text = (f"[campaign]\nname={name}\ndata_handling_service={service}\ncampaign_keywords={json.dumps({'k': value})}\n"
            f"campaign_stage_list=s\n[campaign_stage s]\ndata_dispatcher_dataset_query={value}\n"
            f"dd_load_limit={number}\ncompletion_pct={number}\n")
    send(client, session, "POST", f"{API}/import", world["auth"], data=text.encode("utf-8", "surrogatepass"),
         content_type="text/plain")


@SETTINGS
@given(name=hostile_text, days=st.one_of(hostile_text, hostile_number.map(str)))
def test_api_tokens(client, session, world, name, days):
    send(client, session, "POST", "/account/tokens", world["auth"],
         data={"name": name.encode("utf-8", "surrogatepass"), "expires_days": days.encode("utf-8", "surrogatepass")})


ONBOARDING = ("name", "description", "metacat_url", "dd_url", "rucio_host", "rucio_account",
              "default_worker_timeout", "default_idle_timeout", "service_timeout", "verify_tls", "rucio_vo",
              "credentials", "active")


@SETTINGS
@given(body=body_of(ONBOARDING), creds=json_value)
def test_onboarding_create_and_update(client, session, world, body, creds):
    send_json(client, session, "POST", "/api/admin/experiments", world["auth"], body)
    send_json(client, session, "PATCH", "/api/admin/experiments/hypot", world["auth"], dict(body, credentials=creds))


@SETTINGS
@given(body=body_of(("username", "role")), username=hostile_text)
def test_members(client, session, world, body, username):
    send_json(client, session, "POST", "/api/admin/experiments/hypot/members", world["auth"], body)
    path = "/api/admin/experiments/hypot/members/" + (username.replace("/", "_") or "x")
    send_json(client, session, "PATCH", path.encode("utf-8", "surrogatepass").decode("utf-8", "replace"),
              world["auth"], body)


def test_deeply_nested_bodies_on_every_write_route(client, session, world):
    deep = "[" * 50_000 + "]" * 50_000
    for method, path in (("POST", API), ("POST", f"{API}/{world['campaign']}/stages"),
                         ("POST", "/api/admin/experiments"), ("POST", "/api/admin/experiments/hypot/members")):
        r = send(client, session, method, path, world["auth"], data=deep, content_type="application/json")
        assert r.status_code == 400 and "nested" in r.get_json()["message"]
