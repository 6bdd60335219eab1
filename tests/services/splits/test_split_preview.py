"""The split preview, reset and cursor edit (``services/launch/split_control.py``) against the testbed seed: the
exact files, sizes, runs and replica counts of the next slices are computed here from the testbed's store, and
the preview is shown to change nothing (cursor, database rows, Data Dispatcher projects)."""
from __future__ import annotations

from collections import Counter

import pytest
import requests
from split_helpers import seed_order
from sqlalchemy import func, select

from factories import make_user
from poms_dd.adapters.metacat import parse_mql
from poms_dd.errors import Conflict, ExternalServiceError, InvalidInput, NotFound, PermissionDenied
from poms_dd.models import (AuditEvent, CampaignStage, DataDispatcherSubmission, Experiment, SliceDelivery, Submission,
                            User)
from poms_dd.permissions import Actor
from poms_dd.services.factory import Services
from poms_dd.services.launch.split_control import SplitService
from poms_dd.testbed.hooks import reseed

RUN = "files from hypot:raw where core.runs[any] = {run}"


def in_run(run):
    return lambda f: run in f.metadata.get("core.runs", [])


def control(world, s, username: str = "paula", **kw) -> SplitService:
    """The split service acting as ``username`` (a person, with the permission checks of a person)."""
    user = s.scalar(select(User).where(User.username == username))
    services = Services(s, Actor.person(user), settings=world.world.settings)
    if kw:
        return SplitService(s, services.actor, services.scope, services.adapters, **kw)
    return services.split_control


def preview(world, sid: int, username: str = "paula", **kw):
    with world.db.session() as s:
        return control(world, s, username).preview("hypot", world.world.campaign_id, sid, **kw).to_json()


def expected_replicas(tb, fids) -> dict:
    """Replica availability of ``fids`` from the testbed's own store (what Rucio holds)."""
    store = tb.store
    available = missing = tape_only = 0
    by_rse: Counter = Counter()
    for fid in fids:
        f = store.files_by_fid[fid]
        rses = sorted(r for r, rep in store.replicas.get(f"{f.namespace}:{f.name}", {}).items()
                      if rep.state == "AVAILABLE")
        if not rses:
            missing += 1
            continue
        available += 1
        tape_only += all(store.rses[r].rse_type == "TAPE" for r in rses)
        by_rse.update(rses)
    return {"available": available, "missing": missing, "by_rse": dict(sorted(by_rse.items())),
            "tape_only": tape_only, "checked": len(fids), "complete": True}


def size_of(tb, fids) -> int:
    return sum(tb.store.files_by_fid[f].size for f in fids)


def state(world, tb, sid: int) -> dict:
    """Everything a preview must leave alone."""
    with world.db.session() as s:
        rows = {m.__name__: s.scalar(select(func.count()).select_from(m))
                for m in (Submission, DataDispatcherSubmission, SliceDelivery, AuditEvent)}
        stage = s.get(CampaignStage, sid)
        rows["cursors"] = (dict(stage.split_cursor or {}), dict(stage.test_split_cursor or {}),
                           stage.schedule_disabled_reason)
    rows["dd_projects"] = len(tb.store.projects)
    return rows


# --- preview: exact slices ---------------------------------------------------------------------------------

def test_nfiles_preview_lists_the_next_slices_with_counts_sizes_runs_and_replicas(split_world, tb):
    sid = split_world.stage("pv-nf", "nfiles(30)", "files from hypot:raw where core.runs[any] = %(run)s")
    split_world.launch(sid)                                  # slice 0 launched: the preview starts at slice 1
    before = state(split_world, tb, sid)
    doc = preview(split_world, sid, slices=5)
    assert state(split_world, tb, sid) == before             # nothing created or changed
    # the campaign keyword run=1000 was substituted; the query is run 1000's (the seed: 100 files per run)
    order = seed_order(tb, where=in_run(1000))
    assert doc["split_type"] == "nfiles(30)" and doc["exhausted"] is True and doc["refills"] is False
    assert [s["index"] for s in doc["slices"]] == [1, 2, 3]
    for s, start in zip(doc["slices"], (30, 60, 90)):
        fids = order[start:start + 30]
        assert s["mql"] == f"(files from hypot:raw where core.runs[any] = 1000) ordered skip {start} limit 30"
        parse_mql(s["mql"])
        assert (s["file_count"], s["total_size"]) == (len(fids), size_of(tb, fids))
        assert s["runs"] == [1000]
        assert s["replicas"] == expected_replicas(tb, fids)
    assert [s["last"] for s in doc["slices"]] == [False, False, True]


