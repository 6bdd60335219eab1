"""The project attributes poms_dd puts on every Data Dispatcher project it creates (SPEC §2.7).

Ids are JSON integers: DD matches attributes by JSON equality, so ``"12"`` would not find ``12``.

| attribute | type | value |
|---|---|---|
| ``poms_experiment`` | string | experiment name |
| ``poms_campaign_id``, ``poms_stage_id``, ``poms_submission_id``, ``poms_task_id`` | integer | our ids (the task id is the DD submission record's id) |
| ``poms_campaign_name``, ``poms_stage_name`` | string | names at launch time |
| ``poms_split_type`` | string or null | the canonical split type used (null without a split) |
| ``poms_split_slice`` | string | the slice key, e.g. ``k=3``, ``slice=0``, ``first``, ``query`` |
| ``poms_launcher`` | string | who launched (user name, or the system actor) |
| ``poms_role`` | string | the stage's role (analysis or production) |
| ``poms_launch_kind`` | string | standard, test, relaunch, recovery, dependency, override, scheduled |
| ``poms_parent_submission_id`` | integer | only when the submission has a parent |
"""
from __future__ import annotations

from typing import Any

from ...models import DataDispatcherSubmission, Submission

KEYS = ("poms_experiment", "poms_campaign_id", "poms_campaign_name", "poms_stage_id", "poms_stage_name",
        "poms_submission_id", "poms_task_id", "poms_split_type", "poms_split_slice", "poms_launcher", "poms_role",
        "poms_launch_kind", "poms_parent_submission_id")


def project_attributes(sub: Submission, task: DataDispatcherSubmission, launcher: str) -> dict[str, Any]:
    stage = sub.stage
    camp = stage.campaign
    attrs: dict[str, Any] = {
        "poms_experiment": camp.experiment.name, "poms_campaign_id": int(camp.id), "poms_campaign_name": camp.name,
        "poms_stage_id": int(stage.id), "poms_stage_name": stage.name, "poms_submission_id": int(sub.id),
        "poms_task_id": int(task.id), "poms_split_type": task.split_type,
        "poms_split_slice": (task.split_slice or {}).get("key"), "poms_launcher": launcher, "poms_role": stage.role,
        "poms_launch_kind": sub.launch_kind,
    }
    if sub.parent_id is not None:
        attrs["poms_parent_submission_id"] = int(sub.parent_id)
    return attrs
