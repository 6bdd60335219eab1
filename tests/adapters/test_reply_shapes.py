"""Client results of the wrong shape become NotFound or a clear ExternalServiceError, never a TypeError or
AttributeError from inside our code: a real client over HTTP against a fake *service* that answers ``null``,
plain text or nothing where JSON is expected (what a misconfigured proxy or URL produces)."""
from __future__ import annotations

import pytest

from poms_dd.adapters import DataDispatcherAdapter, MetaCatAdapter, RucioAdapter
from poms_dd.errors import ExternalServiceError

from adapter_helpers import forge_token, make_conn
from fake_server import FakeServer

CANNOT_READ = "sent an answer that cannot be read"


def _serve(answers: dict[str, tuple[int, str, str]]) -> FakeServer:
    """Logins succeed (MetaCat/DD JWT header, Rucio token header); other paths answer ``answers[path]``."""
    def route(method, path, query):
        if path.endswith("/auth/auth"):
            return 200, "text/plain", "", {"X-Authentication-Token": forge_token("poms")}
        if path.endswith("/auth/userpass"):
            return 200, "application/octet-stream", "", {"X-Rucio-Auth-Token": "poms-rucio-token-123456"}
        status, ctype, body = answers.get(path, (404, "text/plain", "not found"))
        return status, ctype, body, {}
    return FakeServer(route)


def _conn(server: FakeServer, tmp_path):
    tb = type("TB", (), {"mc_url": server.url + "/mc", "dd_url": server.url + "/dd",
                         "rucio_url": server.url + "/rucio"})()
    return make_conn(tb, tmp_path)


CASES = {
    "metacat get_files answers null": (
        {"/mc/data/files": (200, "application/json", "null")},
        lambda conn: list(MetaCatAdapter(conn).get_files(fids=["1"]))),
    "metacat get_files answers a list of non-objects": (
        {"/mc/data/files": (200, "application/json", "[1, 2]")},
        lambda conn: list(MetaCatAdapter(conn).get_files(fids=["1"]))),
    "metacat list_datasets answers null": (
        {"/mc/data/datasets": (200, "application/json", "null")},
        lambda conn: MetaCatAdapter(conn).list_datasets()),
    "metacat count answers null": (
        {"/mc/data/query": (200, "application/json", "null")},
        lambda conn: MetaCatAdapter(conn).count("files from hypot:raw")),
    "dd list_rses answers plain text": (
        {"/dd/rses": (200, "text/plain", "FNAL_DCACHE_DISK")},
        lambda conn: DataDispatcherAdapter(conn).list_rses()),
    "dd create_project is answered 404 (post() returns None)": (
        {},
        lambda conn: DataDispatcherAdapter(conn).create_project(["hypot:a.root"], attributes={"poms_task_id": 1})),
    "dd search_projects answers plain text": (
        {"/dd/search_projects": (200, "text/plain", "[]")},
        lambda conn: DataDispatcherAdapter(conn).search_projects("campaign = 1")),
    "rucio whoami answers an HTML page": (
        {"/rucio/accounts/whoami": (200, "text/html", "<html><body>proxy login</body></html>")},
        lambda conn: RucioAdapter(conn).whoami()),
    "rucio whoami answers nothing": (
        {"/rucio/accounts/whoami": (200, "text/plain", "")},
        lambda conn: RucioAdapter(conn).whoami()),
    "rucio ping answers null": (
        {"/rucio/ping": (200, "application/json", "null")},
        lambda conn: RucioAdapter(conn).ping()),
    "rucio list_replicas answers plain text": (
        {"/rucio/rses/": (200, "application/x-json-stream", '{"rse": "DISK", "rse_type": "DISK"}\n'),
         "/rucio/replicas/list": (200, "text/plain", "DISK")},
        lambda conn: list(RucioAdapter(conn).replicas(["hypot:a.root"]))),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_reply_of_the_wrong_shape_is_a_clear_service_error(tmp_path, case):
    answers, call = CASES[case]
    with _serve(answers) as server:
        with pytest.raises(ExternalServiceError, match=CANNOT_READ) as err:
            call(_conn(server, tmp_path))
    assert "try again, and tell the service operators if it persists" in err.value.detail