def test_drainingn_preview_leaves_out_delivered_files_and_each_earlier_preview_slice(split_world, tb):
    order = seed_order(tb, where=in_run(1001))
    sid = split_world.stage("pv-dn", "drainingn(30)", RUN.format(run=1001))
    first = split_world.launch(sid)
    assert sorted(split_world.files(first)) == sorted(order[:30])
    before = state(split_world, tb, sid)
    doc = preview(split_world, sid, slices=4)
    assert state(split_world, tb, sid) == before
    assert [s["mql"] for s in doc["slices"]] == ["fids " + ",".join(order[k:k + 30]) for k in (30, 60, 90)]
    assert [s["file_count"] for s in doc["slices"]] == [30, 30, 10]
    for s in doc["slices"]:
        fids = s["mql"].removeprefix("fids ").split(",")
        parse_mql(s["mql"])
        assert s["replicas"] == expected_replicas(tb, fids) and s["runs"] == [1001]
    assert doc["exhausted"] is True and doc["refills"] is True and doc["slices"][-1]["last"] is True
    two = preview(split_world, sid, slices=2, replicas=False)
    assert (two["exhausted"], two["repeats"], two["slices"][-1]["last"]) == (False, False, False)
    again = split_world.launch(sid)                          # the preview's slice 1 is what the launch takes
    assert sorted(split_world.files(again)) == sorted(order[30:60])


def test_limitn_repeats_one_slice_and_a_stage_without_split_is_one_slice(split_world, tb):
    order = seed_order(tb, where=in_run(1003))
    limit = preview(split_world, split_world.stage("pv-ln", "limitn(7)", RUN.format(run=1003)), slices=5)
    assert len(limit["slices"]) == 1 and limit["repeats"] is True and limit["exhausted"] is False
    assert limit["slices"][0]["file_count"] == 7 and limit["slices"][0]["total_size"] == size_of(tb, order[:7])
    whole = preview(split_world, split_world.stage("pv-none", None, RUN.format(run=1003)), slices=5)
    assert whole["split_type"] is None and whole["repeats"] is True and len(whole["slices"]) == 1
    assert whole["slices"][0]["mql"] == RUN.format(run=1003)
    assert whole["slices"][0]["file_count"] == 100 and whole["slices"][0]["replicas"] == expected_replicas(tb, order)


def test_a_slice_without_files_is_warned_about(split_world, tb):
    doc = preview(split_world, split_world.stage("pv-empty", None, "files from hypot:nosuchdataset"))
    assert doc["slices"][0]["file_count"] == 0 and doc["slices"][0]["replicas"]["checked"] == 0
    assert doc["warnings"] == ['Slice 0 (query) selects no files now: its launch would stop with "nothing to launch".']


def test_draining_is_a_parameter_launch_without_replica_check(split_world, tb):
    doc = preview(split_world, split_world.stage("pv-dr", "draining", RUN.format(run=1004)), slices=3)
    (only,) = doc["slices"]
    assert only["parameter_launch"] is True and only["replicas"] is None and only["project_id"] is None
    assert only["file_count"] == len(seed_order(tb, where=in_run(1004)))
    assert "Parameter launch" in only["notes"][0]


def test_the_project_id_override_previews_as_that_project(split_world, tb):
    made = split_world.launch(split_world.stage("pv-src", "limitn(12)", RUN.format(run=1005)))
    fids = split_world.files(made)
    sid = split_world.stage("pv-ov", "nfiles(5)", None, data_dispatcher_project_id=made["dd_project_id"])
    doc = preview(split_world, sid)
    (only,) = doc["slices"]
    assert doc["override_project_id"] == made["dd_project_id"] and doc["split_type"] is None
    assert only["project_id"] == made["dd_project_id"] and only["file_count"] == 12
    assert only["mql"] == made["mql"]                        # the project's own query
    assert only["replicas"] == expected_replicas(tb, fids)


