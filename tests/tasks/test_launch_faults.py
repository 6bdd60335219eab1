"""The fault matrix of a launch, with a real worker process and the testbed's fault hook: each case ends with a
clear status and message, no duplicate project, no orphan project (a DD project of ours left active while its
submission failed) and no lost submission."""
from __future__ import annotations

import requests
from launch_helpers import dd_client, env_of, launch, make_stage

from poms_dd.models import LaunchTemplate


def fault(world, service: str, status: int, count: int) -> None:
    requests.post(f"{world.testbed.url}/_testbed/fault", params={"service": service, "status": status,
                                                                  "count": count}, timeout=5).raise_for_status()


def clear(world) -> None:
    requests.delete(f"{world.testbed.url}/_testbed/fault", timeout=5).raise_for_status()


def ours(world, tmp_path, stage_id: int) -> list[dict]:
    return dd_client(world, tmp_path).list_projects(owner="all", state=None, not_state=None,
                                                    attributes={"poms_stage_id": stage_id}, with_files=False)


def template(world, name: str, command: str) -> int:
    with world.db.session() as s:
        from poms_dd.models import Campaign
        tpl = LaunchTemplate(experiment_id=s.get(Campaign, world.campaign_id).experiment_id, name=name,
                             executor="local", command_template=command)
        s.add(tpl)
        s.commit()
        return tpl.id


def test_metacat_failing_fails_the_launch_before_anything_is_created(launch_world, worker, tmp_path):
    sid = make_stage(launch_world, "mc-down", split_type="nfiles(3)")
    fault(launch_world, "mc", 500, 50)
    try:
        doc = launch_world.wait_for(launch(launch_world, sid).json["submission_id"])
    finally:
        clear(launch_world)
    assert doc["status"] == "launch_failed" and "MetaCat" in doc["history"][-1]["reason"], doc["history"]
    assert "Traceback" not in doc["history"][-1]["reason"] and doc["dd_project_id"] is None
    assert ours(launch_world, tmp_path, sid) == []


def test_a_data_dispatcher_error_around_the_create_is_retried_into_exactly_one_project(launch_world, worker,
                                                                                       tmp_path):
    sid = make_stage(launch_world, "dd-500", split_type="nfiles(3)")
    fault(launch_world, "dd", 500, 2)              # the lookup and the create fail once; the job is retried
    try:
        doc = launch_world.wait_for(launch(launch_world, sid).json["submission_id"], timeout=90)
    finally:
        clear(launch_world)
    assert doc["status"] == "created", doc["history"]
    assert [p["project_id"] for p in ours(launch_world, tmp_path, sid)] == [doc["dd_project_id"]]


def test_a_hanging_command_times_out_and_its_project_is_cancelled(launch_world, worker, tmp_path):
    sid = make_stage(launch_world, "hangs", split_type="nfiles(2)",
                     launch_template_id=template(launch_world, "hangs", "echo started; sleep 60"))
    doc = launch_world.wait_for(launch(launch_world, sid).json["submission_id"], timeout=60)
    assert doc["status"] == "launch_failed" and "timed out after 6 s" in doc["history"][-1]["reason"]
    assert [p["state"] for p in ours(launch_world, tmp_path, sid)] == ["cancelled"]
    log = launch_world.client.get(f"/api/experiments/hypot/submissions/{doc['id']}/log",
                                  headers=launch_world.headers()).get_data(as_text=True)
    assert "started" in log


def test_an_override_launch_uses_the_stage_project_without_changing_it(launch_world, worker, tmp_path):
    client = dd_client(launch_world, tmp_path)
    project = client.create_project(["hypot:hypot_raw_r1000_0000001.root"], project_attributes={"mine": 1},
                                    query="files from hypot:raw limit 1")
    sid = make_stage(launch_world, "override", data_dispatcher_dataset_query=None,
                     data_dispatcher_project_id=project["project_id"])
    doc = launch_world.wait_for(launch(launch_world, sid).json["submission_id"])
    assert doc["status"] == "created" and doc["launch_kind"] == "override"
    assert doc["dd_project_id"] == project["project_id"]
    assert client.get_project(project["project_id"], with_files=False)["attributes"] == {"mine": 1}
    env = env_of(launch_world, doc["id"])
    assert env["POMS_DATA_DISPATCHER_PROJECT_ID"] == str(project["project_id"])
    assert env["POMS_DATA_DISPATCHER_DATASET_QUERY"] == "files from hypot:raw limit 1"
