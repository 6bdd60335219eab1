"""The testbed's MQL evaluation (poms_dd.testbed.mql) on a store filled here, against expectations computed
independently from the store in plain Python, plus the parser wrapper the adapters use."""
from __future__ import annotations

import sys
import zlib
from datetime import datetime, timezone

import pytest

from poms_dd.testbed.mql import QueryFailure, evaluate
from poms_dd.mql import STUB_DIR, parse
from poms_dd.testbed.store import Dataset, File, NamedQuery, Namespace, Store

BASE = datetime(2026, 1, 1, tzinfo=timezone.utc).timestamp()


def _store() -> Store:
    s = Store()
    s.namespaces["t"] = Namespace("t", owner_user="alice")
    for name in ("raw", "reco", "mc", "raw_old", "top"):
        s.datasets[f"t:{name}"] = Dataset("t", name)
    s.datasets["t:top"].subsets = ["t:mc"]
    s.datasets["t:mc"].subsets = ["t:raw_old"]
    for i in range(40):
        runs = 100 + i // 10
        meta = {"core.runs": runs if i % 13 == 0 else [runs], "x.index": i, "core.data_tier": "raw",
                "x.label": "even" if i % 2 == 0 else "odd"}
        if i % 9 == 0:
            meta["x.flag"] = True
        f = File(s.new_fid(), "t", f"raw_{i:03d}.root", 1000 + 10 * i, BASE + (i % 7) * 3600,
                 creator="alice" if i % 3 else "bob", metadata=meta)
        f.retired = i == 5
        s.add_file(f, ["t:raw"])
        if i % 2 == 0:
            s.add_file(File(s.new_fid(), "t", f"reco_{i:03d}.root", 500 + i, BASE + 86400 + i,
                            metadata={"core.runs": [runs], "core.data_tier": "reco"}, parents=[f.fid]), ["t:reco"])
    for i in range(5):
        s.add_file(File(s.new_fid(), "t", f"mc_{i}.root", 7, BASE - 3600 * i, metadata={"core.runs": [1]}),
                   ["t:mc"])
    s.add_file(File(s.new_fid(), "t", "old_0.root", 9, BASE - 86400, metadata={}), ["t:raw_old"])
    s.named_queries["t:run101"] = NamedQuery("t", "run101", "files from t:raw where core.runs[any] = 101")
    return s


@pytest.fixture(scope="module")
def store():
    return _store()


def files_of(s: Store, ds: str, retired: bool = False) -> list[File]:
    out = [s.files_by_fid[fid] for fid in s.datasets[ds].fids]
    return out if retired else [f for f in out if not f.retired]


def runs(f: File) -> list:
    r = f.metadata.get("core.runs")
    return r if isinstance(r, list) else [r]


def fids(s: Store, text: str, **kw) -> list[str]:
    return [f.fid for f in evaluate(s, text, **kw).items]


def fail(s: Store, text: str, **kw) -> QueryFailure:
    with pytest.raises(QueryFailure) as info:
        evaluate(s, text, **kw)
    return info.value


def ordered(files: list[File]) -> list[File]:
    return sorted(files, key=lambda f: (f.created_timestamp, f.fid))


