"""The testbed's MetaCat data server driven by the real ``metacat.webapi.MetaCatClient`` over HTTP.
Expected answers are computed from the testbed's store in plain Python."""
from __future__ import annotations

import pytest
import requests
from metacat.webapi import MetaCatClient
from metacat.webapi.webapi import (AlreadyExistsError, BadRequestError, InvalidMetadataError,
                                   PermissionDeniedError, WebAPIError)


def client(tb, tmp_path, user: str | None = None) -> MetaCatClient:
    c = MetaCatClient(server_url=tb.mc_url, token_library=str(tmp_path / f"mc_tokens_{user}"))
    if user:
        c.login_password(user, user)
    return c


def live(tb, ds: str) -> list:
    s = tb.store
    return [s.files_by_fid[fid] for fid in s.datasets[ds].fids if not s.files_by_fid[fid].retired]


def runs(f) -> list:
    r = f.metadata.get("core.runs")
    return r if isinstance(r, list) else [r]


RAW = "files from hypot:raw"
CASES = [
    (RAW, lambda tb: live(tb, "hypot:raw")),
    ("files from hypot:raw, hypot:mc", lambda tb: live(tb, "hypot:raw") + live(tb, "hypot:mc")),
    ("files from matching hypot:r*", lambda tb: live(tb, "hypot:raw") + live(tb, "hypot:reco")),
    ("files from hypot:nothing_here", lambda tb: []),
    (f"({RAW}) where core.runs[any] = 1005", lambda tb: [f for f in live(tb, "hypot:raw") if 1005 in runs(f)]),
    (f"{RAW} where core.runs = 1005", lambda tb: [f for f in live(tb, "hypot:raw") if 1005 in runs(f)]),
    (f"{RAW} where core.runs[any] in 1002:1003",
     lambda tb: [f for f in live(tb, "hypot:raw") if {1002, 1003} & set(runs(f))]),
    (f"{RAW} where core.run_type = cosmics and size in 1000000000:2000000000",
     lambda tb: [f for f in live(tb, "hypot:raw")
                 if f.metadata["core.run_type"] == "cosmics" and 10**9 <= f.size <= 2 * 10**9]),
    (f"({RAW}) where created_timestamp >= '2026-01-01 00:00:00' and created_timestamp < '2026-01-02 00:00:00'",
     lambda tb: [f for f in live(tb, "hypot:raw") if 1767225600 <= f.created_timestamp < 1767312000]),
    (f"({RAW}) - ({RAW} where core.runs[any] in (1000, 1001))",
     lambda tb: [f for f in live(tb, "hypot:raw") if not {1000, 1001} & set(runs(f))]),
    ("union(files from hypot:mc, fids 1, 2)",
     lambda tb: live(tb, "hypot:mc") + [tb.store.files_by_fid["1"], tb.store.files_by_fid["2"]]),
    ("children(fids 1,2,3) where name ~ 'reco'",
     lambda tb: [tb.store.files_by_fid[c] for fid in "123" for c in tb.store.files_by_fid[fid].children]),
    ("parents(files from hypot:reco where core.runs[any] = 1001)",
     lambda tb: [tb.store.files_by_fid[p] for f in live(tb, "hypot:reco") if 1001 in runs(f) for p in f.parents]),
    ("files selected by hypot:run1000", lambda tb: [f for f in live(tb, "hypot:raw") if 1000 in runs(f)]),
]


@pytest.mark.parametrize("text,expected", CASES, ids=[c[0] for c in CASES])
def test_streamed_query_matches_the_store(testbed, tmp_path, text, expected):
    got = list(client(testbed, tmp_path).query(text))
    assert sorted(f["fid"] for f in got) == sorted(f.fid for f in expected(testbed))


def test_count_summary_and_keys(testbed, tmp_path):
    mc = client(testbed, tmp_path)
    files = [f for f in live(testbed, "hypot:raw") if 1007 in runs(f)]
    (count,) = mc.query(f"{RAW} where core.runs[any] = 1007", summary="count")
    assert count == {"count": len(files), "total_size": sum(f.size for f in files)}
    (keys,) = mc.query("files from hypot:mc", summary="keys")
    assert keys == sorted({k for f in live(testbed, "hypot:mc") for k in f.metadata})


def test_batch_paging_gives_the_streamed_set_in_order(testbed, tmp_path):
    mc = client(testbed, tmp_path)
    paged = [f["fid"] for f in mc.query(f"{RAW} where core.runs[any] in (1003, 1004)", batch_size=37)]
    streamed = [f["fid"] for f in mc.query(f"({RAW} where core.runs[any] in (1003, 1004)) ordered")]
    assert paged == streamed and len(paged) > 37
    expected = sorted((f for f in live(testbed, "hypot:raw") if {1003, 1004} & set(runs(f))),
                      key=lambda f: (f.created_timestamp, f.fid))
    assert streamed == [f.fid for f in expected]


