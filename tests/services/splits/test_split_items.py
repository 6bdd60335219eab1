"""list and multiparam executed through the launch path against the testbed: each list item kind (a parameter
launch reaching the launch environment, an existing DD project, a query, bare MQL), every multiparam
combination as a parameter launch, exhaustion, cursor isolation, the dry run, and bad parameters."""
from __future__ import annotations

import pytest
from dd_helpers import dd_client, make_project
from split_helpers import seed_order

from poms_dd.adapters.metacat import parse_mql
from poms_dd.errors import InvalidInput
from poms_dd.models import Campaign, CampaignStage, LaunchTemplate
from poms_dd.services.launch.resolve import split_context
from poms_dd.services.splits import parse

RUN_Q = "files from hypot:raw where core.runs[any] = {run}"


def in_run(run):
    return lambda f: run in f.metadata.get("core.runs", [])


def projects(tb) -> set[int]:
    return set(tb.store.projects)


def reason(doc) -> str:
    return doc["history"][-1]["reason"]


def existing_project(tb, tmp_path, run: int = 1008, k: int = 6) -> tuple[int, list[str], str]:
    """A DD project made outside poms_dd (by the real client): its id, fids and query."""
    query = RUN_Q.format(run=run) + " ordered limit 6"
    fids = seed_order(tb, where=in_run(run))[:k]
    dids = [tb.store.files_by_fid[f].did for f in fids]
    return make_project(dd_client(tb, tmp_path), dids, query=query), fids, query


def test_list_launches_each_item_kind_in_order_then_is_exhausted(split_world, tb, tmp_path):
    pid, pfids, pquery = existing_project(tb, tmp_path)
    split = (f"list(param: 01-20030-es, project_id: {pid}, query: {RUN_Q.format(run=1006)}, "
             f"{RUN_Q.format(run=1007)})")
    sid = split_world.stage("list", split, query=None)
    before = projects(tb)

    param = split_world.launch(sid)
    assert param["status"] == "created", param["history"]
    assert param["dd_project_id"] is None and param["parameter"] == "01-20030-es"
    assert param["env"]["POMS_DATA_DISPATCHER_PARAMETER"] == "01-20030-es"
    assert param["env"]["POMS_DATA_DISPATCHER_PROJECT_ID"] == ""
    assert param["env"]["POMS_DATA_DISPATCHER_DATASET_QUERY"] == ""
    assert projects(tb) == before                                 # a parameter launch creates no project

    existing = split_world.launch(sid)
    assert existing["status"] == "created", existing["history"]
    assert existing["dd_project_id"] == pid and existing["parameter"] is None
    assert existing["env"]["POMS_DATA_DISPATCHER_PROJECT_ID"] == str(pid)
    assert existing["mql"] == pquery and existing["env"]["POMS_DATA_DISPATCHER_DATASET_QUERY"] == pquery
    assert sorted(split_world.files(existing)) == sorted(pfids)
    assert projects(tb) == before                                 # the item's project, not a new one

    for run in (1006, 1007):
        doc = split_world.launch(sid)
        assert doc["status"] == "created", doc["history"]
        assert doc["dd_project_id"] not in before
        assert doc["mql"] == f"({RUN_Q.format(run=run)})"
        parse_mql(doc["mql"])
        assert doc["env"]["POMS_DATA_DISPATCHER_PROJECT_ID"] == str(doc["dd_project_id"])
        assert sorted(split_world.files(doc)) == sorted(seed_order(tb, where=in_run(run)))
    assert split_world.cursor(sid)["k"] == 4

    made = projects(tb)
    done = split_world.launch(sid)
    assert done["status"] == "launch_failed" and done["dd_project_id"] is None
    assert "All slices of the split type list(" in reason(done) and "Reset the split" in reason(done)
    assert projects(tb) == made and split_world.cursor(sid)["k"] == 4


