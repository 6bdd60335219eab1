"""Split execution against the testbed seed, through the launch path: the launch API queues a submission, the
runner (in this process, no worker) resolves the slice, creates the DD project and records the slice and the
cursor; the tests read back what was recorded and compare it with file sets computed from the testbed's own
store (the seed), not through poms_dd.

``split_world`` (module scope): the launch world (``tests/launch_world.py``) with a launch template that does
nothing (``true``), on a testbed of this module's own, reset before each test (``tb``).  Helpers:

* ``split_world.stage(name, split_type, query=..., **kw)`` → stage id;
* ``split_world.launch(sid, kind="standard")`` → the submission document after the runner ran;
* ``split_world.files(doc)`` → the fids the submission's DD project holds (by the real DD client);
* ``split_helpers.seed_order(tb, dataset, where=None)`` → the fids of a dataset in MetaCat's ``ordered``
  order, from the store.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from launch_world import LaunchWorld, build_world

from poms_dd.models import CampaignStage, Submission

API = "/api/experiments/hypot/campaigns/{cid}/stages/{sid}/launches"


@pytest.fixture(scope="module")
def testbed():
    from poms_dd.testbed.runner import TestbedServer
    server = TestbedServer(seed="demo")
    server.start()
    yield server
    server.stop()


@dataclass
class SplitWorld:
    world: LaunchWorld
    counter: int = 0

    @property
    def db(self):
        return self.world.db

    @property
    def testbed(self):
        return self.world.testbed

    def stage(self, name: str, split_type: str | None, query: str | None = "files from hypot:raw", **kw) -> int:
        kw.setdefault("launch_template_id", self.world.template_id)
        kw.setdefault("role", "production")
        self.counter += 1
        with self.db.session() as s:
            stage = CampaignStage(campaign_id=self.world.campaign_id, name=f"{name}-{self.counter}",
                                  split_type=split_type, data_dispatcher_dataset_query=query, **kw)
            s.add(stage)
            s.commit()
            return stage.id

    def launch(self, sid: int, kind: str = "standard", user: str = "paula") -> dict[str, Any]:
        """Launch through the API, run the queued launch in this process, return the submission document."""
        reply = self.world.client.post(API.format(cid=self.world.campaign_id, sid=sid), json={"kind": kind},
                                       headers=self.world.headers(user))
        assert reply.status_code == 202, reply.json
        sub_id = reply.json["submission_id"]
        with self.db.session() as s:
            self.world.services(s).launch_runner().run(sub_id)
        return self.world.client.get(f"/api/experiments/hypot/submissions/{sub_id}", headers=self.world.headers()).json

    def files(self, doc: dict[str, Any]) -> list[str]:
        """The fids of the submission's DD project, in the project's handle order (read from the store)."""
        store = self.testbed.store
        project = store.projects[doc["dd_project_id"]]
        return [store.files_by_did[h.did].fid for h in project.handles]

    def cursor(self, sid: int, test: bool = False) -> dict[str, Any]:
        with self.db.session() as s:
            stage = s.get(CampaignStage, sid)
            return dict((stage.test_split_cursor if test else stage.split_cursor) or {})

    def submission(self, sub_id: int) -> Submission:
        with self.db.session() as s:
            sub = s.get(Submission, sub_id)
            s.expunge_all()
            return sub


@pytest.fixture(scope="module")
def split_world(live_database_url, live_db, testbed, tmp_path_factory):
    yield from (SplitWorld(w) for w in build_world(live_database_url, live_db, testbed, tmp_path_factory,
                                                    command="true"))


@pytest.fixture
def tb(split_world):
    """The module's testbed, freshly seeded (DD projects included)."""
    split_world.testbed.reset()
    return split_world.testbed
