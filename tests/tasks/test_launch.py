"""Launching through the API with a real worker process: one tagged DD project per launch, the environment the
command received, idempotency keys, the split cursor, and the failures that must leave nothing behind."""
from __future__ import annotations

import re

import pytest
from launch_helpers import dd_client, env_of, launch, make_stage

from poms_dd.models import CampaignStage

def test_a_launch_creates_one_tagged_project_and_runs_the_command_with_its_environment(launch_world, worker,
                                                                                       tmp_path):
    sid = make_stage(launch_world, "nf", split_type="nfiles(5)")
    response = launch(launch_world, sid, key="first-click")
    assert response.status_code == 202, response.json
    sub_id = response.json["submission_id"]
    again = launch(launch_world, sid, key="first-click")            # a double click / a retried API call
    assert again.status_code == 202 and again.json["submission_id"] == sub_id
    doc = launch_world.wait_for(sub_id)
    assert doc["status"] == "created", doc["history"]
    assert doc["mql"] == "(files from hypot:raw where core.runs[any] = 1000) ordered skip 0 limit 5"
    assert doc["file_count"] == 5 and doc["split_slice"] == "k=0"
    projects = dd_client(launch_world, tmp_path).list_projects(
        owner="all", state=None, not_state=None, attributes={"poms_task_id": doc["dd_task_id"]}, with_files=True)
    assert [p["project_id"] for p in projects] == [doc["dd_project_id"]]
    attrs = projects[0]["attributes"]
    assert attrs["poms_submission_id"] == sub_id and isinstance(attrs["poms_stage_id"], int)
    assert attrs["poms_launch_kind"] == "standard" and attrs["poms_launcher"] == "paula"
    assert attrs["poms_split_type"] == "nfiles(5)" and attrs["poms_split_slice"] == "k=0"
    assert len(projects[0]["file_handles"]) == 5 and "paula" in projects[0]["users"]
    found = dd_client(launch_world, tmp_path).search_projects(
        f"poms_task_id = {doc['dd_task_id']} and poms_launch_kind = standard", state="all", with_files=False)
    assert [p["project_id"] for p in found] == [doc["dd_project_id"]]
    env = env_of(launch_world, sub_id)
    assert env["POMS_DATA_DISPATCHER_PROJECT_ID"] == str(doc["dd_project_id"])
    assert env["POMS_DATA_DISPATCHER_TASK_ID"] == str(doc["dd_task_id"])
    assert env["POMS_DATA_DISPATCHER_DATASET_QUERY"] == doc["mql"]
    assert env["DATA_DISPATCHER_URL"] == launch_world.testbed.dd_url
    assert "POMS_DD_ENCRYPTION_KEY" not in env                       # the worker's secrets stay in the worker
    log = launch_world.client.get(f"/api/experiments/hypot/submissions/{sub_id}/log",
                                  headers=launch_world.headers()).get_data(as_text=True)
    assert f"launched nf {doc['dd_project_id']}" in log


def test_the_next_launch_takes_the_next_slice(launch_world, worker):
    sid = make_stage(launch_world, "nf2", split_type="nfiles(3)")
    first = launch_world.wait_for(launch(launch_world, sid).json["submission_id"])
    second = launch_world.wait_for(launch(launch_world, sid).json["submission_id"])
    assert (first["split_slice"], second["split_slice"]) == ("k=0", "k=1")
    assert first["dd_project_id"] != second["dd_project_id"]
    assert second["mql"].endswith("ordered skip 3 limit 3")


def test_quotes_parentheses_and_command_substitution_reach_the_command_inert(launch_world, worker, tmp_path):
    marker = tmp_path / "pwned"
    query = (f"files from hypot:raw where core.runs[any] = 1001 and name !~ 'x$(touch {marker})' "
             f"and name !~ \"`touch {marker}`;|&\"")
    sid = make_stage(launch_world, "quoted", data_dispatcher_dataset_query=query, split_type="limitn(2)")
    doc = launch_world.wait_for(launch(launch_world, sid).json["submission_id"])
    assert doc["status"] == "created", doc["history"]
    assert env_of(launch_world, doc["id"])["POMS_DATA_DISPATCHER_DATASET_QUERY"] == f"({query}) ordered limit 2"
    assert not marker.exists()


def test_draining_is_a_parameter_launch_without_a_project(launch_world, worker):
    sid = make_stage(launch_world, "drain", split_type="draining")
    doc = launch_world.wait_for(launch(launch_world, sid).json["submission_id"])
    assert doc["status"] == "created" and doc["dd_project_id"] is None
    env = env_of(launch_world, doc["id"])
    assert env["POMS_DATA_DISPATCHER_PROJECT_ID"] == ""
    assert env["POMS_DATA_DISPATCHER_DATASET_QUERY"] == "files from hypot:raw where core.runs[any] = 1000"


def test_drainingn_never_repeats_a_file(launch_world, worker):
    sid = make_stage(launch_world, "dn", split_type="drainingn(4)",
                     data_dispatcher_dataset_query="files from hypot:raw where core.runs[any] = 1002")
    docs = [launch_world.wait_for(launch(launch_world, sid).json["submission_id"]) for _ in range(3)]
    fid_lists = [re.fullmatch(r"fids (.*)", d["mql"]).group(1).split(",") for d in docs]
    assert all(len(f) == 4 for f in fid_lists)
    assert len({fid for f in fid_lists for fid in f}) == 12


def test_nothing_to_launch_and_an_analysis_member_on_a_production_stage(launch_world, worker):
    sid = make_stage(launch_world, "empty", data_dispatcher_dataset_query="files from hypot:nosuchdataset")
    doc = launch_world.wait_for(launch(launch_world, sid).json["submission_id"])
    assert doc["status"] == "launch_failed" and doc["dd_project_id"] is None
    assert "Nothing to launch" in doc["history"][-1]["reason"]
    refused = launch(launch_world, sid, user="ana")
    assert refused.status_code == 403 and "production" in refused.json["message"]


def test_a_failing_command_fails_the_launch_and_cancels_its_project(launch_world, worker, tmp_path):
    from poms_dd.models import LaunchTemplate
    with launch_world.db.session() as s:
        tpl = LaunchTemplate(experiment_id=s.get(CampaignStage, make_stage(launch_world, "tmp")).campaign
                             .experiment_id, name="failing", executor="local", command_template="echo boom; exit 3")
        s.add(tpl)
        s.commit()
        tpl_id = tpl.id
    sid = make_stage(launch_world, "fails", split_type="nfiles(2)", launch_template_id=tpl_id)
    doc = launch_world.wait_for(launch(launch_world, sid).json["submission_id"])
    assert doc["status"] == "launch_failed" and "exit status 3" in doc["history"][-1]["reason"]
    project = dd_client(launch_world, tmp_path).get_project(doc["dd_project_id"], with_files=False)
    assert project["state"] == "cancelled"
    again = launch_world.wait_for(launch(launch_world, sid).json["submission_id"])
    assert again["split_slice"] == "k=0"                            # the failed slice was given back


@pytest.mark.parametrize("kind", ["nonsense"])
def test_bad_kind_is_refused(launch_world, kind):
    sid = make_stage(launch_world, f"k-{kind}")
    response = launch(launch_world, sid, kind=kind)
    assert response.status_code == 400 and "standard or test" in response.json["message"]
