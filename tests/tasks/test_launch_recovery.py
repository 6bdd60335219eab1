"""A worker that stops part-way through a launch: the next run continues from what was recorded — the project
DD already has is found by its ``poms_task_id`` (no duplicate, no orphan), and a command that may have run
is not run twice.  The runner is driven step by step in this process (no worker), on the committed database."""
from __future__ import annotations

from launch_helpers import dd_client, make_stage
from sqlalchemy import select

from poms_dd.models import Submission, SubmissionStatus, SubmissionStatusEvent, User
from poms_dd.services.launch.command import RUNNING


def queued(world, stage_id: int) -> int:
    with world.db.session() as s:
        paula = s.scalars(select(User).where(User.username == "paula")).one()
        sub = Submission(stage_id=stage_id, launcher_id=paula.id, status=SubmissionStatus.QUEUED)
        s.add(sub)
        s.commit()
        return sub.id


def test_a_project_created_before_a_crash_is_found_not_created_again(launch_world, tmp_path):
    sid = make_stage(launch_world, "crash-after-create", split_type="nfiles(4)")
    sub_id = queued(launch_world, sid)
    with launch_world.db.session() as s:
        runner = launch_world.services(s).launch_runner()
        sub = s.get(Submission, sub_id)
        runner._prepare(sub)                              # the intent is recorded ...
        created = runner._create(sub, sub.dd_task)        # ... DD made the project, then the worker died
        task_id = sub.dd_task.id
    with launch_world.db.session() as s:                  # the job runs again (another worker)
        assert launch_world.services(s).launch_runner().run(sub_id) == SubmissionStatus.CREATED
    doc = launch_world.wait_for(sub_id, timeout=5)
    projects = dd_client(launch_world, tmp_path).list_projects(owner="all", state=None, not_state=None,
                                                               attributes={"poms_task_id": task_id})
    assert [p["project_id"] for p in projects] == [created.project_id] == [doc["dd_project_id"]]
    assert any("found Data Dispatcher project" in e["reason"] for e in doc["history"])
    with launch_world.db.session() as s:
        from poms_dd.models import CampaignStage
        assert s.get(CampaignStage, sid).split_cursor["k"] == 1       # the cursor moved exactly once


def test_a_worker_that_died_while_the_command_ran_fails_the_launch_and_cancels_the_project(launch_world, tmp_path):
    sid = make_stage(launch_world, "crash-in-command", split_type="nfiles(2)")
    sub_id = queued(launch_world, sid)
    with launch_world.db.session() as s:
        runner = launch_world.services(s).launch_runner()
        sub = s.get(Submission, sub_id)
        runner._prepare(sub)
        runner._project(sub, sub.dd_task)
        sub.history.append(SubmissionStatusEvent(status=SubmissionStatus.LAUNCHING, reason=RUNNING))
        s.commit()                                        # the command started; the worker was killed
    with launch_world.db.session() as s:
        assert launch_world.services(s).launch_runner().run(sub_id) == SubmissionStatus.LAUNCH_FAILED
    doc = launch_world.wait_for(sub_id, timeout=5)
    assert "not known whether its jobs were submitted" in doc["history"][-1]["reason"]
    project = dd_client(launch_world, tmp_path).get_project(doc["dd_project_id"], with_files=False)
    assert project["state"] == "cancelled"
    assert not (launch_world.out / f"env_{sub_id}.txt").exists()       # the command was not run a second time
    with launch_world.db.session() as s:
        from poms_dd.models import CampaignStage
        assert s.get(CampaignStage, sid).split_cursor == {}            # the slice was given back


def test_a_finished_launch_is_not_run_again(launch_world):
    sid = make_stage(launch_world, "twice", split_type="limitn(1)")
    sub_id = queued(launch_world, sid)
    with launch_world.db.session() as s:
        assert launch_world.services(s).launch_runner().run(sub_id) == SubmissionStatus.CREATED
    with launch_world.db.session() as s:
        assert launch_world.services(s).launch_runner().run(sub_id) == SubmissionStatus.CREATED
        assert len(s.get(Submission, sub_id).history) == len(set((e.id for e in s.get(Submission, sub_id).history)))
    assert len((launch_world.out / f"env_{sub_id}.txt").read_text()) > 0