def test_test_kind_previews_the_test_split_and_test_cursor(split_world, tb):
    order = seed_order(tb, where=in_run(1006))
    sid = split_world.stage("pv-test", "nfiles(50)", RUN.format(run=1006), test_split_type="nfiles(10)")
    split_world.launch(sid, kind="test")
    doc = preview(split_world, sid, kind="test", slices=2, replicas=False)
    assert doc["kind"] == "test" and doc["split_type"] == "nfiles(10)"
    assert [s["mql"].rsplit(" ordered ", 1)[1] for s in doc["slices"]] == ["skip 10 limit 10", "skip 20 limit 10"]
    assert all(s["replicas"] is None for s in doc["slices"]) and doc["replicas_checked"] is False
    production = preview(split_world, sid, slices=1, replicas=False)
    assert production["slices"][0]["mql"].endswith("skip 0 limit 50")
    assert production["slices"][0]["total_size"] == size_of(tb, order[:50])


def test_a_slice_of_more_than_1000_files_is_checked_in_rucio_in_chunks(split_world, tb):
    """The testbed's Rucio refuses more than 1,000 DIDs per call, as the real one does."""
    order = seed_order(tb)
    doc = preview(split_world, split_world.stage("pv-big", "nfiles(1500)", "files from hypot:raw"), slices=3)
    big, rest = doc["slices"]
    assert big["replicas"] == expected_replicas(tb, order[:1500]) and big["file_count"] == 1500
    assert rest["replicas"] == expected_replicas(tb, order[1500:])
    assert big["runs"] == list(range(1000, 1015)) and doc["exhausted"] is True
    assert rest["replicas"]["missing"] > 0 and any("no available replica" in w for w in doc["warnings"])


def test_the_replica_budget_bounds_the_rucio_lookups(split_world, tb):
    order = seed_order(tb, where=in_run(1007))
    sid = split_world.stage("pv-budget", "nfiles(25)", RUN.format(run=1007))
    with split_world.db.session() as s:
        doc = control(split_world, s, replica_budget=40).preview("hypot", split_world.world.campaign_id, sid,
                                                                 slices=3).to_json()
    first, second, third = (s["replicas"] for s in doc["slices"])
    assert first == expected_replicas(tb, order[:25])
    partial = expected_replicas(tb, order[25:40])
    assert second == {**partial, "complete": False} and second["checked"] == 15
    assert third["checked"] == 0 and third["complete"] is False
    assert "first 15 of 25 files" in " ".join(doc["slices"][1]["notes"])


def test_large_slices_are_warned_about_and_runs_are_not_listed_beyond_the_bound(split_world, tb):
    reseed(tb.store, "demo", 12_000)                         # the tb fixture reseeds the usual seed after
    sid = split_world.stage("pv-large", "nfiles(11000)", "files from hypot:raw")
    doc = preview(split_world, sid, slices=2, replicas=False)
    large, small = doc["slices"]
    assert (large["file_count"], small["file_count"]) == (11_000, 1_000)
    assert len(large["warnings"]) == 1 and "11,000 files in one Data Dispatcher project" in large["warnings"][0]
    assert small["warnings"] == [] and doc["warnings"] == large["warnings"]
    assert large["runs"] is None and "at most 10,000 files" in large["notes"][0]
    assert small["runs"] == [1018, 1019]


def test_drift_reports_files_gone_since_the_first_slice(split_world, tb):
    order = seed_order(tb)
    sid = split_world.stage("pv-drift", "nfiles(1000)", "files from hypot:raw")
    assert preview(split_world, sid, slices=1, replicas=False)["drift"] is None      # no baseline yet
    split_world.launch(sid)
    for fid in order[:3]:
        tb.store.files_by_fid[fid].retired = True
    doc = preview(split_world, sid, slices=1, replicas=False)
    assert doc["drift"] == {"since": doc["cursor"]["baseline"]["at"], "count_then": 2000, "count_now": 1997,
                            "added": 0, "gone": 3}


# --- preview: refusals -------------------------------------------------------------------------------------

@pytest.mark.parametrize("slices", [0, 51, "x", "-1", "1.5", "9" * 40])
def test_bad_slice_counts_are_refused(split_world, tb, slices):
    sid = split_world.stage("pv-bad", "nfiles(10)", RUN.format(run=1009))
    with pytest.raises(InvalidInput, match="slices must be a whole number from 1 to 50"):
        preview(split_world, sid, slices=slices)


