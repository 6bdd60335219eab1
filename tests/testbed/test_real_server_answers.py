"""Answers the real servers give (MetaCat 4.1.4, Data Dispatcher 2.0.3, Rucio 41.5.1, observed through their
clients) that the testbed once answered differently; each test goes through the real client libraries."""
from __future__ import annotations

import html
import re

import pytest
import requests
from metacat.common.exceptions import WebAPIError as DDWebAPIError
from metacat.webapi.webapi import AlreadyExistsError, WebAPIError


def _ids(projects) -> list[int]:
    return sorted(p["project_id"] for p in projects)


def test_search_projects_by_owner_and_state(dd):
    """DD 2.0.3 ``search_projects("owner = 'NAME'")`` / ``("state = 'active'")`` select by the project columns."""
    poms, bob = dd("poms"), dd("bob")
    mine = poms.create_project(["hypot:a.root"], project_attributes={"q": 1})["project_id"]
    bobs = bob.create_project(["hypot:b.root"], project_attributes={"q": 1})["project_id"]
    gone = bob.create_project(["hypot:c.root"], project_attributes={"q": 1})["project_id"]
    bob.cancel_project(gone)
    assert _ids(poms.search_projects("owner = 'bob'", state="all")) == [bobs, gone]
    assert _ids(poms.search_projects("owner = bob and q = 1")) == [bobs]             # state=active by default
    assert _ids(poms.search_projects("state = 'active' and q = 1", state="all")) == [mine, bobs]
    assert _ids(poms.search_projects("state = 'cancelled'", state="all")) == [gone]
    assert _ids(poms.search_projects("owner != 'bob' and q = 1", state="all")) == [mine]
    assert _ids(poms.search_projects("state in ('active', 'cancelled') and q = 1", state="all")) == [mine, bobs, gone]
    assert _ids(poms.search_projects("!(owner = 'poms') and q = 1")) == [bobs]


def _virtual_project(client, n: int = 2) -> int:
    return client.create_project([f"hypot:v{i}.root" for i in range(n)],
                                 project_attributes={"virtual": True})["project_id"]


def test_second_release_of_a_handle_is_403(dd):
    """A handle no longer reserved by the worker (released once already) → 403, as DD 2.0.3 answers."""
    c = dd("poms", worker_id="w1")
    pid = _virtual_project(c)
    h = c.next_file(pid, stagger=0, timeout=5)
    did = f"{h['namespace']}:{h['name']}"
    assert c.file_done(pid, did)["state"] == "done"
    for again in (lambda: c.file_done(pid, did), lambda: c.file_failed(pid, did, retry=False)):
        with pytest.raises(DDWebAPIError) as err:
            again()
        assert err.value.StatusCode == 403
    h2 = c.next_file(pid, stagger=0, timeout=5)
    did2 = f"{h2['namespace']}:{h2['name']}"
    assert c.file_failed(pid, did2, retry=True)["state"] == "initial"
    with pytest.raises(DDWebAPIError) as err:
        c.file_done(pid, did2)                                  # back to initial: no longer reserved by w1
    assert err.value.StatusCode == 403


def test_create_namespace_that_exists_is_409(mc):
    with pytest.raises(AlreadyExistsError):
        mc("poms").create_namespace("hypot")


def test_get_file_has_an_updated_timestamp(mc):
    poms = mc("poms")
    seeded = poms.get_file(did="hypot:hypot_mc_00001.root")
    assert seeded["updated_timestamp"] is not None
    assert seeded["updated_timestamp"] >= seeded["created_timestamp"]
    poms.create_dataset("hypot:fresh")
    poms.declare_files("hypot:fresh", [{"namespace": "hypot", "name": "fresh.root", "size": 5}])
    declared = poms.get_file(did="hypot:fresh.root")
    assert declared["updated_timestamp"] is not None
    assert declared["updated_timestamp"] == pytest.approx(declared["created_timestamp"])