def test_stride_slices_partition_the_ordered_query(testbed, tmp_path):
    mc = client(testbed, tmp_path)
    ordered = [f["fid"] for f in mc.query(f"({RAW}) ordered")]
    for k in range(3):
        got = [f["fid"] for f in mc.query(f"filter stride(3, {k})(({RAW}) ordered)")]
        assert got == ordered[k::3]


def test_file_json_shape_with_metadata_and_provenance(testbed, tmp_path):
    (rec,) = client(testbed, tmp_path).query("fids 1", with_metadata=True, with_provenance=True)
    f = testbed.store.files_by_fid["1"]
    assert rec["fid"] == "1" and rec["name"] == f.name and rec["size"] == f.size
    assert rec["metadata"] == f.metadata and rec["checksums"] == f.checksums
    assert rec["children"] == [{"fid": c} for c in f.children] and rec["parents"] == []
    assert set(rec) >= {"retired", "retired_by", "updated_by", "retired_timestamp", "updated_timestamp",
                        "created_timestamp", "creator"}
    (plain,) = client(testbed, tmp_path).query("fids 1")
    assert "metadata" not in plain and "parents" not in plain


def test_wire_format_of_query_answers(testbed):
    url = testbed.mc_url + "/data/query?with_meta=no&with_provenance=no&trimquery=fids 1, 2"
    resp = requests.post(url, data="fids 1, 2", headers={"Content-Type": "text/json"}, timeout=30)
    assert resp.headers["Content-Type"] == "application/json-seq"
    lines = resp.text.split("\n")
    assert lines[-1] == "" and all(line.startswith("\x1e{") for line in lines[:-1]) and len(lines) == 3
    empty = requests.post(url, data="", timeout=30)
    assert empty.headers["Content-Type"] == "application/json" and empty.json() == []
    count = requests.post(testbed.mc_url + "/data/query?summary=count", data="fids 1", timeout=30)
    assert count.headers["Content-Type"] == "application/json"


@pytest.mark.parametrize("text,error,needle", [
    ("files from hypot:raw where (", BadRequestError, "MQLSyntaxError"),
    ("files selected by hypot:nope", BadRequestError, "not found"),
    ("filter stride(3)(files from hypot:raw)", BadRequestError, "stride"),
    ("filter limit(3)(files from hypot:raw)", BadRequestError, "limit"),
    ("files from hypot:raw where core.run_type ~* 'COS'", WebAPIError, "jsonpath"),
    ("files from hypot:raw where created_timestamp > datetime('2026-01-01')", WebAPIError, "timestamp"),
])
def test_query_errors(testbed, tmp_path, text, error, needle):
    with pytest.raises(error) as info:
        list(client(testbed, tmp_path).query(text))
    assert needle in str(info.value) and type(info.value) is error


def test_namespace_parameter_does_not_apply_to_files_from_raw(testbed, tmp_path):
    with pytest.raises(BadRequestError):
        list(client(testbed, tmp_path).query("files from raw", namespace="hypot"))


def test_file_dataset_and_namespace_lookups(testbed, tmp_path):
    mc = client(testbed, tmp_path)
    s = testbed.store
    f = s.files_by_fid["2"]
    assert mc.get_file(name=f.name, namespace="hypot")["fid"] == "2"
    got = mc.get_file(fid="2", with_datasets=True)
    assert got["datasets"] == [{"namespace": d.namespace, "name": d.name} for d in s.datasets.values()
                               if "2" in d.fid_set] and got["metadata"] == f.metadata and got["datasets"]
    assert mc.get_file(fid="no-such-fid") is None
    assert sorted(x["fid"] for x in mc.get_files([{"fid": "1"}, {"did": f"hypot:{f.name}"}, {"fid": "zz"}])) \
        == ["1", "2"]
    ds = mc.get_dataset("hypot:raw")
    assert ds["file_count"] == len(s.datasets["hypot:raw"].fids) and ds["namespace"] == "hypot"
    assert mc.get_dataset("hypot:nope") is None
    assert {d["name"] for d in mc.list_datasets()} == {d.name for d in s.datasets.values()}
    assert [x["fid"] for x in mc.get_dataset_files("hypot:mc")] == [x.fid for x in live(testbed, "hypot:mc")]
    assert mc.get_dataset_counts("hypot:raw")["file_count"] == len(s.datasets["hypot:raw"].fids)
    assert mc.get_namespace("hypot")["owner_user"] == s.namespaces["hypot"].owner_user
    assert mc.get_namespace("nope") is None
    assert [n["name"] for n in mc.list_namespaces()] == sorted(s.namespaces)
    assert mc.get_named_query("hypot", "run1000")["source"] == s.named_queries["hypot:run1000"].source
    assert mc.get_named_query("hypot", "nope") is None
    assert [q["name"] for q in mc.search_named_queries("queries matching hypot:run*")] == ["run1000"]
    assert list(mc.query("datasets matching hypot:r*")) and \
        {d["name"] for d in mc.query("datasets matching hypot:r*")} == {"raw", "reco"}


