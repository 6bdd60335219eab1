"""Helpers of the launch tests: stages, the real DD client, launching through the API, the recorded env."""
from __future__ import annotations

from data_dispatcher.api import DataDispatcherClient

from poms_dd.models import CampaignStage

API = "/api/experiments/hypot/campaigns/{cid}/stages/{sid}/launches"


def make_stage(world, name: str, **kw) -> int:
    kw.setdefault("data_dispatcher_dataset_query", "files from hypot:raw where core.runs[any] = %(run)s")
    kw.setdefault("launch_template_id", world.template_id)
    kw.setdefault("role", "production")
    with world.db.session() as s:
        stage = CampaignStage(campaign_id=world.campaign_id, name=name, **kw)
        s.add(stage)
        s.commit()
        return stage.id


def dd_client(world, tmp_path) -> DataDispatcherClient:
    client = DataDispatcherClient(server_url=world.testbed.dd_url, auth_server_url=world.testbed.dd_url + "/auth",
                                  token_library=str(tmp_path / "lib"), worker_id="t")
    client.login_password("poms", "poms")
    return client


def launch(world, sid: int, key: str | None = None, kind: str = "standard", user: str = "paula"):
    return world.client.post(API.format(cid=world.campaign_id, sid=sid), json={"kind": kind},
                             headers=world.headers(user, key))


def env_of(world, submission_id: int) -> dict[str, str]:
    text = (world.out / f"env_{submission_id}.txt").read_text()
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
