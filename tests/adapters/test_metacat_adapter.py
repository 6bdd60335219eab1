"""MetaCatAdapter against the testbed through the real metacat client."""
from __future__ import annotations

import types

import pytest
from adapter_helpers import fault, forge_token, make_conn, write_library

from poms_dd.adapters import MetaCatAdapter, namespace_query, parse_mql
from poms_dd.errors import ExternalServiceError, InvalidInput

RUN_1000 = "files from hypot:raw where core.runs[any] = 1000"


@pytest.fixture
def mc(conn, no_faults):
    return MetaCatAdapter(conn)


def test_validate_counts_a_good_query(mc):
    counted = mc.validate(RUN_1000)
    assert counted.count == 100 and counted.total_size > 0


def test_malformed_mql_is_rejected_locally_without_a_request(fresh_testbed, tmp_path):
    mc = MetaCatAdapter(make_conn(fresh_testbed, tmp_path))
    fresh_testbed.stop()                        # nothing can reach the server: the parser alone decides
    with pytest.raises(InvalidInput) as err:
        mc.validate("files from hypot:raw where core.runs[any] = ")
    assert "MQLSyntaxError" in err.value.message and err.value.field_errors["mql"]


def test_validate_refuses_a_dataset_query(mc):
    with pytest.raises(InvalidInput, match="file query"):
        mc.validate("datasets hypot:raw")


def test_query_the_server_rejects_is_reported_as_such(mc):
    with pytest.raises(ExternalServiceError) as err:
        list(mc.iter_files("filter every_nth(2)(files from hypot:raw)"))
    assert err.value.detail.startswith("MetaCat rejected the query:")


def test_iter_files_streams_with_chosen_metadata(mc):
    files = mc.iter_files(RUN_1000, metadata=["core.runs"], with_provenance=True)
    assert isinstance(files, types.GeneratorType)
    got = list(files)
    assert len(got) == 100 and len({f.fid for f in got}) == 100
    assert all(f.metadata == {"core.runs": [1000]} for f in got)
    assert all(f.namespace == "hypot" and f.size for f in got)
    assert any(f.children for f in got)
    bare = next(mc.iter_files(RUN_1000))
    assert bare.metadata == {} and bare.children == ()
    full = next(mc.iter_files(RUN_1000, metadata=True))
    assert "core.runs" in full.metadata and len(full.metadata) > 1


def test_iter_files_of_an_empty_query(mc):
    assert list(mc.iter_files("files from hypot:raw where core.runs[any] = 5")) == []


def test_count_matches_streamed_files(mc):
    files = list(mc.iter_files("files from hypot:mc"))
    counted = mc.count("files from hypot:mc")
    assert counted.count == len(files) == 50
    assert counted.total_size == sum(f.size for f in files)


def test_get_files_by_fid_and_did_in_chunks(mc):
    sample = list(mc.iter_files(RUN_1000))[:10]
    got = list(mc.get_files(fids=[f.fid for f in sample[:5]], dids=[f.did for f in sample[5:]] + ["hypot:nope"],
                            metadata=["core.runs"], chunk_size=3))
    assert sorted(f.fid for f in got) == sorted(f.fid for f in sample)
    assert mc.get_file(did=sample[0].did).fid == sample[0].fid
    assert mc.get_file(fid="no-such-fid") is None
    with pytest.raises(InvalidInput):
        list(mc.get_files(dids=["no_namespace"]))


def test_parents_and_children_are_chunked_and_distinct(mc):
    raw = list(mc.iter_files(RUN_1000, with_provenance=True))
    expected_children = {c for f in raw for c in f.children}
    children = list(mc.children([f.fid for f in raw], chunk_size=7))
    assert {c.fid for c in children} == expected_children and len(children) == len(expected_children)
    parents = list(mc.parents([c.fid for c in children], chunk_size=4))
    assert {p.fid for p in parents} <= {f.fid for f in raw} and parents
    with pytest.raises(InvalidInput, match="file id"):
        list(mc.children(["1) union (files from hypot:raw"]))


def test_datasets_version_and_identity(mc):
    names = {d.did: d for d in mc.list_datasets(namespace_pattern="hypot")}
    assert {"hypot:raw", "hypot:reco", "hypot:mc"} <= set(names)
    assert mc.get_dataset("hypot:raw").file_count == 2000
    assert mc.get_dataset("hypot:missing") is None
    assert mc.version()
    assert mc.login().username == "poms"


def test_namespace_query_parses_and_counts_every_file_of_the_namespace(mc):
    query = namespace_query("hypot")
    parse_mql(query)
    total = sum(mc.count(f"files from hypot:{ds}").count for ds in ("raw", "reco", "mc"))
    assert mc.count(query).count == total
    with pytest.raises(InvalidInput):
        namespace_query('hypot" or "x')


def test_service_down(fresh_testbed, tmp_path):
    mc = MetaCatAdapter(make_conn(fresh_testbed, tmp_path))
    mc.login()
    fresh_testbed.stop()
    with pytest.raises(ExternalServiceError, match=r"MetaCat at http://127\.0\.0\.1:\d+/mc/data/query is not reachable "
                                                   r"\(connection refused\)"):
        mc.count(RUN_1000)


def test_http_500(mc, testbed):
    mc.login()
    fault(testbed, "mc", status=500, count=1)
    with pytest.raises(ExternalServiceError, match="answered HTTP 500"):
        mc.count(RUN_1000)


def test_slow_server_beyond_the_timeout(testbed, tmp_path, no_faults):
    mc = MetaCatAdapter(make_conn(testbed, tmp_path, timeout=0.5))
    mc.login()
    fault(testbed, "mc", delay=2, count=1)
    with pytest.raises(ExternalServiceError, match=r"did not answer within 0.5 s"):
        list(mc.iter_files(RUN_1000))


def test_forced_login_replaces_a_saved_token(testbed, tmp_path, no_faults):
    conn = make_conn(testbed, tmp_path)
    MetaCatAdapter(conn).login()
    forged = forge_token("poms")
    library = conn.state_dir / "metacat" / "token_library"
    write_library(library, testbed.mc_url, forged)
    mc = MetaCatAdapter(conn)
    assert mc.client.Token.encode().decode() == forged          # adopted from the library without a login
    assert mc.login(force=True).username == "poms"
    assert forged not in library.read_text() and testbed.mc_url in library.read_text()


def test_wrong_password(testbed, tmp_path, no_faults):
    mc = MetaCatAdapter(make_conn(testbed, tmp_path, password="wrong"))
    with pytest.raises(ExternalServiceError, match="MetaCat refused the login for user 'poms'"):
        mc.count(RUN_1000)