def test_who_may_preview(split_world, tb):
    production = split_world.stage("pv-prod", "nfiles(10)", RUN.format(run=1010))
    analysis = split_world.stage("pv-ana", "nfiles(10)", RUN.format(run=1010), role="analysis")
    with pytest.raises(PermissionDenied, match="production role"):
        preview(split_world, production, username="ana", replicas=False)
    assert len(preview(split_world, analysis, username="ana", slices=1, replicas=False)["slices"]) == 1
    with split_world.db.session() as s:
        other = Experiment(name=f"other{production}")
        s.add(other)
        s.flush()
        make_user(s, f"olga{production}", roles={other: "superuser"})
        s.commit()
    with pytest.raises(NotFound):
        preview(split_world, production, username=f"olga{production}")


def test_a_service_outage_is_a_clear_error(split_world, tb):
    sid = split_world.stage("pv-down", "nfiles(10)", RUN.format(run=1011))
    requests.post(f"{tb.url}/_testbed/fault", params={"service": "mc", "status": 500, "count": 20},
                  timeout=5).raise_for_status()
    try:
        with pytest.raises(ExternalServiceError, match="MetaCat"):
            preview(split_world, sid)
    finally:
        requests.delete(f"{tb.url}/_testbed/fault", timeout=5).raise_for_status()


# --- reset -------------------------------------------------------------------------------------------------

def test_after_a_reset_drainingn_takes_the_first_files_again(split_world, tb):
    order = seed_order(tb, where=in_run(1012))
    sid = split_world.stage("rs-dn", "drainingn(40)", RUN.format(run=1012), cron_schedule="0 * * * *")
    for k in (0, 40):
        assert sorted(split_world.files(split_world.launch(sid))) == sorted(order[k:k + 40])
    with split_world.db.session() as s:
        s.get(CampaignStage, sid).schedule_disabled_reason = "stopped for the test"
        s.commit()
        summary = control(split_world, s).reset_summary("hypot", split_world.world.campaign_id, sid)
        assert (summary.launches, summary.files, summary.frozen_files, summary.epoch) == (2, 80, 80, 0)
        before = dict(s.get(CampaignStage, sid).split_cursor)
        stage = control(split_world, s).reset("hypot", split_world.world.campaign_id, sid)
        assert stage.split_cursor == {"epoch": 1} and stage.schedule_disabled_reason is None
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "stage.split_reset",
                                                   AuditEvent.object_id == sid)).one()
        assert event.before["split_cursor"] == before and event.after["split_cursor"] == {"epoch": 1}
        assert event.before["schedule_disabled_reason"] == "stopped for the test" and event.actor == "paula"
        summary = control(split_world, s).reset_summary("hypot", split_world.world.campaign_id, sid)
        assert (summary.launches, summary.files, summary.epoch) == (0, 0, 1)
    assert preview(split_world, sid, slices=1, replicas=False)["slices"][0]["mql"] == "fids " + ",".join(order[:40])
    again = split_world.launch(sid)
    assert sorted(split_world.files(again)) == sorted(order[:40])


def test_a_test_reset_touches_the_test_cursor_only(split_world, tb):
    sid = split_world.stage("rs-test", "nfiles(10)", RUN.format(run=1013))
    split_world.launch(sid)
    split_world.launch(sid, kind="test")
    production = split_world.cursor(sid)
    with split_world.db.session() as s:
        s.get(CampaignStage, sid).schedule_disabled_reason = "kept"
        s.commit()
        stage = control(split_world, s).reset("hypot", split_world.world.campaign_id, sid, kind="test")
        assert stage.test_split_cursor == {"epoch": 1} and stage.schedule_disabled_reason == "kept"
    assert split_world.cursor(sid) == production