RAW = "files from t:raw"
SET_CASES = [
    (RAW, lambda s: files_of(s, "t:raw")),
    ("files from t:raw, t:mc", lambda s: files_of(s, "t:raw") + files_of(s, "t:mc")),
    ("files from t:missing", lambda s: []),
    ("files from matching t:raw*", lambda s: files_of(s, "t:raw") + files_of(s, "t:raw_old")),
    ("files from matching t:ra?", lambda s: files_of(s, "t:raw")),
    ('files from matching regexp t:"^re"', lambda s: files_of(s, "t:reco")),
    ("files from t:top with subsets", lambda s: files_of(s, "t:top") + files_of(s, "t:mc")),
    ("files from t:top with subsets recursively",
     lambda s: files_of(s, "t:mc") + files_of(s, "t:raw_old")),
    ("files t:raw_003.root, t:raw_005.root", lambda s: [s.files_by_did["t:raw_003.root"],
                                                       s.files_by_did["t:raw_005.root"]]),
    ("fids 1, 3, 999", lambda s: [s.files_by_fid["1"], s.files_by_fid["3"]]),
    (f"{RAW} where core.runs[any] = 101", lambda s: [f for f in files_of(s, "t:raw") if 101 in runs(f)]),
    (f"{RAW} where core.runs = 101", lambda s: [f for f in files_of(s, "t:raw") if 101 in runs(f)]),
    (f"{RAW} where core.runs in (100, 103)",
     lambda s: [f for f in files_of(s, "t:raw") if {100, 103} & set(runs(f))]),
    (f"{RAW} where core.runs[any] in 101:102",
     lambda s: [f for f in files_of(s, "t:raw") if any(101 <= r <= 102 for r in runs(f))]),
    (f"{RAW} where x.index in 10:14", lambda s: files_of(s, "t:raw")),      # scalar range: ignored upstream
    (f"{RAW} where x.index not in 10:14", lambda s: []),
    (f"{RAW} where x.index < 4", lambda s: [f for f in files_of(s, "t:raw") if f.metadata["x.index"] < 4]),
    (f"{RAW} where size in 1100:1200", lambda s: [f for f in files_of(s, "t:raw") if 1100 <= f.size <= 1200]),
    (f"{RAW} where size > 1300 and x.label = even",
     lambda s: [f for f in files_of(s, "t:raw") if f.size > 1300 and f.metadata["x.label"] == "even"]),
    (f"{RAW} where x.label = 'odd' or x.flag = true",
     lambda s: [f for f in files_of(s, "t:raw") if f.metadata["x.label"] == "odd" or f.metadata.get("x.flag")]),
    (f"{RAW} where !(x.label = 'odd')", lambda s: [f for f in files_of(s, "t:raw") if f.metadata["x.label"] != "odd"]),
    (f"{RAW} where name ~ '_01'", lambda s: [f for f in files_of(s, "t:raw") if "_01" in f.name]),
    (f"{RAW} where name !~ '0.root'", lambda s: [f for f in files_of(s, "t:raw") if not f.name.endswith("0.root")]),
    (f"{RAW} where name ~* 'RAW_00'", lambda s: [f for f in files_of(s, "t:raw") if "raw_00" in f.name]),
    (f"{RAW} where x.label ~ 'ev'", lambda s: [f for f in files_of(s, "t:raw") if f.metadata["x.label"] == "even"]),
    (f"{RAW} where x.flag present", lambda s: [f for f in files_of(s, "t:raw") if "x.flag" in f.metadata]),
    (f"{RAW} where x.flag not present", lambda s: [f for f in files_of(s, "t:raw") if "x.flag" not in f.metadata]),
    (f"{RAW} where creator = bob", lambda s: [f for f in files_of(s, "t:raw") if f.creator == "bob"]),
    (f"{RAW} where namespace = t and name = 'raw_007.root'", lambda s: [s.files_by_did["t:raw_007.root"]]),
    (f"{RAW} where created_timestamp >= '2026-01-01 02:00:00' and created_timestamp < '2026-01-01 04:00:00'",
     lambda s: [f for f in files_of(s, "t:raw") if BASE + 7200 <= f.created_timestamp < BASE + 4 * 3600]),
    ("union(files from t:mc, files from t:raw_old)", lambda s: files_of(s, "t:mc") + files_of(s, "t:raw_old")),
    ("[files from t:mc, files from t:mc]", lambda s: files_of(s, "t:mc")),
    (f"join({RAW} where x.index < 20, {RAW} where x.label = even)",
     lambda s: [f for f in files_of(s, "t:raw") if f.metadata["x.index"] < 20 and f.metadata["x.label"] == "even"]),
    (f"{{{RAW} where x.index < 20, {RAW} where x.label = even}}",
     lambda s: [f for f in files_of(s, "t:raw") if f.metadata["x.index"] < 20 and f.metadata["x.label"] == "even"]),
    (f"({RAW}) - ({RAW} where core.runs[any] in (100, 101))",
     lambda s: [f for f in files_of(s, "t:raw") if not {100, 101} & set(runs(f))]),
    (f"({RAW}) where x.index >= 30", lambda s: [f for f in files_of(s, "t:raw") if f.metadata["x.index"] >= 30]),
    ("parents(files from t:reco)",
     lambda s: [s.files_by_fid[p] for f in files_of(s, "t:reco") for p in f.parents]),
    ("children(fids 1, 2, 3) where name ~ 'reco'",
     lambda s: [s.files_by_fid[c] for fid in ("1", "2", "3") for c in s.files_by_fid[fid].children]),
    ("files selected by t:run101", lambda s: [f for f in files_of(s, "t:raw") if 101 in runs(f)]),
    ("filter hash(4, 1)(files from t:raw)",
     lambda s: [f for f in files_of(s, "t:raw") if zlib.adler32(f.fid.encode()) % 4 == 1]),
]


@pytest.mark.parametrize("text,expected", SET_CASES, ids=[c[0] for c in SET_CASES])
def test_query_selects_the_expected_files(store, text, expected):
    assert sorted(fids(store, text)) == sorted(f.fid for f in expected(store))


def test_retired_files_are_excluded_unless_asked_for(store):
    retired = [f.fid for f in files_of(store, "t:raw", retired=True) if f.retired]
    assert retired and not set(retired) & set(fids(store, RAW))
    assert set(retired) <= set(fids(store, RAW, include_retired=True))
    assert set(retired) <= set(fids(store, "fids " + ",".join(retired)))      # explicit lists include them


