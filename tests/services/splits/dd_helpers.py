"""Data Dispatcher projects for the split tests, made and worked on with the real DD client over HTTP as the
testbed's ``poms`` account (the projects' owner: only the owner may mark files done, PROTOCOLS.md §8)."""
from __future__ import annotations

from typing import Sequence

from data_dispatcher.api import DataDispatcherClient


def dd_client(tb, tmp_path, worker: str = "w") -> DataDispatcherClient:
    client = DataDispatcherClient(server_url=tb.dd_url, auth_server_url=tb.dd_url + "/auth",
                                  token_library=str(tmp_path / f"dd-{worker}"), worker_id=worker)
    client.login_password("poms", "poms")
    return client


def make_project(client: DataDispatcherClient, dids: Sequence[str], query: str | None = None) -> int:
    """A virtual project (next_file needs no replicas) of ``dids``, in that handle order; its id."""
    return client.create_project(list(dids), project_attributes={"virtual": True}, query=query)["project_id"]


def mark_done(client: DataDispatcherClient, project_id: int, k: int) -> list[str]:
    """Reserve k files of the project and mark them done, as a worker does; the dids that became done."""
    out = []
    for _ in range(k):
        handle = client.next_file(project_id, stagger=0, timeout=5)
        assert isinstance(handle, dict), handle
        did = f"{handle['namespace']}:{handle['name']}"
        assert client.file_done(project_id, did)["state"] == "done"
        out.append(did)
    return out