def test_reset_needs_the_launch_permission_and_waits_for_a_launch_in_progress(split_world, tb):
    sid = split_world.stage("rs-perm", "nfiles(10)", RUN.format(run=1014))
    split_world.launch(sid)
    cursor = split_world.cursor(sid)
    with split_world.db.session() as s:
        with pytest.raises(PermissionDenied):
            control(split_world, s, "ana").reset("hypot", split_world.world.campaign_id, sid)
        s.add(Submission(stage_id=sid, status="launching", launch_kind="standard"))
        s.commit()
        with pytest.raises(Conflict, match="is being launched"):
            control(split_world, s).reset("hypot", split_world.world.campaign_id, sid)
        control(split_world, s).reset("hypot", split_world.world.campaign_id, sid, kind="test")   # the other cursor
    assert split_world.cursor(sid) == cursor


# --- edit cursor -------------------------------------------------------------------------------------------

def test_only_the_owner_or_a_superuser_edits_the_cursor(split_world, tb):
    sid = split_world.stage("ec-perm", "nfiles(10)", RUN.format(run=1015))
    cid = split_world.world.campaign_id
    with split_world.db.session() as s:
        with pytest.raises(PermissionDenied, match="Only its owner"):
            control(split_world, s).edit_cursor("hypot", cid, sid, {"k": 2})
        ana = s.scalar(select(User).where(User.username == "ana"))
        s.get(CampaignStage, sid).owner_id = ana.id            # the owner, but may not launch a production stage
        s.commit()
        with pytest.raises(PermissionDenied, match="Only its owner ana"):
            control(split_world, s, "ana").edit_cursor("hypot", cid, sid, {"k": 2})
        exp = s.scalar(select(Experiment).where(Experiment.name == "hypot"))
        make_user(s, f"sue{sid}", roles={exp: "superuser"})
        s.commit()
        stage = control(split_world, s, f"sue{sid}").edit_cursor("hypot", cid, sid, {"k": 2})
        assert stage.split_cursor == {"k": 2}
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "stage.split_cursor",
                                                   AuditEvent.object_id == sid)).one()
        assert (event.before, event.after) == ({"split_cursor": {}}, {"split_cursor": {"k": 2}})
    doc = split_world.launch(sid)                              # the launch continues where the cursor says
    assert doc["mql"].endswith("ordered skip 20 limit 10")


@pytest.mark.parametrize("cursor, words", [
    ([1], "JSON object"), ("k=2", "JSON object"), ({"k": -1}, "from 0"), ({"k": True}, "whole number"),
    ({"k": "2"}, "whole number"), ({"k": 2**70}, "from 0 to"), ({"slices": 1}, "does not use a cursor key"),
    ({"baseline": {"count": 1}}, "baseline must be"), ({"baseline": {"count": 1, "at": "yesterday"}}, "at ="),
])
def test_bad_cursors_are_refused_and_change_nothing(split_world, tb, cursor, words):
    sid = split_world.stage("ec-bad", "nfiles(10)", RUN.format(run=1016), owner_id=None)
    with split_world.db.session() as s:
        s.get(CampaignStage, sid).owner_id = s.scalar(select(User.id).where(User.username == "paula"))
        s.commit()
        audits = s.scalar(select(func.count()).select_from(AuditEvent))
        with pytest.raises(InvalidInput) as err:
            control(split_world, s).edit_cursor("hypot", split_world.world.campaign_id, sid, cursor)
        text = err.value.message + " ".join(m for ms in err.value.field_errors.values() for m in ms)
        assert words in text
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == audits
    assert split_world.cursor(sid) == {}


def test_drainingn_cursor_keys_and_the_exhausted_note(split_world, tb):
    order = seed_order(tb, where=in_run(1017))
    sid = split_world.stage("ec-dn", "drainingn(10)", RUN.format(run=1017))
    with split_world.db.session() as s:
        s.get(CampaignStage, sid).owner_id = s.scalar(select(User.id).where(User.username == "paula"))
        s.commit()
        svc = control(split_world, s)
        stage = svc.edit_cursor("hypot", split_world.world.campaign_id, sid,
                                {"epoch": 3, "slices": 0, "prefix": 0, "boundary": None, "exhausted_at": "x"})
        assert stage.split_cursor == {"epoch": 3, "slices": 0, "prefix": 0, "boundary": None}
        with pytest.raises(InvalidInput, match="boundary"):
            svc.edit_cursor("hypot", split_world.world.campaign_id, sid, {"boundary": "a b"})
    assert sorted(split_world.files(split_world.launch(sid))) == sorted(order[:10])
