"""The OpenAPI description (poms_dd/openapi.yaml): valid OpenAPI 3.1, in step with the app's /api routes, and
its schemas match what the API really returns (driven over HTTP with a real token, as a script would)."""
from __future__ import annotations

import re

import pytest
import yaml
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

import poms_dd
from factories import make_experiment, make_user
from poms_dd.cli.context import cli_actor
from poms_dd.permissions import Actor
from poms_dd.services.accounts.users import UserService
from poms_dd.web.views.api_docs import SPEC_PATH, openapi_document

SPEC = openapi_document()
SPEC_URI = "urn:poms-dd:openapi"
REGISTRY = Registry().with_resource(SPEC_URI, Resource(contents=SPEC, specification=DRAFT202012))
METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}
API = "/api/experiments/hypot/campaigns"


def _deref(node):
    """Follow local ``$ref``s ("#/a/b") to the node they name."""
    while isinstance(node, dict) and "$ref" in node:
        target = SPEC
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _spec_operations():
    for path, item in SPEC["paths"].items():
        for method in sorted(METHODS):
            if method.lower() in item:
                yield path, method, item[method.lower()]


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def _app_routes(app) -> dict[tuple[str, str], str]:
    """{(OpenAPI-style path, METHOD): endpoint} for every /api rule of the app."""
    return {(_openapi_path(rule.rule), method): rule.endpoint
            for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/")
            for method in rule.methods & METHODS}


# --- the document itself ------------------------------------------------------------------------------------

def test_spec_is_valid_openapi_3_1():
    validate_openapi(SPEC)                  # raises naming the offending location
    assert SPEC["openapi"].startswith("3.1")
    scheme = SPEC["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    for name in ("Campaign", "Stage", "Dependency", "Experiment", "Member", "ConnectionCheck", "TokenStatus",
                 "AuditEvent", "Error"):
        assert name in SPEC["components"]["schemas"], name


def test_every_operation_has_a_summary_and_documents_401_unless_public():
    for path, method, op in _spec_operations():
        assert op.get("summary"), f"{method} {path} has no summary"
        if op.get("security", SPEC["security"]) != []:
            assert "401" in op["responses"], f"{method} {path} does not document 401"


# --- parity with the app -----------------------------------------------------------------------------------

def test_every_api_route_is_documented(app):
    documented = {(p, m) for p, m, _ in _spec_operations()}
    missing = sorted(f"{m} {p} (endpoint {e})" for (p, m), e in _app_routes(app).items() if (p, m) not in documented)
    assert not missing, ("These /api routes are not in poms_dd/openapi.yaml; document them (summary, parameters, "
                         "request body, responses):\n  " + "\n  ".join(missing))


def test_every_documented_route_exists(app):
    routes = _app_routes(app)
    stale = sorted(f"{m} {p}" for p, m, _ in _spec_operations() if (p, m) not in routes)
    assert not stale, "poms_dd/openapi.yaml documents routes the app does not have:\n  " + "\n  ".join(stale)


def test_path_parameters_have_the_apps_types(app):
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or not rule.arguments:
            continue
        path = _openapi_path(rule.rule)
        params = {p["name"]: p for p in map(_deref, SPEC["paths"][path].get("parameters", []))}
        for name, converter in rule._converters.items():
            expected = "integer" if type(converter).__name__ == "IntegerConverter" else "string"
            assert name in params, f"{path}: path parameter {name} is not documented"
            assert params[name]["schema"]["type"] == expected, f"{path}: {name} should be {expected}"


# --- real responses against their documented schemas ---------------------------------------------------------

def _schema(path: str, method: str, status: int) -> dict:
    response = _deref(SPEC["paths"][path][method.lower()]["responses"][str(status)])
    return response["content"]["application/json"]["schema"]


def _properties(schema) -> tuple[dict, object]:
    """(properties, additionalProperties) of an object schema, through $ref and allOf."""
    schema = _deref(schema)
    props, extra = dict(schema.get("properties", {})), schema.get("additionalProperties")
    for part in schema.get("allOf", []):
        more, more_extra = _properties(part)
        props.update(more)
        extra = extra if extra is not None else more_extra
    return props, extra


def _assert_documented(instance, schema, where="$"):
    """Every key in the response is a documented property (the schemas are not allowed to lag behind)."""
    schema = _deref(schema)
    if isinstance(instance, list) and "items" in schema:
        for i, item in enumerate(instance):
            _assert_documented(item, schema["items"], f"{where}[{i}]")
    elif isinstance(instance, dict):
        props, extra = _properties(schema)
        for key, value in instance.items():
            if key in props:
                _assert_documented(value, props[key], f"{where}.{key}")
            elif isinstance(extra, dict):
                _assert_documented(value, extra, f"{where}.{key}")
            else:
                assert not props, f"{where}.{key} is in the response but not documented"


