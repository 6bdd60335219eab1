"""mod, byrun and byexistingruns executed through the launch path against the testbed seed (runs 1000–1019 of
``hypot:raw``, 100 files each): the exact file sets of the slices, computed here from the seed; cursors across
launches, exhaustion, test-cursor isolation, the preview's peek (no side effects) and the number of MetaCat
calls spent finding the next run."""
from __future__ import annotations

import math

from split_helpers import seed_order
from sqlalchemy import select

from poms_dd.adapters.metacat import parse_mql
from poms_dd.models import CampaignStage, DataDispatcherSubmission
from poms_dd.services.launch.resolve import split_context
from poms_dd.services.splits import parse
from poms_dd.services.splits.byexistingruns import next_run
from poms_dd.services.splits.byrun import run_mql, run_range_mql

SOME_RUNS = "files from hypot:raw where core.runs[any] in (1002, 1003, 1007)"


def in_runs(*runs):
    return lambda f: any(r in f.metadata.get("core.runs", []) for r in runs)


def covers(split_world, doc):
    with split_world.db.session() as s:
        task = s.scalar(select(DataDispatcherSubmission).where(
            DataDispatcherSubmission.submission_id == doc["id"]))
        return task.split_slice["covers"]


def set_runs(tb, fid, key, value):
    """Give one seeded file new run metadata (a new dict: the seed shares metadata dicts among files)."""
    f = tb.store.files_by_fid[fid]
    f.metadata = {**f.metadata, key: value}


class CountingSource:
    """The launch's real source, counting the MetaCat calls a split makes through it."""

    def __init__(self, inner):
        self.inner, self.counts, self.streams = inner, [], []

    def count(self, mql):
        self.counts.append(mql)
        return self.inner.count(mql)

    def files(self, mql, metadata=()):
        self.streams.append(mql)
        return self.inner.files(mql, metadata)

    def fids(self, mql):
        self.streams.append(mql)
        return self.inner.fids(mql)

    def now(self):
        return self.inner.now()

    def with_delivered(self, fids):
        return CountingSource(self.inner.with_delivered(fids))


def context(split_world, s, sid, test=False):
    stage = s.get(CampaignStage, sid)
    return split_context(s, stage, test, split_world.world.services(s).adapters(stage.campaign.experiment))


def assert_exhausted(split_world, sid, phrase="All slices"):
    doc = split_world.launch(sid)
    assert doc["status"] == "launch_failed" and doc["dd_project_id"] is None
    assert phrase in doc["history"][-1]["reason"]
    assert "exhausted_at" in split_world.cursor(sid)


# --- mod -------------------------------------------------------------------------------------------------------

def test_mod_launches_the_m_strides_of_the_ordered_query_then_is_done(split_world, tb):
    query = "files from hypot:raw where core.runs[any] = 1006"
    order = seed_order(tb, where=in_runs(1006))
    sid = split_world.stage("mod", "mod(3)", query)
    got = []
    for k in range(3):
        doc = split_world.launch(sid)
        assert doc["status"] == "created", doc["history"]
        assert split_world.files(doc) == order[k::3]           # positions k, k+3, k+6, … in created order
        assert doc["mql"] == f"filter stride(3, {k})(({query}) ordered)"
        parse_mql(doc["mql"])
        assert split_world.cursor(sid)["k"] == k + 1
        got.extend(split_world.files(doc))
    assert sorted(got) == sorted(order)
    assert split_world.cursor(sid)["baseline"]["count"] == len(order)
    assert_exhausted(split_world, sid)


def test_mod_skips_the_strides_a_small_query_has_no_files_for(split_world, tb):
    order = seed_order(tb, where=in_runs(1007))
    sid = split_world.stage("mod-small", "mod(5)", "files from hypot:raw where core.runs[any] = 1007 ordered limit 2")
    with split_world.db.session() as s:
        ctx = context(split_world, s, sid)
        slices, done = ctx.spec.split_type.peek(ctx.spec.params, ctx.query, ctx.cursor, ctx.source, 5)
    assert [sl.key for sl in slices] == ["k=0", "k=1"] and done
    for k in range(2):
        doc = split_world.launch(sid)
        assert split_world.files(doc) == [order[k]]
    assert_exhausted(split_world, sid)
    assert split_world.cursor(sid)["k"] == 2