def test_a_param_item_passes_the_stage_query_on(split_world, tb):
    query = RUN_Q.format(run=1009)
    sid = split_world.stage("list-q", "list(param: a-1, param: b-2)", query=query)
    docs = [split_world.launch(sid) for _ in range(2)]
    assert [d["parameter"] for d in docs] == ["a-1", "b-2"]
    for doc in docs:
        assert doc["status"] == "created" and doc["dd_project_id"] is None
        assert doc["mql"] == query and doc["env"]["POMS_DATA_DISPATCHER_DATASET_QUERY"] == query
        assert doc["file_count"] == len(seed_order(tb, where=in_run(1009)))


def test_a_failed_launch_of_an_existing_project_item_does_not_cancel_it(split_world, tb, tmp_path):
    pid, _, _ = existing_project(tb, tmp_path)
    with split_world.db.session() as s:
        exp_id = s.get(Campaign, split_world.world.campaign_id).experiment_id
        tpl = LaunchTemplate(experiment_id=exp_id, name=f"fails-{pid}", executor="local", command_template="false")
        s.add(tpl)
        s.commit()
        tpl_id = tpl.id
    sid = split_world.stage("list-fail", f"list(project_id: {pid})", query=None, launch_template_id=tpl_id)
    doc = split_world.launch(sid)
    assert doc["status"] == "launch_failed" and "launch command failed" in reason(doc)
    assert tb.store.projects[pid].state == "active"
    assert split_world.cursor(sid).get("k", 0) == 0               # the item is given back


def test_a_missing_project_item_or_a_bad_query_item_fails_clearly(split_world, tb):
    sid = split_world.stage("list-missing", "list(project_id: 987654)", query=None)
    doc = split_world.launch(sid)
    assert doc["status"] == "launch_failed"
    assert reason(doc) == ("Data Dispatcher has no project 987654 (an item of the split type "
                           "list(project_id: 987654)); correct the stage.")
    assert split_world.cursor(sid).get("k", 0) == 0
    before = projects(tb)
    bad = split_world.stage("list-bad", "list(query: files frm hypot:raw)", query=None)
    doc = split_world.launch(bad)
    assert doc["status"] == "launch_failed" and "MetaCat rejects the query '(files frm hypot:raw)'" in reason(doc)
    assert projects(tb) == before and split_world.cursor(bad).get("k", 0) == 0


def test_list_test_launches_use_the_test_cursor_only(split_world, tb):
    sid = split_world.stage("list-iso", "list(param: p0, param: p1)", query=None,
                            test_split_type="list(param: t0, param: t1)")
    assert split_world.launch(sid, kind="test")["parameter"] == "t0"
    assert split_world.cursor(sid) == {} and split_world.cursor(sid, test=True)["k"] == 1
    assert split_world.launch(sid)["parameter"] == "p0"
    assert split_world.launch(sid, kind="test")["parameter"] == "t1"
    assert split_world.cursor(sid)["k"] == 1 and split_world.cursor(sid, test=True)["k"] == 2


def _context(split_world, sid, test=False):
    s = split_world.db.session()
    stage = s.get(CampaignStage, sid)
    adapters = split_world.world.services(s).adapters(stage.campaign.experiment)
    return s, split_context(s, stage, test, adapters)


