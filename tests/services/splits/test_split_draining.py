"""drainingn, nfiles, limitn and draining executed through the launch path against the testbed seed: the exact
file sets of the first slices, computed here from the seed."""
from __future__ import annotations

from split_helpers import seed_order

RUN_1000 = "files from hypot:raw where core.runs[any] = 1000"


def in_run(run):
    return lambda f: run in f.metadata.get("core.runs", [])


def test_drainingn_takes_the_next_n_undelivered_files_and_ends_when_none_are_left(split_world, tb):
    order = seed_order(tb, where=in_run(1000))
    sid = split_world.stage("dn", "drainingn(40)", RUN_1000)
    got = []
    for k in range(0, len(order), 40):
        doc = split_world.launch(sid)
        assert doc["status"] == "created", doc["history"]
        assert sorted(split_world.files(doc)) == sorted(order[k:k + 40])
        assert doc["mql"] == "fids " + ",".join(order[k:k + 40])
        got.extend(split_world.files(doc))
    assert sorted(got) == sorted(order)
    last = split_world.launch(sid)
    assert last["status"] == "launch_failed" and last["dd_project_id"] is None
    assert "Nothing new to launch" in last["history"][-1]["reason"]


def test_drainingn_skips_nothing_when_a_launch_failed_and_picks_up_new_files(split_world, tb):
    order = seed_order(tb, where=in_run(1001))
    sid = split_world.stage("dn-grow", "drainingn(30)", "files from hypot:raw where core.runs[any] = 1001")
    first = split_world.launch(sid)
    assert sorted(split_world.files(first)) == sorted(order[:30])
    # a file retired from the launched part shifts the ordered query; the boundary check notices and rescans
    tb.store.files_by_fid[order[3]].retired = True
    second = split_world.launch(sid)
    assert sorted(split_world.files(second)) == sorted(order[30:60])


def test_nfiles_walks_the_ordered_query_in_slices_of_n(split_world, tb):
    order = seed_order(tb, where=in_run(1002))
    sid = split_world.stage("nf", "nfiles(25)", "files from hypot:raw where core.runs[any] = 1002")
    for k in range(0, len(order), 25):
        doc = split_world.launch(sid)
        assert doc["status"] == "created", doc["history"]
        assert sorted(split_world.files(doc)) == sorted(order[k:k + 25])
        assert doc["mql"].endswith(f"ordered skip {k} limit 25")
    assert split_world.cursor(sid)["k"] == -(-len(order) // 25)
    assert split_world.cursor(sid)["baseline"]["count"] == len(order)
    done = split_world.launch(sid)
    assert done["status"] == "launch_failed" and "All slices" in done["history"][-1]["reason"]
    assert done["dd_project_id"] is None and "exhausted_at" in split_world.cursor(sid)


def test_an_exhausted_split_stops_its_schedule_unless_it_can_refill(split_world, tb):
    query = "files from hypot:raw where core.runs[any] = 1005 ordered limit 10"
    fixed = split_world.stage("cron-nf", "nfiles(10)", query, cron_schedule="0 * * * *")
    growing = split_world.stage("cron-dn", "drainingn(10)", query, cron_schedule="0 * * * *")
    for sid in (fixed, growing):
        assert split_world.launch(sid)["status"] == "created"
        assert split_world.launch(sid)["status"] == "launch_failed"
    with split_world.db.session() as s:
        from poms_dd.models import CampaignStage
        assert "stopped" in s.get(CampaignStage, fixed).schedule_disabled_reason
        assert s.get(CampaignStage, growing).schedule_disabled_reason is None
    again = split_world.launch(growing)
    assert "Nothing new to launch" in again["history"][-1]["reason"]


def test_limitn_takes_the_same_first_files_every_time(split_world, tb):
    order = seed_order(tb, where=in_run(1003))
    sid = split_world.stage("ln", "limitn(7)", "files from hypot:raw where core.runs[any] = 1003")
    for _ in range(2):
        doc = split_world.launch(sid)
        assert sorted(split_world.files(doc)) == sorted(order[:7])


def test_test_launches_use_the_test_cursor_only(split_world, tb):
    order = seed_order(tb, where=in_run(1004))
    sid = split_world.stage("iso", "nfiles(20)", "files from hypot:raw where core.runs[any] = 1004",
                            test_split_type="drainingn(5)")
    test = split_world.launch(sid, kind="test")
    assert sorted(split_world.files(test)) == sorted(order[:5])
    assert split_world.cursor(sid) == {}
    prod = split_world.launch(sid)
    assert sorted(split_world.files(prod)) == sorted(order[:20])
    test2 = split_world.launch(sid, kind="test")
    assert sorted(split_world.files(test2)) == sorted(order[5:10])
    assert split_world.cursor(sid)["k"] == 1 and split_world.cursor(sid, test=True)["slices"] == 2


def metacat(tb, tmp_path):
    from metacat.webapi import MetaCatClient
    mc = MetaCatClient(server_url=tb.mc_url, token_library=str(tmp_path / "mc-lib"))
    mc.login_password("poms", "poms")
    return mc


def test_drainingn_takes_files_added_to_the_dataset_after_it_started(split_world, tb, tmp_path):
    query = "files from hypot:raw where core.runs[any] = 1006"
    order = seed_order(tb, where=in_run(1006))
    sid = split_world.stage("dn-new", "drainingn(60)", query)
    first = split_world.launch(sid)
    assert sorted(split_world.files(first)) == sorted(order[:60])
    new = metacat(tb, tmp_path).declare_files("hypot:raw", [
        {"namespace": "hypot", "name": f"late_{i}.root", "size": 10, "metadata": {"core.runs": [1006]}}
        for i in range(30)])
    new_fids = [f["fid"] for f in new]
    second = split_world.launch(sid)
    assert sorted(split_world.files(second)) == sorted(order[60:100] + new_fids[:20])
    third = split_world.launch(sid)
    assert sorted(split_world.files(third)) == sorted(new_fids[20:])


def test_the_cursor_survives_an_app_restart(split_world, tb):
    from poms_dd import create_app
    order = seed_order(tb, where=in_run(1007))
    sid = split_world.stage("restart", "nfiles(30)", "files from hypot:raw where core.runs[any] = 1007")
    split_world.launch(sid)
    split_world.world.client = create_app(split_world.world.settings, db=split_world.db).test_client()
    again = split_world.launch(sid)
    assert sorted(split_world.files(again)) == sorted(order[30:60])


def test_drift_reports_files_added_and_gone_since_the_first_slice(split_world, tb, tmp_path):
    from poms_dd.services.launch.resolve import split_context
    from poms_dd.services.splits.base import drift
    query = "files from hypot:raw where core.runs[any] = 1008"
    order = seed_order(tb, where=in_run(1008))
    sid = split_world.stage("drift", "nfiles(40)", query)
    split_world.launch(sid)
    mc = metacat(tb, tmp_path)
    mc.declare_files("hypot:raw", [{"namespace": "hypot", "name": f"drift_{i}.root", "size": 1,
                                    "metadata": {"core.runs": [1008]}} for i in range(3)])
    for fid in order[:2]:
        mc.retire_file(fid=fid)
    with split_world.db.session() as s:
        from poms_dd.models import CampaignStage
        stage = s.get(CampaignStage, sid)
        ctx = split_context(s, stage, False, split_world.world.services(s).adapters(stage.campaign.experiment))
        report = drift(ctx.query, ctx.cursor, ctx.source)
    assert report is not None and (report["count_then"], report["added"], report["gone"]) == (len(order), 3, 2)
    assert report["count_now"] == len(order) + 1