def test_mod_of_an_empty_query_says_nothing_to_launch_and_is_not_exhausted(split_world, tb):
    sid = split_world.stage("mod-empty", "mod(4)", "files from hypot:raw where core.runs[any] = 5")
    doc = split_world.launch(sid)
    assert doc["status"] == "launch_failed" and doc["dd_project_id"] is None
    assert "Nothing to launch: the stage query selects no files" in doc["history"][-1]["reason"]
    assert split_world.cursor(sid) == {}


# --- byrun -----------------------------------------------------------------------------------------------------

def test_byrun_takes_one_run_per_launch_skipping_empty_runs(split_world, tb):
    sid = split_world.stage("br", "byrun(low=995,high=1010)", SOME_RUNS)
    for run in (1002, 1003, 1007):
        doc = split_world.launch(sid)
        assert doc["status"] == "created", doc["history"]
        assert sorted(split_world.files(doc)) == sorted(seed_order(tb, where=in_runs(run)))
        assert doc["mql"].startswith(f"(({SOME_RUNS}) limit ") and doc["mql"].endswith(f"where core.runs[any] = {run}")
        parse_mql(doc["mql"]).optimize()
        assert covers(split_world, doc) == {"runs": [run]}
        assert split_world.cursor(sid)["run"] == run + 1
    assert split_world.cursor(sid)["baseline"]["count"] == 300
    assert_exhausted(split_world, sid)


def test_byrun_stays_inside_low_high(split_world, tb):
    sid = split_world.stage("br-range", "byrun(low=1017,high=1030)", "files from hypot:raw where core.runs[any] > 1015")
    for run in (1017, 1018, 1019):
        assert sorted(split_world.files(split_world.launch(sid))) == sorted(seed_order(tb, where=in_runs(run)))
    assert_exhausted(split_world, sid)
    narrow = split_world.stage("br-narrow", "byrun(low=1016,high=1016)",
                               "files from hypot:raw where core.runs[any] > 1015")
    assert sorted(split_world.files(split_world.launch(narrow))) == sorted(seed_order(tb, where=in_runs(1016)))
    assert_exhausted(split_world, narrow)


def test_byrun_without_any_run_in_its_range_says_so_and_is_not_exhausted(split_world, tb):
    sid = split_world.stage("br-none", "byrun(low=2000,high=3000)", SOME_RUNS)
    doc = split_world.launch(sid)
    assert doc["status"] == "launch_failed" and doc["dd_project_id"] is None
    assert "no run from 2000 to 3000 has files" in doc["history"][-1]["reason"]
    assert split_world.cursor(sid) == {}


def test_byrun_finds_a_run_in_a_huge_range_with_a_few_counts(split_world, tb):
    sid = split_world.stage("br-huge", "byrun(low=0,high=1000000)", "files from hypot:raw where core.runs[any] = 1004")
    with split_world.db.session() as s:
        ctx = context(split_world, s, sid)
        source = CountingSource(ctx.source)
        first = ctx.spec.split_type.next_slice(ctx.spec.params, ctx.query, ctx.cursor, source)
        assert first.covers == {"runs": [1004]}
        # run 0, the range 1:1000000, a bisection of it, and the baseline count of the query
        assert len(source.counts) <= 3 + math.ceil(math.log2(1_000_000))
        assert not source.streams
        for mql in source.counts:
            parse_mql(mql)
        source.counts.clear()
        assert ctx.spec.split_type.next_slice(ctx.spec.params, ctx.query, first.cursor, source) is None
        assert len(source.counts) == 2                 # run 1005, then the range 1006:1000000