def test_list_peek_lists_every_item_without_side_effects(split_world, tb, tmp_path):
    pid, _, _ = existing_project(tb, tmp_path)
    q = RUN_Q.format(run=1010)
    sid = split_world.stage("list-peek", f"list(param: x; project_id: {pid}; query: {q}; fids 1,2)", query=None)
    s, ctx = _context(split_world, sid)
    with s:
        t = ctx.spec.split_type
        slices, exhausted = t.peek(ctx.spec.params, ctx.query, ctx.cursor, ctx.source, 10)
        assert exhausted is True
        assert [(x.key, x.parameter_launch, x.parameter, x.project_id) for x in slices] == [
            ("item=0", True, "x", None), ("item=1", False, None, pid), ("item=2", False, None, None),
            ("item=3", False, None, None)]
        assert [x.mql for x in slices[2:]] == [f"({q})", "(fids 1,2)"]
        for x in slices[2:]:
            parse_mql(x.mql)
        two, more = t.peek(ctx.spec.params, ctx.query, ctx.cursor, ctx.source, 2)
        assert [x.key for x in two] == ["item=0", "item=1"] and more is False
        assert t.exhausted(ctx.spec.params, ctx.query, {"k": 4}, ctx.source) is True
        assert t.exhausted(ctx.spec.params, ctx.query, {"k": 3}, ctx.source) is False
    assert split_world.cursor(sid) == {}
    assert split_world.launch(sid)["parameter"] == "x"            # the dry run moved nothing


def test_multiparam_launches_every_combination_once_as_a_parameter_launch(split_world, tb):
    sid = split_world.stage("mp", "multiparam([a,b],[x,y,z])", query=None)
    before = projects(tb)
    expected = ["a_x", "b_x", "a_y", "b_y", "a_z", "b_z"]        # the first list varies fastest (SPEC §5)
    got = []
    for k, combination in enumerate(expected):
        doc = split_world.launch(sid)
        assert doc["status"] == "created", doc["history"]
        assert doc["dd_project_id"] is None and doc["split_slice"] == f"combination={k}"
        assert doc["env"]["POMS_DATA_DISPATCHER_PARAMETER"] == combination
        assert doc["env"]["POMS_DATA_DISPATCHER_PROJECT_ID"] == ""
        got.append(doc["parameter"])
    assert got == expected and split_world.cursor(sid)["k"] == 6
    done = split_world.launch(sid)
    assert done["status"] == "launch_failed" and "All slices of the split type multiparam" in reason(done)
    assert projects(tb) == before


def test_multiparam_with_a_stage_query_and_its_peek(split_world, tb):
    query = RUN_Q.format(run=1011)
    sid = split_world.stage("mp-q", "multiparam([1,2,3])", query=query, test_split_type="multiparam([t])")
    s, ctx = _context(split_world, sid)
    with s:
        slices, exhausted = ctx.spec.split_type.peek(ctx.spec.params, ctx.query, ctx.cursor, ctx.source, 5)
        assert [x.parameter for x in slices] == ["1", "2", "3"] and exhausted is True
        assert all(x.parameter_launch and x.mql == query for x in slices)
    assert split_world.cursor(sid) == {}
    doc = split_world.launch(sid)
    assert doc["parameter"] == "1" and doc["env"]["POMS_DATA_DISPATCHER_DATASET_QUERY"] == query
    assert doc["file_count"] == len(seed_order(tb, where=in_run(1011)))
    test = split_world.launch(sid, kind="test")
    assert test["parameter"] == "t" and split_world.cursor(sid)["k"] == 1
    assert split_world.launch(sid, kind="test")["status"] == "launch_failed"
    assert split_world.launch(sid)["parameter"] == "2"


@pytest.mark.parametrize("text, message", [
    ("list()", "every item must be non-empty"),
    ("list(param: a,,param: b)", "every item must be non-empty (items separated by ',')"),
    ("list(project_id: abc)", "item 1 project_id must be a positive integer, got 'abc'."),
    ("list(param: a, param:)", "item 2 ('param:') has no value after 'param:'."),
    ("multiparam(a,b)", "list 1 must be written in brackets like [a,b], got 'a'."),
    ("multiparam([a,],[c])", "value '' in list 1 must be non-empty"),
    ("multiparam([a b])", "value 'a b' in list 1 must be non-empty and contain no spaces"),
])
def test_bad_parameters_say_what_is_wrong(text, message):
    with pytest.raises(InvalidInput) as err:
        parse(text)
    assert message in err.value.message