def test_rucio_get_did_of_a_dataset_has_null_bytes_and_length(rucio):
    c = rucio()
    raw = c.get_did("hypot", "raw")
    assert raw["type"] == "DATASET" and raw["bytes"] is None and raw["length"] is None
    c.add_scope("poms", "user.poms")
    c.add_replicas("FNAL_DCACHE_DISK", [{"scope": "user.poms", "name": "f.root", "bytes": 7, "adler32": "0000000a"}])
    c.add_dataset("user.poms", "ds")
    c.attach_dids("user.poms", "ds", [{"scope": "user.poms", "name": "f.root"}])
    ds = c.get_did("user.poms", "ds")
    assert (ds["bytes"], ds["length"]) == (None, None)
    assert c.get_did("user.poms", "f.root")["bytes"] == 7                 # a file DID keeps its size


def _assert_application_error(status: int, content_type: str, body: str, exception_text: str) -> None:
    """webpie's page: 500, text/html, <h2>Application error</h2>, the exception in <h3>, a traceback in <pre>."""
    assert status == 500
    assert content_type.startswith("text/html")
    assert "<h2>Application error</h2>" in body
    h3 = re.search(r"<h3>(.*?)</h3>", body, re.S)
    assert h3 and exception_text in html.unescape(h3.group(1)), body[:500]
    pre = re.search(r"<pre>(.*?)</pre>", body, re.S)
    assert pre, body[:500]
    trace = html.unescape(pre.group(1))
    assert trace.startswith("Traceback (most recent call last):")
    assert re.search(r'File "/usr/lib/python3/site-packages/(metacat|data_dispatcher|webpie)/', trace), trace
    assert trace.rstrip().splitlines()[-1] == html.unescape(h3.group(1))       # the traceback ends with it


def test_dd_unexpected_errors_are_webpie_application_error_pages(dd, hook):
    c = dd("poms", worker_id="w1")
    pid = _virtual_project(c)
    with pytest.raises(DDWebAPIError) as err:
        c.file_done(pid, "hypot:not_in_this_project.root")        # 2.0.3 dereferences None: an uncaught error
    resp = requests.get(f"{c.ServerURL}/release", params={"handle_id": f"{pid}:hypot:nope", "worker_id": "w1"},
                        headers={"X-Authentication-Token": c.Token.encode()}, timeout=10)
    _assert_application_error(resp.status_code, resp.headers["Content-Type"], resp.text, "AttributeError")
    assert err.value.StatusCode == 500 and "Application error" in err.value.Body
    hook("fault", service="dd", status=500, count=1)
    resp = requests.get(f"{c.ServerURL}/rses", timeout=10)
    _assert_application_error(resp.status_code, resp.headers["Content-Type"], resp.text, "injected fault: HTTP 500")


def test_metacat_unexpected_errors_are_webpie_application_error_pages(mc, tb, hook):
    client = mc()
    with pytest.raises(WebAPIError) as err:
        list(client.query("files from hypot:raw where created_timestamp > 5"))   # PostgreSQL rejects it: 500
    assert err.value.StatusCode == 500 and "<h2>Application error</h2>" in err.value.Body
    resp = requests.post(f"{tb.mc_url}/data/query", data="files from hypot:raw where created_timestamp > 5",
                         timeout=10)
    _assert_application_error(resp.status_code, resp.headers["Content-Type"], resp.text, "psycopg2")
    hook("fault", service="mc", status=500, count=1, message="OperationalError: server closed the connection")
    resp = requests.get(f"{tb.mc_url}/data/version", timeout=10)
    _assert_application_error(resp.status_code, resp.headers["Content-Type"], resp.text,
                              "OperationalError: server closed the connection")
    assert requests.get(f"{tb.mc_url}/data/version", timeout=10).text == "4.1.4"


def test_rucio_keeps_json_exception_class_errors(rucio, tb, hook):
    from rucio.common.exception import DataIdentifierNotFound
    with pytest.raises(DataIdentifierNotFound):
        rucio().get_did("hypot", "missing")
    hook("fault", service="rucio", status=500, count=1)
    resp = requests.get(f"{tb.rucio_url}/ping", timeout=10)
    assert resp.status_code == 500 and "Application error" not in resp.text