def test_byrun_with_a_scalar_run_key(split_world, tb):
    for run in (1003, 1005):
        for fid in seed_order(tb, where=in_runs(run)):
            set_runs(tb, fid, "hypot.run", run)
    sid = split_world.stage("br-scalar", "byrun(low=1000,high=1010,key=hypot.run)",
                            "files from hypot:raw where core.runs[any] in 1002:1006")
    for run in (1003, 1005):
        doc = split_world.launch(sid)
        assert sorted(split_world.files(doc)) == sorted(seed_order(tb, where=in_runs(run)))
        assert doc["mql"].endswith(f"where hypot.run[any] = {run}")
    assert_exhausted(split_world, sid)


def test_run_slices_select_the_files_of_the_run_whatever_the_shape_of_the_query(split_world, tb):
    def physics(f):
        return f.metadata.get("core.run_type") == "physics"
    shapes = {
        "files from hypot:raw": lambda f: True,
        "files from hypot:raw where core.run_type = physics": physics,
        "union(files from hypot:raw where core.runs[any] = 1002, files from hypot:raw where core.runs[any] = 1004)":
            in_runs(1002, 1004),
        "files from hypot:raw where core.runs[any] > 1002 - files from hypot:raw where core.run_type = physics":
            lambda f: f.metadata["core.runs"][0] > 1002 and not physics(f),
    }
    sid = split_world.stage("shapes", "byrun(low=1000,high=1019)")
    with split_world.db.session() as s:
        source = context(split_world, s, sid).source
        for query, where in shapes.items():
            for run in (1002, 1003, 1004):
                mql = run_mql(query, "core.runs", run)
                parse_mql(mql).optimize()
                expected = seed_order(tb, where=lambda f: where(f) and run in f.metadata["core.runs"])
                assert sorted(source.fids(mql)) == sorted(expected), mql
            assert source.count(run_range_mql(query, "core.runs", 1003, 1004)) == len(
                seed_order(tb, where=lambda f: where(f) and f.metadata["core.runs"][0] in (1003, 1004)))


def test_byrun_over_a_union_of_queries(split_world, tb):
    query = "union(files from hypot:raw where core.runs[any] = 1009, files from hypot:raw where core.runs[any] = 1011)"
    sid = split_world.stage("br-union", "byrun(low=1000,high=1019)", query)
    for run in (1009, 1011):
        doc = split_world.launch(sid)
        assert sorted(split_world.files(doc)) == sorted(seed_order(tb, where=in_runs(run)))
    assert_exhausted(split_world, sid)


# --- byexistingruns --------------------------------------------------------------------------------------------

def test_byexistingruns_takes_the_runs_the_query_has_and_picks_up_new_runs(split_world, tb):
    sid = split_world.stage("ber", "byexistingruns", SOME_RUNS)
    for run in (1002, 1003, 1007):
        doc = split_world.launch(sid)
        assert doc["status"] == "created", doc["history"]
        assert sorted(split_world.files(doc)) == sorted(seed_order(tb, where=in_runs(run)))
        assert doc["mql"].endswith(f"where core.runs[any] = {run}")
        parse_mql(doc["mql"]).optimize()
        assert covers(split_world, doc) == {"runs": [run]}
        assert split_world.cursor(sid)["last"] == run
    assert_exhausted(split_world, sid, "Nothing new to launch")
    # a file of run 1007 is also in the new run 1012 (belongs to both); one also in 1001, below the last run
    run_1007 = seed_order(tb, where=in_runs(1007))
    set_runs(tb, run_1007[10], "core.runs", [1007, 1012])
    set_runs(tb, run_1007[11], "core.runs", [1001, 1007])
    doc = split_world.launch(sid)
    assert split_world.files(doc) == [run_1007[10]] and covers(split_world, doc) == {"runs": [1012]}
    assert_exhausted(split_world, sid, "Nothing new to launch")


def test_byexistingruns_of_a_query_without_runs_says_so(split_world, tb):
    sid = split_world.stage("ber-none", "byexistingruns(key=hypot.nothing)", SOME_RUNS)
    doc = split_world.launch(sid)
    assert doc["status"] == "launch_failed" and doc["dd_project_id"] is None
    assert "no file of the stage query has a run number in hypot.nothing" in doc["history"][-1]["reason"]
    assert split_world.cursor(sid) == {}


