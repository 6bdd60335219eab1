"""Small factories for test data (no SQL dumps) and a sign-in helper that goes through the real form."""
from __future__ import annotations

import re

from sqlalchemy.orm import Session

from poms_dd.models import Campaign, CampaignStage, Experiment, ExperimentMembership, User
from poms_dd.services.accounts.credentials import hash_password


def make_experiment(session: Session, name: str = "hypot", **kw) -> Experiment:
    exp = Experiment(name=name, **kw)
    session.add(exp)
    session.flush()
    return exp


def make_user(session: Session, username: str, password: str | None = "pw", *, superuser: bool = False,
              roles: dict[Experiment, str] | None = None) -> User:
    user = User(username=username, full_name=username.title(), is_superuser=superuser,
                password_hash=hash_password(password) if password else None)
    session.add(user)
    session.flush()
    for exp, role in (roles or {}).items():
        session.add(ExperimentMembership(user_id=user.id, experiment_id=exp.id, role=role))
    session.flush()
    session.refresh(user)
    return user


def make_campaign(session: Session, experiment: Experiment, name: str = "reco2026",
                  data_handling_service: str = "data_dispatcher", **kw) -> Campaign:
    camp = Campaign(experiment_id=experiment.id, name=name, data_handling_service=data_handling_service, **kw)
    session.add(camp)
    session.flush()
    return camp


def make_stage(session: Session, campaign: Campaign, name: str = "reco", **kw) -> CampaignStage:
    kw.setdefault("data_dispatcher_dataset_query", "files from hypot:raw")
    stage = CampaignStage(campaign_id=campaign.id, name=name, **kw)
    session.add(stage)
    session.flush()
    return stage


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client, path: str) -> str:
    """GET ``path`` and return the CSRF token of its form."""
    page = client.get(path)
    m = CSRF_RE.search(page.get_data(as_text=True))
    assert m, f"no csrf_token on {path}"
    return m.group(1)


def login(client, username: str, password: str = "pw"):
    """Sign in through the real /login form (CSRF included); returns the response."""
    token = csrf_token(client, "/login")
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token},
                       follow_redirects=False)
