"""The launch world of the tests that launch for real (``tests/tasks``, ``tests/services/splits``): experiment
``hypot`` onboarded against a testbed in a committed database of the module's own, users ``paula``
(production) and ``ana`` (analysis) with API tokens, a Data Dispatcher campaign and a local launch template."""
from __future__ import annotations

import json
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.fernet import Fernet

from factories import make_user
from poms_dd import create_app
from poms_dd.models import Campaign, LaunchTemplate
from poms_dd.permissions import Actor
from poms_dd.services.factory import Services
from poms_dd.settings import Settings

ENV_COMMAND = "env > {out}/env_{{submission_id}}.txt; echo launched {{stage}} {{project_id}}"


@dataclass
class LaunchWorld:
    settings: Settings
    env: dict[str, str]
    client: object
    db: object
    tokens: dict[str, str]
    out: Path
    campaign_id: int
    template_id: int
    testbed: object
    procs: list = field(default_factory=list)

    def headers(self, user: str = "paula", key: str | None = None) -> dict[str, str]:
        h = {"Authorization": f"Bearer {self.tokens[user]}"}
        if key:
            h["Idempotency-Key"] = key
        return h

    def services(self, session) -> Services:
        return Services(session, Actor.system_actor("test"), settings=self.settings)

    def wait_for(self, submission_id: int, statuses=("created", "launch_failed"), timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            doc = self.client.get(f"/api/experiments/hypot/submissions/{submission_id}", headers=self.headers()).json
            if doc["status"] in statuses:
                return doc
            if time.monotonic() > deadline:
                raise AssertionError(f"submission {submission_id} still {doc['status']}: {json.dumps(doc)[:2000]}")
            time.sleep(0.2)


def _onboard(world_db, settings: Settings, tb) -> None:
    with world_db.session() as s:
        Services(s, Actor.system_actor("test"), settings=settings).onboarding.create({
            "name": "hypot", "metacat_url": tb.mc_url, "metacat_auth_url": tb.mc_url + "/auth",
            "dd_url": tb.dd_url, "dd_auth_url": tb.dd_url + "/auth", "rucio_host": tb.rucio_url,
            "rucio_account": "poms", "default_namespace": "hypot",
            "credentials": {svc: {"method": "password", "username": "poms", "secret": "poms"}
                            for svc in ("metacat", "data_dispatcher", "rucio")}})


def build_world(live_database_url, live_db, testbed, tmp_path_factory, command: str = ENV_COMMAND):
    """Onboard ``hypot`` against ``testbed`` in the committed database, with users, a campaign and a local
    launch template running ``command`` (``{out}`` is the world's output directory); yields the world."""
    out = tmp_path_factory.mktemp("launch-out")
    instance = tmp_path_factory.mktemp("instance")
    env = {"POMS_DD_DATABASE_URL": live_database_url, "POMS_DD_SECRET_KEY": "launch-secret",
           "POMS_DD_ENCRYPTION_KEY": Fernet.generate_key().decode(), "POMS_DD_INSTANCE_PATH": str(instance),
           "POMS_DD_LAUNCH_TIMEOUT": "6"}
    settings = Settings.from_env(env)
    _onboard(live_db, settings, testbed)
    with live_db.session() as s:
        exp = Services(s, Actor.system_actor("test"), settings=settings).scope.experiment("hypot")
        paula = make_user(s, "paula", roles={exp: "production"})
        ana = make_user(s, "ana", roles={exp: "analysis"})
        camp = Campaign(experiment_id=exp.id, name="reco2026", data_handling_service="data_dispatcher",
                        keywords={"run": "1000"})
        tpl = LaunchTemplate(experiment_id=exp.id, name="envdump", executor="local",
                             command_template=command.format(out=out))
        s.add_all([camp, tpl])
        s.commit()
        users = Services(s, Actor.system_actor("test"), settings=settings).users
        tokens = {u.username: users.create_token(u, "t")[1] for u in (paula, ana)}
        campaign_id, template_id = camp.id, tpl.id
    app = create_app(settings, db=live_db)
    world = LaunchWorld(settings, env, app.test_client(), live_db, tokens, out, campaign_id, template_id, testbed)
    yield world
    for proc in world.procs:
        _stop(proc)




def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
