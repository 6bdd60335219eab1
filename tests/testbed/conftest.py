"""Fixtures for the testbed's own tests: one testbed per module, reset before each test, and the real
DD / MetaCat / Rucio clients pointed at it with their token files in the test's tmp_path."""
from __future__ import annotations

import tempfile

import pytest
import requests
from data_dispatcher.api import DataDispatcherClient
from metacat.webapi import MetaCatClient

from poms_dd.testbed.runner import TestbedServer


@pytest.fixture(scope="module")
def tb_server():
    server = TestbedServer(seed="demo").start()
    yield server
    server.stop()


@pytest.fixture
def tb(tb_server):
    """The module's testbed, freshly seeded."""
    tb_server.reset()
    return tb_server


@pytest.fixture
def dd(tb, tmp_path):
    """``dd(user, worker_id="w1")`` → a logged-in DataDispatcherClient (password = username)."""
    def make(user: str = "poms", worker_id: str = "w1", login: bool = True) -> DataDispatcherClient:
        client = DataDispatcherClient(server_url=tb.dd_url, worker_id=worker_id,
                                      token_library=str(tmp_path / f"tokens_{user}_{worker_id}"))
        if login:
            client.login_password(user, user)
        return client
    return make


@pytest.fixture
def mc(tb, tmp_path):
    def make(user: str | None = None) -> MetaCatClient:
        client = MetaCatClient(server_url=tb.mc_url, token_library=str(tmp_path / f"mc_tokens_{user}"))
        if user:
            client.login_password(user, user)
        return client
    return make


@pytest.fixture
def rucio(tb, tmp_path, monkeypatch):
    """``rucio(account, password=None)`` → a rucio Client logged in with userpass; token files in tmp_path."""
    for var in ("VIRTUAL_ENV", "RUCIO_CONFIG", "RUCIO_HOME", "CONDA_PREFIX", "RUCIO_ACCOUNT", "RUCIO_AUTH_TYPE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    from rucio.client import Client

    def make(account: str = "poms", password: str | None = None) -> Client:
        return Client(rucio_host=tb.rucio_url, auth_host=tb.rucio_url, account=account, auth_type="userpass",
                      creds={"username": account, "password": password or account}, timeout=30)
    return make


@pytest.fixture
def hook(tb):
    """``hook("tick", seconds=10)`` → POST /_testbed/<name> and return the JSON answer."""
    def call(hook_name: str, method: str = "POST", **params):
        resp = requests.request(method, f"{tb.url}/_testbed/{hook_name}", params=params, timeout=30)
        resp.raise_for_status()
        return resp.json()
    return call
