"""stagedfiles(n) executed through the launch path against a DD project of the testbed, made and worked on with
the real DD client (its owner marks files done, as jobs do): each slice takes exactly the done files not yet
delivered, in (namespace, name) order; more done files make the next slice; a failed launch gives its files
back; test and production launches keep their own deliveries; the dry run; the cost of a slice does not grow
with the files delivered before; bad stage queries."""
from __future__ import annotations

import pytest
from dd_helpers import dd_client, make_project, mark_done
from split_helpers import seed_order

from poms_dd.adapters.metacat import parse_mql
from poms_dd.errors import InvalidInput
from poms_dd.models import Campaign, CampaignStage, LaunchTemplate
from poms_dd.services.launch.resolve import split_context
from poms_dd.services.splits import parse


def in_run(run):
    return lambda f: run in f.metadata.get("core.runs", [])


def reason(doc) -> str:
    return doc["history"][-1]["reason"]


def did_order(dids) -> list[str]:
    """DIDs in the order the split takes done files: by (namespace, name)."""
    return sorted(dids, key=lambda d: tuple(d.split(":", 1)))


def fids_of(tb, dids) -> list[str]:
    return [tb.store.files_by_did[d].fid for d in dids]


@pytest.fixture
def project(tb, tmp_path):
    """A DD project of the 100 raw files of run 1012 whose handles are in reverse name order (so workers finish
    them in an order unrelated to the split's), and the client of its owner."""
    client = dd_client(tb, tmp_path)
    dids = [tb.store.files_by_fid[f].did for f in seed_order(tb, where=in_run(1012))]
    return make_project(client, list(reversed(did_order(dids)))), client


def test_each_slice_takes_the_next_done_files_not_yet_delivered(split_world, tb, project):
    pid, client = project
    done = mark_done(client, pid, 7)
    sid = split_world.stage("staged", "stagedfiles(5)", str(pid))
    delivered: list[str] = []
    for want in (5, 2):
        expected = did_order(set(done) - set(delivered))[:want]
        doc = split_world.launch(sid)
        assert doc["status"] == "created", doc["history"]
        assert doc["mql"] == "fids " + ",".join(fids_of(tb, expected))
        parse_mql(doc["mql"])
        assert sorted(split_world.files(doc)) == sorted(fids_of(tb, expected))
        delivered += expected
    made = set(tb.store.projects)
    idle = split_world.launch(sid)
    assert idle["status"] == "launch_failed" and idle["dd_project_id"] is None
    assert "Nothing new to launch" in reason(idle) and set(tb.store.projects) == made

    done += mark_done(client, pid, 6)                             # more files done: the next slices take them
    for want in (5, 1):
        expected = did_order(set(done) - set(delivered))[:want]
        doc = split_world.launch(sid)
        assert doc["status"] == "created", doc["history"]
        assert sorted(split_world.files(doc)) == sorted(fids_of(tb, expected))
        delivered += expected
    assert sorted(delivered) == sorted(done) and len(set(delivered)) == 13
    assert split_world.cursor(sid)["slices"] == 4
    assert split_world.launch(sid)["status"] == "launch_failed"


def test_a_restarted_and_again_done_file_is_not_taken_twice(split_world, tb, tmp_path):
    client = dd_client(tb, tmp_path)
    dids = [tb.store.files_by_fid[f].did for f in seed_order(tb, where=in_run(1013))[:4]]
    pid = make_project(client, dids)
    done = mark_done(client, pid, 3)
    sid = split_world.stage("staged-restart", "stagedfiles(10)", str(pid))
    assert sorted(split_world.files(split_world.launch(sid))) == sorted(fids_of(tb, done))
    client.restart_handles(pid, handles=[done[0]])
    again = mark_done(client, pid, 2)                             # the fourth file, and done[0] once more
    assert sorted(again) == sorted(set(dids) - set(done[1:]))
    doc = split_world.launch(sid)
    assert sorted(split_world.files(doc)) == fids_of(tb, [d for d in dids if d not in done])
    assert split_world.launch(sid)["status"] == "launch_failed"


def test_a_failed_launch_gives_its_files_back(split_world, tb, project):
    pid, client = project
    done = mark_done(client, pid, 4)
    with split_world.db.session() as s:
        exp_id = s.get(Campaign, split_world.world.campaign_id).experiment_id
        tpl = LaunchTemplate(experiment_id=exp_id, name=f"staged-fails-{pid}", executor="local",
                             command_template="false")
        s.add(tpl)
        s.commit()
        failing = tpl.id
    sid = split_world.stage("staged-fail", "stagedfiles(3)", str(pid), launch_template_id=failing)
    failed = split_world.launch(sid)
    assert failed["status"] == "launch_failed" and "launch command failed" in reason(failed)
    assert tb.store.projects[failed["dd_project_id"]].state == "cancelled"
    assert split_world.cursor(sid) == {}
    with split_world.db.session() as s:
        s.get(CampaignStage, sid).launch_template_id = split_world.world.template_id
        s.commit()
    again = split_world.launch(sid)
    assert sorted(split_world.files(again)) == sorted(fids_of(tb, did_order(done)[:3]))


def test_test_launches_keep_their_own_cursor_and_deliveries(split_world, tb, project):
    pid, client = project
    done = did_order(mark_done(client, pid, 6))
    sid = split_world.stage("staged-iso", "stagedfiles(4)", str(pid), test_split_type="stagedfiles(3)")
    test = split_world.launch(sid, kind="test")
    assert sorted(split_world.files(test)) == sorted(fids_of(tb, done[:3])) and split_world.cursor(sid) == {}
    prod = split_world.launch(sid)
    assert sorted(split_world.files(prod)) == sorted(fids_of(tb, done[:4]))
    test2 = split_world.launch(sid, kind="test")
    assert sorted(split_world.files(test2)) == sorted(fids_of(tb, done[3:6]))
    assert split_world.cursor(sid)["slices"] == 1 and split_world.cursor(sid, test=True)["slices"] == 2


