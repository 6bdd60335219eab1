"""Helpers for the adapter contract tests: an ExperimentConnection pointing at a testbed, and the testbed's
fault/clock hooks (real HTTP, nothing mocked)."""
from __future__ import annotations

import time
import uuid
from pathlib import Path

import jwt

import requests

from poms_dd.adapters import Credential, ExperimentConnection


def make_conn(tb, state_dir: Path, user: str = "poms", password: str | None = None, experiment: str = "hypot",
              timeout: float = 5.0, **overrides) -> ExperimentConnection:
    cred = Credential(method="password", username=user, secret=user if password is None else password)
    values = dict(experiment=experiment, state_dir=state_dir, metacat_url=tb.mc_url, dd_url=tb.dd_url,
                  rucio_host=tb.rucio_url, rucio_account=user, default_namespace="hypot", metacat=cred,
                  data_dispatcher=cred, rucio=cred, timeout=timeout)
    values.update(overrides)
    return ExperimentConnection(**values)


def fault(tb, service: str, status: int | None = None, delay: float | None = None, count: int | None = None) -> None:
    params = {"service": service}
    if status is not None:
        params["status"] = status
    if delay is not None:
        params["delay"] = delay
    if count is not None:
        params["count"] = count
    requests.post(f"{tb.url}/_testbed/fault", params=params, timeout=5).raise_for_status()


def clear_faults(tb) -> None:
    requests.delete(f"{tb.url}/_testbed/fault", timeout=5).raise_for_status()


def tick(tb, seconds: float) -> None:
    requests.post(f"{tb.url}/_testbed/tick", params={"seconds": seconds}, timeout=5).raise_for_status()


def forge_token(user: str, lifetime: float = 3600) -> str:
    """A well-formed JWT for ``user`` that the testbed did not sign (its signature check fails: HTTP 401)."""
    now = int(time.time())
    return jwt.encode({"sub": user, "iat": now, "nbf": now - 5, "exp": now + int(lifetime), "jti": uuid.uuid4().hex},
                      "not-the-testbed-secret-but-long-enough-for-hs256", algorithm="HS256")


def write_library(path: Path, server_url: str, token: str) -> None:
    """Overwrite a token library the way the clients' TokenLib writes it."""
    path.write_text(f"{server_url} {token}\n")