def check(response, path: str, method: str, status: int) -> dict:
    """The response has ``status`` and its JSON body matches the documented schema of that status."""
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    schema = {"$ref": SPEC_URI + "#" + _json_pointer(path, method, status)}
    validator = Draft202012Validator(schema, registry=REGISTRY, format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(body)]
    assert not errors, f"{method} {path} {status} does not match its schema:\n" + "\n".join(errors)
    _assert_documented(body, _schema(path, method, status))
    return body


def _json_pointer(path: str, method: str, status: int) -> str:
    response = SPEC["paths"][path][method.lower()]["responses"][str(status)]
    base = response["$ref"][1:] if "$ref" in response else \
        "/paths/" + path.replace("~", "~0").replace("/", "~1") + f"/{method.lower()}/responses/{status}"
    return base + "/content/application~1json/schema"


@pytest.fixture
def hypot(session):
    return make_experiment(session, "hypot")


@pytest.fixture
def auth(session, hypot):
    """Headers with a real API token of paula (production and superuser role in hypot)."""
    paula = make_user(session, "paula", roles={hypot: "superuser"})
    _, token = UserService(session, Actor.person(paula)).create_token(paula, "openapi-test")
    return {"Authorization": f"Bearer {token}"}


def test_whoami_and_errors_match_their_schemas(client, auth):
    body = check(client.get("/api/whoami", headers=auth), "/api/whoami", "GET", 200)
    assert body["authenticated_via"] == "token" and body["experiments"] == [{"name": "hypot", "role": "superuser"}]
    check(client.get("/api/whoami"), "/api/whoami", "GET", 401)
    check(client.get(f"{API}/999999", headers=auth), "/api/experiments/{experiment}/campaigns/{campaign_id}",
          "GET", 404)


def test_campaign_stage_dependency_and_audit_match_their_schemas(client, auth):
    camps, camp_path = "/api/experiments/{experiment}/campaigns", "/api/experiments/{experiment}/campaigns/{campaign_id}"
    stages = camp_path + "/stages"
    stage_path = stages + "/{stage_id}"
    camp = check(client.post(API, json={"name": "reco2026", "data_handling_service": "data_dispatcher",
                                        "keywords": {"ds": "hypot:raw"}, "tags": ["reco"]}, headers=auth),
                 camps, "POST", 201)
    url = f"{API}/{camp['id']}"
    raw = check(client.post(f"{url}/stages", json={"name": "raw", "data_dispatcher_dataset_query": "files from %(ds)s",
                                                   "split_type": "drainingn(10)"}, headers=auth), stages, "POST", 201)
    reco = check(client.post(f"{url}/stages", json={"name": "reco", "role": "production",
                                                    "data_dispatcher_dataset_query": "files from hypot:raw"},
                             headers=auth), stages, "POST", 201)
    dep = check(client.post(f"{url}/stages/{reco['id']}/dependencies", json={"provider_stage_id": raw["id"]},
                            headers=auth), stage_path + "/dependencies", "POST", 201)
    assert dep["provider"] == "raw"
    shown = check(client.get(f"{url}/stages/{raw['id']}", headers=auth), stage_path, "GET", 200)
    assert shown["preview"]["data_dispatcher_dataset_query"]["text"] == "files from hypot:raw"
    check(client.patch(f"{url}/stages/{raw['id']}", json={"hold": True}, headers=auth), stage_path, "PATCH", 200)
    full = check(client.put(url, json={"state": "inactive"}, headers=auth), camp_path, "PUT", 200)
    assert [s["name"] for s in full["stages"]] == ["raw", "reco"] and full["stages"][1]["dependencies"]
    check(client.get(API, headers=auth), camps, "GET", 200)
    check(client.post(f"{url}/clone", json={"name": "reco2027"}, headers=auth), camp_path + "/clone", "POST", 201)
    audit = check(client.get("/api/experiments/hypot/audit", headers=auth), "/api/experiments/{experiment}/audit",
                  "GET", 200)
    assert {"campaign.create", "stage.create", "stage.update"} <= {e["action"] for e in audit["events"]}


def test_invalid_input_is_a_400_with_field_errors(client, auth):
    camps = "/api/experiments/{experiment}/campaigns"
    camp = check(client.post(API, json={"name": "c", "data_handling_service": "data_dispatcher"}, headers=auth),
                 camps, "POST", 201)
    body = check(client.post(f"{API}/{camp['id']}/stages", json={"name": "s", "completion_pct": 250,
                                                                  "data_dispatcher_dataset_query": "fils from a:b"},
                             headers=auth), camps + "/{campaign_id}/stages", "POST", 400)
    assert set(body["field_errors"]) == {"completion_pct", "data_dispatcher_dataset_query"}
    body = check(client.post(API, json={"name": "", "colour": "red"}, headers=auth), camps, "POST", 400)
    assert body["field_errors"] == {"colour": ["Unknown campaign field 'colour'."]}


