"""new(window=,round=,fts=,localtime=,firsttime=,lasttime=) executed against the testbed seed: the files of each
time window computed here from the store's creation times, empty windows skipped with one query, fts and the
clock, firsttime/lasttime, round (UTC and local time), cursor persistence and isolation, the dry run, and bad
input.  The seed's files were created between 2025-12-16 and 2026-01-15, so through the launch path (the real
clock) every window is complete; the tests of fts fix "now" with split_context's clock."""
from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo

import pytest
from split_helpers import seed_order

from poms_dd.adapters.metacat import parse_mql
from poms_dd.errors import InvalidInput
from poms_dd.models import CampaignStage, DataDispatcherSubmission
from poms_dd.services.launch.resolve import split_context
from poms_dd.services.splits import parse

UTC = dt.timezone.utc
DAY = 86400
RUNS_1000_1010 = "files from hypot:raw where core.runs[any] = 1000 or core.runs[any] = 1010"


def text(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S")


def epoch(iso: str) -> float:
    return dt.datetime.fromisoformat(iso).replace(tzinfo=UTC).timestamp()


def created(tb, where=None) -> dict[str, float]:
    """fid → creation time (epoch) of the hypot:raw files ``where`` selects, from the store."""
    return {fid: tb.store.files_by_fid[fid].created_timestamp for fid in seed_order(tb, where=where)}


def in_runs(*runs):
    return lambda f: any(r in f.metadata.get("core.runs", []) for r in runs)


def windows(times: dict[str, float], start: float, step: int, end: float | None = None) -> list[tuple]:
    """The windows [a, b) of length ``step`` from ``start`` that hold files (b cut at ``end``), with their fids."""
    grid: dict[int, set[str]] = {}
    for fid, t in times.items():
        if t >= start and (end is None or t < end):
            grid.setdefault(int((t - start) // step), set()).add(fid)
    return [(start + k * step, min(start + (k + 1) * step, end or float("inf")), grid[k]) for k in sorted(grid)]


def window_mql(query: str, a: float, b: float) -> str:
    """The window's MQL: ``(Q) where ...``; for a Q with a where clause of its own, which MetaCat's parser cannot
    add a where clause to, ``((Q) limit 10**12) where ...`` (restrict.py's second form)."""
    window = f"created_timestamp >= '{text(a)}' and created_timestamp < '{text(b)}'"
    return f"(({query}) limit {10 ** 12}) where {window}" if " where " in query else f"({query}) where {window}"


def covers(split_world, doc) -> list[str]:
    with split_world.db.session() as s:
        return s.get(DataDispatcherSubmission, doc["dd_task_id"]).split_slice["covers"]["window"]


def reason(doc) -> str:
    return doc["history"][-1]["reason"]


def context(split_world, sid, clock=None, test=False):
    s = split_world.db.session()
    stage = s.get(CampaignStage, sid)
    adapters = split_world.world.services(s).adapters(stage.campaign.experiment)
    return s, split_context(s, stage, test, adapters, clock=clock)


def peek(split_world, sid, k=50, clock=None):
    s, ctx = context(split_world, sid, clock)
    with s:
        return ctx.spec.split_type.peek(ctx.spec.params, ctx.query, ctx.cursor, ctx.source, k)


def test_new_launches_each_day_with_files_skipping_empty_days_then_has_nothing_new(split_world, tb):
    times = created(tb, in_runs(1000, 1010))
    start = (min(times.values()) // DAY) * DAY                    # round=1d: the first file's UTC midnight
    expected = windows(times, start, DAY)
    assert len(expected) >= 3 and any(b2 - a1 > 2 * DAY for (a1, _, _), (_, b2, _) in zip(expected, expected[1:]))
    sid = split_world.stage("new", "new(window=1d,round=1d)", RUNS_1000_1010)
    for a, b, fids in expected:
        doc = split_world.launch(sid)
        assert doc["status"] == "created", doc["history"]
        assert doc["mql"] == window_mql(RUNS_1000_1010, a, b)
        parse_mql(doc["mql"])
        assert sorted(split_world.files(doc)) == sorted(fids)
        assert covers(split_world, doc) == [text(a), text(b)]
    assert split_world.cursor(sid)["start"] == text(expected[-1][1])
    assert split_world.cursor(sid)["slices"] == len(expected)
    made = set(tb.store.projects)
    last = split_world.launch(sid)
    assert last["status"] == "launch_failed" and last["dd_project_id"] is None
    assert "Nothing new to launch" in reason(last) and set(tb.store.projects) == made


def test_without_round_the_first_window_starts_at_the_first_file(split_world, tb):
    times = created(tb, in_runs(1001))
    start = float(int(min(times.values())))                      # whole seconds, not rounded further
    assert start % 3600                                           # (the seed's first file is not on the hour)
    expected = windows(times, start, 12 * 3600)
    sid = split_world.stage("new-noround", "new(window=12h)", "files from hypot:raw where core.runs[any] = 1001")
    slices, exhausted = peek(split_world, sid)
    assert exhausted is True
    assert [x.covers["window"] for x in slices] == [[text(a), text(b)] for a, b, _ in expected]
    first = split_world.launch(sid)
    assert sorted(split_world.files(first)) == sorted(expected[0][2])


def test_firsttime_and_lasttime_bound_the_windows(split_world, tb):
    times = created(tb)
    first, last = epoch("2025-12-31T12:00:00"), epoch("2026-01-02T00:00:00")
    expected = windows(times, first, DAY, end=last)
    assert [(a, b) for a, b, _ in expected] == [(first, first + DAY), (first + DAY, last)]
    sid = split_world.stage("new-bounds", "new(window=1d,firsttime=2025-12-31T12:00:00Z,lasttime=2026-01-02)",
                            "files from hypot:raw")
    got = []
    for a, b, fids in expected:
        doc = split_world.launch(sid)
        assert doc["status"] == "created", doc["history"]
        assert doc["mql"] == window_mql("files from hypot:raw", a, b)
        assert sorted(split_world.files(doc)) == sorted(fids)
        got.extend(split_world.files(doc))
    assert sorted(got) == sorted(f for f, t in times.items() if first <= t < last)
    assert split_world.launch(sid)["status"] == "launch_failed"


def test_only_windows_that_ended_fts_before_now_are_launched(split_world, tb):
    times = created(tb, in_runs(1000))
    step = 6 * 3600
    start = (min(times.values()) // step) * step
    every = windows(times, start, step)
    sid = split_world.stage("new-fts", "new(window=6h,round=6h,fts=2h)", "files from hypot:raw where "
                            "core.runs[any] = 1000")
    for now in ("2025-12-17T08:00:00", "2025-12-17T14:30:00", "2025-12-17T00:00:00", "2026-06-01T00:00:00"):
        horizon = epoch(now) - 2 * 3600
        complete = [w for w in every if w[1] <= horizon]
        slices, exhausted = peek(split_world, sid, clock=lambda now=now: dt.datetime.fromisoformat(now + "+00:00"))
        assert exhausted is True
        assert [x.covers["window"] for x in slices] == [[text(a), text(b)] for a, b, _ in complete]
        assert [x.mql for x in slices] == [window_mql("files from hypot:raw where core.runs[any] = 1000", a, b)
                                           for a, b, _ in complete]
    assert len(every) > len([w for w in every if w[1] <= epoch("2025-12-17T06:00:00")]) > 0
    assert split_world.cursor(sid) == {}                          # the dry runs moved nothing


def test_a_dry_run_reads_one_query_per_window_however_many_empty_windows_it_skips(split_world, tb):
    times = created(tb, in_runs(1000, 1010))
    start = (min(times.values()) // 3600) * 3600
    expected = windows(times, start, 3 * 3600)
    span = (max(times.values()) - start) / (3 * 3600)            # windows from the first file to the last
    sid = split_world.stage("new-cost", "new(window=3h,round=1h)", RUNS_1000_1010)
    s, ctx = context(split_world, sid)
    calls = []

    class Counting:
        """The launch's own source, counting the MetaCat file listings the split asks for."""

        def __getattr__(self, name):
            return getattr(ctx.source, name)

        def files(self, mql, metadata=()):
            calls.append(mql)
            return ctx.source.files(mql, metadata)

    with s:
        slices, exhausted = ctx.spec.split_type.peek(ctx.spec.params, ctx.query, ctx.cursor, Counting(), 500)
    assert exhausted is True and len(slices) == len(expected) < span / 4
    for x, (a, b, fids) in zip(slices, expected):
        assert set(ctx.source.fids(x.mql)) == fids
    assert len(calls) == len(expected) + 1                        # one per window, one to find there is no more
    for mql in calls:
        parse_mql(mql)


@pytest.fixture
def chicago(monkeypatch):
    """This process in the America/Chicago time zone (UTC−6 in December)."""
    monkeypatch.setenv("TZ", "America/Chicago")
    time.tzset()
    yield ZoneInfo("America/Chicago")
    monkeypatch.undo()
    time.tzset()


def test_localtime_rounds_in_the_machines_time_zone(split_world, tb, chicago):
    times = created(tb, in_runs(1001))
    local_first = dt.datetime.fromtimestamp(min(times.values()), chicago)
    midnight = local_first.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
    assert midnight % DAY != 0                                    # local midnight is not UTC midnight
    expected = windows(times, midnight, DAY)
    query = "files from hypot:raw where core.runs[any] = 1001"
    local = split_world.stage("new-local", "new(window=1d,round=1d,localtime=true)", query)
    slices, _ = peek(split_world, local)
    assert [x.covers["window"] for x in slices] == [[text(a), text(b)] for a, b, _ in expected]
    utc = split_world.stage("new-utc", "new(window=1d,round=1d)", query)
    assert peek(split_world, utc)[0][0].covers["window"][0] == text((min(times.values()) // DAY) * DAY)
    doc = split_world.launch(local)
    assert sorted(split_world.files(doc)) == sorted(expected[0][2])


def test_new_test_launches_use_the_test_cursor_only(split_world, tb):
    times = created(tb, in_runs(1002))
    day = windows(times, (min(times.values()) // DAY) * DAY, DAY)
    sid = split_world.stage("new-iso", "new(window=1d,round=1d)", "files from hypot:raw where core.runs[any] = 1002",
                            test_split_type="new(window=1d,round=1d)")
    test = split_world.launch(sid, kind="test")
    assert sorted(split_world.files(test)) == sorted(day[0][2]) and split_world.cursor(sid) == {}
    prod = split_world.launch(sid)
    assert sorted(split_world.files(prod)) == sorted(day[0][2])
    assert sorted(split_world.files(split_world.launch(sid, kind="test"))) == sorted(day[1][2])
    assert split_world.cursor(sid)["slices"] == 1 and split_world.cursor(sid, test=True)["slices"] == 2


def test_bad_input_is_refused_with_a_clear_message(split_world, tb):
    with pytest.raises(InvalidInput) as err:
        parse("new(window=1h,round=7m)")
    assert "window (1h) must be a multiple of round (7m)" in err.value.message
    assert parse("new(window=2h,round=1h)").params["round"] == 3600
    noquery = split_world.stage("new-noq", "new(window=1d)", query=None)
    doc = split_world.launch(noquery)
    assert doc["status"] == "launch_failed"
    assert reason(doc) == "The split type new(window=1d) needs the stage's MQL query."
    broken = split_world.stage("new-cursor", "new(window=1d)", split_cursor={"start": "yesterday"})
    doc = split_world.launch(broken)
    assert doc["status"] == "launch_failed"
    assert "window start 'yesterday' cannot be read; reset the split" in reason(doc)
    assert split_world.cursor(broken) == {"start": "yesterday"}