def _context(split_world, sid):
    s = split_world.db.session()
    stage = s.get(CampaignStage, sid)
    adapters = split_world.world.services(s).adapters(stage.campaign.experiment)
    return s, split_context(s, stage, False, adapters)


def test_peek_lists_the_next_slices_without_side_effects(split_world, tb, project):
    pid, client = project
    done = did_order(mark_done(client, pid, 12))
    sid = split_world.stage("staged-peek", "stagedfiles(5)", str(pid))
    s, ctx = _context(split_world, sid)
    with s:
        t = ctx.spec.split_type
        slices, exhausted = t.peek(ctx.spec.params, ctx.query, ctx.cursor, ctx.source, 10)
        assert exhausted is True
        assert [list(x.fids) for x in slices] == [fids_of(tb, done[k:k + 5]) for k in (0, 5, 10)]
        assert [x.key for x in slices] == ["slice=0", "slice=1", "slice=2"]
        two, more = t.peek(ctx.spec.params, ctx.query, ctx.cursor, ctx.source, 2)
        assert len(two) == 2 and more is False
        assert t.exhausted(ctx.spec.params, ctx.query, ctx.cursor, ctx.source) is False
    assert split_world.cursor(sid) == {}
    first = split_world.launch(sid)
    assert sorted(split_world.files(first)) == sorted(fids_of(tb, done[:5]))


class Counting:
    """A launch source that counts the done files the split looks up (MetaCat fids and our delivery record)."""

    def __init__(self, inner, looked):
        self.inner, self.looked = inner, looked

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def did_fids(self, dids):
        self.looked.append(len(dids))
        return self.inner.did_fids(dids)

    def with_delivered(self, fids):
        return Counting(self.inner.with_delivered(fids), self.looked)


def test_a_slice_costs_the_same_however_many_files_were_delivered(split_world, tb, tmp_path):
    client = dd_client(tb, tmp_path)
    dids = [tb.store.files_by_fid[f].did for f in seed_order(tb)[:480]]
    pid = make_project(client, list(reversed(did_order(dids))))
    done = did_order(mark_done(client, pid, 450))
    sid = split_world.stage("staged-cost", "stagedfiles(90)", str(pid))
    s, ctx = _context(split_world, sid)
    with s:
        t, params = ctx.spec.split_type, ctx.spec.params
        looked: list[int] = []
        source, cursor = Counting(ctx.source, looked), ctx.cursor
        per_slice = []
        for k in range(5):
            looked.clear()
            chosen = t.next_slice(params, ctx.query, cursor, source)
            assert list(chosen.fids) == fids_of(tb, done[k * 90:(k + 1) * 90])
            per_slice.append(sum(looked))
            cursor, source = chosen.cursor, source.with_delivered(chosen.fids)
        assert max(per_slice) <= 91                               # slice 5 looks at what slice 1 looks at
        looked.clear()
        assert t.next_slice(params, ctx.query, cursor, source) is None and sum(looked) == 0

        client.restart_handles(pid, handles=[done[250]])
        looked.clear()                                            # the cursor range holding it changed: re-read it
        assert t.next_slice(params, ctx.query, cursor, source) is None and sum(looked) == 199

        straggler = mark_done(client, pid, 1)                     # an initial file: sorts before the delivered ones
        assert did_order(done + straggler)[0] == straggler[0]
        looked.clear()
        chosen = t.next_slice(params, ctx.query, cursor, source)
        assert list(chosen.fids) == fids_of(tb, straggler)
        assert sum(looked) == 1 + 199                             # the straggler and the changed range, not all 450
        looked.clear()
        assert list(t.next_slice(params, ctx.query, {}, source).fids) == fids_of(tb, straggler)
        assert sum(looked) == 450                                 # what a slice without the cursor would cost

        cursor, source = chosen.cursor, source.with_delivered(chosen.fids)
        early = did_order(mark_done(client, pid, 20))             # 20 more, all sorting before the rest
        small = {**params, "n": 10}
        for k in range(2):                                        # a slice ending before the cursor's ranges keeps them
            looked.clear()
            chosen = t.next_slice(small, ctx.query, cursor, source)
            assert list(chosen.fids) == fids_of(tb, early[k * 10:(k + 1) * 10])
            assert sum(looked) <= 11
            cursor, source = chosen.cursor, source.with_delivered(chosen.fids)


def test_bad_stage_queries_and_parameters_say_what_is_wrong(split_world, tb):
    sid = split_world.stage("staged-mql", "stagedfiles(5)", "files from hypot:raw")
    doc = split_world.launch(sid)
    assert doc["status"] == "launch_failed"
    assert reason(doc) == ("The split type stagedfiles(5) needs the stage query to be the id of an existing Data "
                           "Dispatcher project (a positive integer), got 'files from hypot:raw'.")
    missing = split_world.stage("staged-missing", "stagedfiles(5)", "987654")
    doc = split_world.launch(missing)
    assert doc["status"] == "launch_failed"
    assert reason(doc) == "Data Dispatcher has no project 987654 (the stage's query)."
    for text, message in (("stagedfiles", "n is missing, e.g. stagedfiles(5)."),
                          ("stagedfiles(0)", "n must be a positive integer, got '0'."),
                          ("stagedfiles(5,6)", "takes exactly one parameter n")):
        with pytest.raises(InvalidInput) as err:
            parse(text)
        assert message in err.value.message