def test_byexistingruns_finds_the_next_run_by_streaming_or_by_counts_alike(split_world, tb):
    query = "files from hypot:raw where core.runs[any] in (1002, 1013)"
    sid = split_world.stage("ber-find", "byexistingruns", query)
    with split_world.db.session() as s:
        ctx = context(split_world, s, sid)
        for start, after, expected in ((0, False, 1002), (1003, True, 1013), (1014, True, None)):
            streamed, counted = CountingSource(ctx.source), CountingSource(ctx.source)
            assert next_run(ctx.query, "core.runs", start, streamed, after) == expected
            assert next_run(ctx.query, "core.runs", start, counted, after, stream_limit=0) == expected
            assert len(streamed.counts) <= 2 and len(streamed.streams) <= 1
            assert not counted.streams
            gap = (expected or start) - start + 1
            assert len(counted.counts) <= 2 + 2 * math.ceil(math.log2(gap) + 1)
            for mql in streamed.counts + streamed.streams + counted.counts:
                parse_mql(mql)


def test_byexistingruns_with_a_scalar_run_key(split_world, tb):
    for run in (1004, 1009):
        for fid in seed_order(tb, where=in_runs(run))[:5]:
            set_runs(tb, fid, "hypot.run", run)
    sid = split_world.stage("ber-scalar", "byexistingruns(key=hypot.run)", "files from hypot:raw")
    for run in (1004, 1009):
        assert sorted(split_world.files(split_world.launch(sid))) == sorted(seed_order(tb, where=in_runs(run))[:5])
    assert_exhausted(split_world, sid, "Nothing new to launch")


# --- cursors and the preview -----------------------------------------------------------------------------------

def test_test_launches_of_run_splits_use_the_test_cursor_only(split_world, tb):
    query = "files from hypot:raw where core.runs[any] in 1008:1009"
    sid = split_world.stage("br-iso", "byrun(low=1000,high=1019)", query, test_split_type="byexistingruns")
    run = {r: sorted(seed_order(tb, where=in_runs(r))) for r in (1008, 1009)}
    assert sorted(split_world.files(split_world.launch(sid, kind="test"))) == run[1008]
    assert split_world.cursor(sid) == {} and split_world.cursor(sid, test=True)["last"] == 1008
    assert sorted(split_world.files(split_world.launch(sid))) == run[1008]
    assert sorted(split_world.files(split_world.launch(sid, kind="test"))) == run[1009]
    assert split_world.cursor(sid)["run"] == 1009 and split_world.cursor(sid, test=True)["last"] == 1009
    assert sorted(split_world.files(split_world.launch(sid))) == run[1009]


def test_peek_shows_the_next_slices_without_moving_anything(split_world, tb):
    stages = {"byrun(low=995,high=1010)": ["run=1003", "run=1007"], "byexistingruns": ["run=1003", "run=1007"],
              "mod(4)": ["k=1", "k=2", "k=3"]}
    for split, keys in stages.items():
        sid = split_world.stage("peek", split, SOME_RUNS)
        split_world.launch(sid)
        before = split_world.cursor(sid)
        with split_world.db.session() as s:
            ctx = context(split_world, s, sid)
            spec = ctx.spec
            slices, done = spec.split_type.peek(spec.params, ctx.query, ctx.cursor, ctx.source, 5)
            assert [sl.key for sl in slices] == keys and done, split
            assert not spec.split_type.exhausted(spec.params, ctx.query, ctx.cursor, ctx.source)
            for sl in slices:
                parse_mql(sl.mql)
                assert ctx.source.count(sl.mql) == (75 if split.startswith("mod") else 100)
        assert split_world.cursor(sid) == before
        nxt = split_world.launch(sid)
        assert nxt["mql"] == slices[0].mql and split_world.cursor(sid) == dict(slices[0].cursor)
        if split != "mod(4)":
            assert covers(split_world, nxt) == {"runs": [1003]}
    assert parse("byrun(low=995,high=1010)").split_type.help and parse("mod(4)").split_type.drift_help