def test_ordered_skip_limit_follow_created_timestamp_then_fid(store):
    expected = [f.fid for f in ordered(files_of(store, "t:raw"))]
    assert fids(store, f"{RAW} ordered") == expected
    assert len(set(f.created_timestamp for f in files_of(store, "t:raw"))) < len(expected)   # ties exist
    assert fids(store, f"({RAW}) ordered skip 10 limit 5") == expected[10:15]
    assert fids(store, f"{RAW} ordered skip 35 limit 10") == expected[35:]
    assert fids(store, f"{RAW} skip 3") == expected[3:]                       # skip implies ordered
    assert len(fids(store, f"{RAW} limit 7")) == 7
    paged = [fid for k in range(0, len(expected), 6) for fid in fids(store, f"({RAW}) ordered skip {k} limit 6")]
    assert paged == expected


def test_stride_keeps_positions_congruent_to_k(store):
    expected = [f.fid for f in ordered(files_of(store, "t:raw"))]
    for m, k in ((3, 1), (4, 0), (5, 4)):
        got = fids(store, f"filter stride({m}, {k})(({RAW}) ordered)")
        assert got == [fid for j, fid in enumerate(expected) if j % m == k]
    slices = [set(fids(store, f"filter stride(3, {k})(({RAW}) ordered)")) for k in range(3)]
    assert set().union(*slices) == set(expected) and sum(map(len, slices)) == len(expected)


@pytest.mark.parametrize("text,status,needle", [
    ("filter stride(3)(files from t:raw)", 400, "stride"),
    ("filter every_nth(3, 1)(files from t:raw)", 400, "every_nth"),
    ("files selected by t:run101 where x.index = 1", 400, "MQLSyntaxError"),
    ("files selected by t:nope", 400, "Named query t:nope not found"),
    ("files from raw", 400, "MQLSyntaxError"),
    ("files from t:raw where", 400, "MQLSyntaxError"),
    ("files from t:raw where x.label ~* 'EV'", 500, "jsonpath"),
    ("files from t:raw where created_timestamp > datetime('2026-01-01')", 500, "timestamp"),
    ("files from t:raw where created_timestamp > date(2026-01-01)", 500, "timestamp"),
    ("files from t:raw where created_timestamp > 1767225600", 500, "timestamp"),
    ("files from t:raw where id = 1", 400, "Unrecognized attribute name id"),
])
def test_rejections_mirror_the_real_server(store, text, status, needle):
    err = fail(store, text)
    assert err.status == status and needle in err.message


def test_where_on_a_named_query_without_its_own_where_is_applied(store):
    store.named_queries["t:all_raw"] = NamedQuery("t", "all_raw", "files from t:raw")
    try:
        got = fids(store, "files selected by t:all_raw where x.index < 3")
    finally:
        del store.named_queries["t:all_raw"]
    assert sorted(got) == sorted(f.fid for f in files_of(store, "t:raw") if f.metadata["x.index"] < 3)


def test_namespace_parameter_does_not_apply_to_bare_dataset_names(store):
    assert fail(store, "files from raw", namespace="t").status == 400
    assert sorted(fids(store, "files raw_001.root", namespace="t")) == [store.files_by_did["t:raw_001.root"].fid]


def test_dataset_queries(store):
    res = evaluate(store, "datasets matching t:r*")
    assert res.kind == "dataset"
    assert sorted(d.name for d in res.items) == sorted(d.name for d in store.datasets.values()
                                                        if d.name.startswith("r"))
    assert [d.name for d in evaluate(store, "datasets t:top with subsets").items] == ["top", "mc"]


SPLIT_MQL = [
    "(files from hypot:raw) ordered skip 10 limit 5",
    "filter stride(3, 1)((files from hypot:raw) ordered)",
    "filter hash(10, 3)((files from hypot:raw))",
    "(files from hypot:raw) where core.runs[any] = 1005",
    "(files from hypot:raw) where created_timestamp >= '2026-01-01 00:00:00' and "
    "created_timestamp < '2026-01-02 00:00:00'",
    "children(fids 1,2,3) where name ~ 'reco'",
    "(files from hypot:raw) - (files from hypot:raw where core.runs[any] in (1000, 1001))",
    "((files from hypot:raw) ordered) limit 100",
    "files selected by hypot:run1000",
]


@pytest.mark.parametrize("text", SPLIT_MQL)
def test_generated_mql_parses_with_metacats_parser(text):
    class Loader:
        def get_named_query(self, ns, name):
            return {"source": "files from hypot:raw"}
    q = parse(text, loader=Loader())
    assert q.Type == "file" and q.Tree is not None


def test_parse_errors_carry_metacats_message_and_the_stub_path_is_not_left_behind():
    with pytest.raises(ValueError, match=r"^MQLSyntaxError: Unexpected end-of-input"):
        parse("files from hypot:raw where (")
    assert STUB_DIR not in sys.path
    assert parse("datasets matching hypot:*").Type == "dataset"