def test_ini_export_and_import_match_their_schemas(client, auth):
    camp = client.post(API, json={"name": "ini1", "data_handling_service": "data_dispatcher"}, headers=auth).json
    client.post(f"{API}/{camp['id']}/stages", json={"name": "s1", "data_dispatcher_dataset_query": "files from a:b"},
                headers=auth)
    text = client.get(f"{API}/{camp['id']}/export.ini", headers=auth)
    assert text.status_code == 200 and text.mimetype == "text/plain" and "s1" in text.get_data(as_text=True)
    body = check(client.post(f"{API}/import?replace=true", data=text.get_data(), content_type="text/plain",
                             headers=auth), "/api/experiments/{experiment}/campaigns/import", "POST", 200)
    assert body["created"] is False and body["stages"] == ["s1"]


def test_admin_responses_match_their_schemas_and_hold_no_secret(client, session, hypot):
    make_user(session, "boss", superuser=True)
    make_user(session, "carol")
    users = UserService(session, cli_actor())
    auth = {"Authorization": f"Bearer {users.create_token(users.get_user('boss'), 'admin')[1]}"}
    base = "/api/admin/experiments"
    created = client.post(base, json={"name": "dune2", "metacat_url": "http://127.0.0.1:9/app",
                                      "credentials": {"metacat": {"username": "svc", "secret": "hunter2-secret"}}},
                          headers=auth)
    assert "hunter2-secret" not in created.get_data(as_text=True)
    assert check(created, base, "POST", 201)["metacat.secret"] == "set"
    check(client.get(base, headers=auth), base, "GET", 200)
    check(client.patch(f"{base}/dune2", json={"description": "DUNE"}, headers=auth), base + "/{name}", "PATCH", 200)
    statuses = check(client.get(f"{base}/hypot/tokens", headers=auth), base + "/{name}/tokens", "GET", 200)
    assert [s["configured"] for s in statuses] == [False, False, False]
    test = check(client.post(f"{base}/hypot/test-connection", headers=auth), base + "/{name}/test-connection",
                 "POST", 200)
    assert len(test["checks"]) == 3
    members = base + "/{name}/members"
    check(client.post(f"{base}/hypot/members", json={"username": "carol", "role": "analysis"}, headers=auth),
          members, "POST", 201)
    check(client.post(f"{base}/hypot/members", json={"username": "carol", "role": "analysis"}, headers=auth),
          members, "POST", 409)
    assert [m["username"] for m in check(client.get(f"{base}/hypot/members", headers=auth), members, "GET", 200)] \
        == ["carol"]


def test_a_role_that_is_too_low_is_a_documented_403(client, session, hypot):
    ana = make_user(session, "ana", roles={hypot: "analysis"})
    auth = {"Authorization": f"Bearer {UserService(session, Actor.person(ana)).create_token(ana, 't')[1]}"}
    camp = check(client.post(API, json={"name": "c", "data_handling_service": "data_dispatcher"}, headers=auth),
                 "/api/experiments/{experiment}/campaigns", "POST", 201)
    check(client.post(f"{API}/{camp['id']}/stages", json={"name": "p", "role": "production",
                                                         "data_dispatcher_dataset_query": "files from a:b"},
                      headers=auth), "/api/experiments/{experiment}/campaigns/{campaign_id}/stages", "POST", 403)


# --- serving the description -------------------------------------------------------------------------------

def test_openapi_json_is_public_and_carries_the_package_version(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    served = response.get_json()
    assert served["info"]["version"] == poms_dd.__version__
    expected = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    assert served["paths"] == expected["paths"] and served["components"] == expected["components"]
    bad = client.get("/api/openapi.json", headers={"Authorization": "Bearer pdd_not-a-token"})
    assert bad.status_code == 401           # a token sent anyway is still checked


def test_docs_page_lists_every_route_and_how_to_get_a_token(client, session, hypot):
    page = client.get("/api/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    for path, method, op in _spec_operations():
        assert path in html and op["summary"] in html.replace("&#39;", "'").replace("&#34;", '"'), (method, path)
    assert "poms-dd user token" in html and "Authorization: Bearer" in html and "curl" in html
    assert "cdn" not in html.lower() and "swagger" not in html.lower()


def test_nav_links_the_api_page(client, session, hypot, auth):
    page = client.get("/account", headers=auth)
    assert 'href="/api/docs">API</a>' in page.get_data(as_text=True)


def test_external_service_errors_match_the_documented_502(app, client, auth):
    """The shared error handler's 502 body (raised by adapters in routes that call MetaCat, DD or Rucio)."""
    from poms_dd.errors import ExternalServiceError

    @app.get("/api/test-only/metacat-down")
    def metacat_down():
        raise ExternalServiceError("MetaCat", "query files", "connection refused by 127.0.0.1:9; is MetaCat up?")

    response = client.get("/api/test-only/metacat-down", headers=auth)
    assert response.status_code == 502
    schema = {"$ref": SPEC_URI + "#/components/responses/ExternalServiceError/content/application~1json/schema"}
    body = response.get_json()
    Draft202012Validator(schema, registry=REGISTRY).validate(body)
    assert (body["service"], body["operation"]) == ("MetaCat", "query files")