def test_writes_without_a_token_are_refused(testbed, tmp_path):
    mc = client(testbed, tmp_path)
    with pytest.raises(WebAPIError) as info:
        mc.declare_files("hypot:raw", [{"namespace": "hypot", "name": "x.root", "size": 1, "metadata": {}}])
    assert mc.LastStatusCode == 401
    with pytest.raises(WebAPIError):
        mc.create_dataset("hypot:new")
    assert mc.LastStatusCode == 401
    with pytest.raises(PermissionDeniedError):
        mc.add_files("hypot:mc", file_list=[{"fid": "1"}])
    with pytest.raises(PermissionDeniedError):
        mc.retire_file(fid="1")
    with pytest.raises(WebAPIError):
        list(mc.query("fids 1", save_as="hypot:saved"))
    assert "hypot:new" not in testbed.store.datasets and "hypot:saved" not in testbed.store.datasets


def test_declare_and_manage_files_with_a_token(fresh_testbed, tmp_path):
    tb, s = fresh_testbed, fresh_testbed.store
    mc = client(tb, tmp_path, "poms")
    assert mc.create_dataset("hypot:out", description="outputs")["name"] == "out"
    with pytest.raises(AlreadyExistsError):
        mc.create_dataset("hypot:out")
    with pytest.raises(WebAPIError):
        mc.create_dataset("nons:out")
    assert mc.LastStatusCode == 404
    raw1, raw2 = s.files_by_fid["1"], s.files_by_fid["2"]
    items = [
        {"namespace": "hypot", "name": "out_1.root", "size": 10, "metadata": {"core.runs": [1000]},
         "checksums": {"adler32": "0000000a"}, "parents": [{"fid": "1"}]},
        {"namespace": "hypot", "name": "out_2.root", "size": 20, "metadata": {"core.runs": [1000]},
         "parents": [{"did": raw2.did}, {"namespace": "hypot", "name": raw1.name}]},
    ]
    with pytest.raises(WebAPIError):    # 202 as upstream; the client treats every non-200 2xx as an error
        mc.declare_files("hypot:out", items, dry_run=True)
    assert mc.LastStatusCode == 202 and [d["name"] for d in mc.LastResponse.json()] == ["out_1.root", "out_2.root"]
    assert "hypot:out_1.root" not in s.files_by_did
    created = mc.declare_files("hypot:out", items)
    assert [c["name"] for c in created] == ["out_1.root", "out_2.root"] and created[0]["metadata"]["core.runs"]
    out2 = s.files_by_did["hypot:out_2.root"]
    assert sorted(out2.parents) == ["1", "2"] and out2.fid in raw1.children
    assert sorted(f["name"] for f in mc.query("files from hypot:out")) == ["out_1.root", "out_2.root"]
    with pytest.raises(AlreadyExistsError) as info:
        mc.declare_files("hypot:out", items[:1])
    assert "The following files already exist:\n  hypot:out_1.root" in str(info.value)
    with pytest.raises(InvalidMetadataError):
        mc.declare_files("hypot:out", [{"namespace": "hypot", "name": "bad.root", "size": 1, "metadata": {},
                                        "checksums": {"adler32": "xyz"}}])
    with pytest.raises(BadRequestError):
        mc.declare_files("hypot:missing_ds", [{"namespace": "hypot", "name": "z.root", "size": 1, "metadata": {}}])
    assert mc.add_files("hypot:out", file_list=[{"fid": "1"}, {"fid": "3"}]) == 2
    assert mc.add_files("hypot:out", query="fids 1, 5") == 1
    assert len(s.datasets["hypot:out"].fids) == 5
    mc.retire_file(fid="3")
    assert "3" not in {f["fid"] for f in mc.query("files from hypot:out")}
    assert "3" in {f["fid"] for f in mc.query("files from hypot:out", include_retired_files=True)}
    assert len(list(mc.query("fids 1, 2", save_as="hypot:saved"))) == 2
    assert sorted(s.datasets["hypot:saved"].fids) == ["1", "2"]
    list(mc.query("fids 7", add_to="hypot:saved"))
    assert "7" in s.datasets["hypot:saved"].fid_set


def test_namespace_and_named_query_creation(fresh_testbed, tmp_path):
    mc = client(fresh_testbed, tmp_path, "alice")
    assert mc.create_namespace("alice_ns", description="mine")["owner_user"] == "alice"
    mc.create_dataset("alice_ns:d")
    with pytest.raises(PermissionDeniedError):          # alice does not own hypot
        mc.create_dataset("hypot:alice_d")
    mc.create_named_query("alice_ns", "first", "fids 1, 2")
    with pytest.raises(AlreadyExistsError):
        mc.create_named_query("alice_ns", "first", "fids 3")
    assert sorted(f["fid"] for f in mc.query("files selected by alice_ns:first")) == ["1", "2"]
