"""DataDispatcherAdapter: the real ``data_dispatcher.api.DataDispatcherClient`` behind our value types.

Reads (get/list/search projects, RSEs, version) follow the shared retry policy; everything that changes a
project (create, copy, restart, cancel, activate, next_file, release) is sent once — only an HTTP 401 leads
to one new login and one more attempt, because the server did nothing for a 401.
"""
from __future__ import annotations

import json
from typing import Any, Callable, Iterable, Mapping, Sequence
from urllib.parse import quote, urlencode

from ..errors import ConfigurationError, InvalidInput, NotFound
from .clients import PomsDDClient
from .config import ExperimentConnection
from .errors import DATA_DISPATCHER, MalformedReply, check_reply, status_of
from .token_service import TokenServiceAdapter
from .dd_types import FileHandle, HandleCounts, NextFile, Project
from .types import FileInfo, FileSpec, RSEInfo

NO_TIMEOUT = "no timeout"                 # pass as a timeout to mean "none" (None means "server default")
DEFAULT_IDLE_TIMEOUT = PomsDDClient.DEFAULT_IDLE_TIMEOUT


def _file_entry(item: FileInfo | FileSpec | str | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(item, (FileInfo, FileSpec)):
        return {"namespace": item.namespace, "name": item.name,
                "attributes": dict(getattr(item, "attributes", {}) or {})}
    if isinstance(item, str):
        namespace, sep, name = item.partition(":")
        if not sep or not namespace or not name:
            raise InvalidInput(f"Invalid file DID {item!r}: expected namespace:name.")
        return {"namespace": namespace, "name": name, "attributes": {}}
    return {"namespace": item["namespace"], "name": item["name"], "attributes": dict(item.get("attributes") or {})}


def _copy_timeout(value: float | str | None) -> str:
    """The client's copy_project accepts only strings ("default", "no timeout", "3600", "2h")."""
    if value is None:
        return "default"
    if value == NO_TIMEOUT:
        return NO_TIMEOUT
    return str(float(value))


def _create_timeout(value: float | str | None) -> float | None:
    return None if value in (None, NO_TIMEOUT) else float(value)


def _query(path: str, **args: Any) -> str:
    """``path?k=v&...`` with every value percent-encoded (the client pastes values in unencoded, so a worker id
    or DID with spaces, ``&``, ``#``, ``/`` or ``+`` would reach the server cut or changed)."""
    return f"{path}?{urlencode(args, quote_via=quote, safe='')}"


_POST_404 = "no data: the client returns None for an HTTP 404, so the Data Dispatcher URL may be wrong"


class DataDispatcherAdapter(TokenServiceAdapter):
    """One experiment's Data Dispatcher, logged in as its service account.  Every method raises
    ExternalServiceError when DD fails or cannot be reached; NotFound for a project id DD does not know."""

    service = DATA_DISPATCHER
    key = "data_dispatcher"

    def __init__(self, conn: ExperimentConnection, worker_id: str = "poms_dd"):
        if not conn.dd_url:
            raise ConfigurationError(f"No Data Dispatcher URL is configured for experiment {conn.experiment}.")
        # worker_id given explicitly: the client would otherwise write ./.data_dispatcher_worker_id
        self._connect(conn, conn.dd_url, conn.dd_auth_url, PomsDDClient, worker_id=worker_id)

    def _on_project(self, operation: str, project_id: int, call: Callable[[], Any]) -> Project:
        """A change to one project: NotFound when DD does not know it (the client's ``post()`` returns None for
        a 404, its ``get()`` raises), sent once."""
        missing = f"Data Dispatcher project {project_id} does not exist."

        def fn() -> Any:
            try:
                return call()
            except Exception as exc:
                if status_of(exc) == 404:
                    raise NotFound(missing) from None
                raise
        return Project.from_json(self._write(operation, fn, dict, missing=missing))

    # -- server ---------------------------------------------------------------------------------------------
    def version(self) -> str:
        return self._read("get the server version", self.client.version, str).strip()

    def list_rses(self) -> list[RSEInfo]:
        """The RSEs DD knows, with its enabled/available flags."""
        items = self._read("list RSEs", self.client.list_rses, list, items=dict)
        return [RSEInfo(name=r["name"], is_tape=bool(r.get("is_tape")), available=r.get("is_available"),
                        enabled=r.get("is_enabled"), description=r.get("description") or "") for r in items]

    # -- projects: changes (never retried) -----------------------------------------------------------------
    def create_project(self, files: Iterable[FileInfo | FileSpec | str | Mapping[str, Any]], *,
                       attributes: Mapping[str, Any], common_attributes: Mapping[str, Any] | None = None,
                       query: str | None = None, users: Sequence[str] = (), roles: Sequence[str] = (),
                       worker_timeout: float | str | None = None,
                       idle_timeout: float | str | None = DEFAULT_IDLE_TIMEOUT, virtual: bool = False,
                       with_handles: bool = False) -> Project:
        """Create a project of ``files`` (FileInfo, FileSpec, "ns:name" or DD file dicts).  ``virtual`` is stored
        as ``project_attributes.virtual`` (DD then ignores replicas).  Timeouts are seconds; ``NO_TIMEOUT`` or
        None means none.  Sent once, never retried: on an error the project may or may not exist (look it up
        by its attributes).  Raises InvalidInput for an empty file list."""
        entries = [_file_entry(f) for f in files]
        if not entries:
            raise InvalidInput("Nothing to launch: the project would have no files.")
        project_attributes = dict(attributes)
        if virtual:
            project_attributes["virtual"] = True
        data = self._write("create a project", lambda: self.client.create_project(
            entries, common_attributes=dict(common_attributes or {}), project_attributes=project_attributes,
            query=query, worker_timeout=_create_timeout(worker_timeout), idle_timeout=_create_timeout(idle_timeout),
            users=list(users), roles=list(roles)), dict, none=_POST_404)
        return Project.from_json(data, keep_handles=with_handles)

    def copy_project(self, project_id: int, *, attributes: Mapping[str, Any] | None = None,
                     common_attributes: Mapping[str, Any] | None = None, worker_timeout: float | str | None = None,
                     idle_timeout: float | str | None = None) -> Project:
        """A new project with the same files, all ``initial``; ``attributes`` update the copied project
        attributes.  Timeouts: None keeps the original's, ``NO_TIMEOUT`` removes it, a number sets seconds.
        DD does not copy users and roles (PROTOCOLS §7)."""
        return self._on_project("copy the project", project_id, lambda: self.client.copy_project(
            int(project_id), common_attributes=dict(common_attributes or {}), project_attributes=dict(attributes or {}),
            worker_timeout=_copy_timeout(worker_timeout), idle_timeout=_copy_timeout(idle_timeout)))

    def restart_handles(self, project_id: int, *, failed: bool = False, reserved: bool = False, done: bool = False,
                        all: bool = False, dids: Sequence[str] = ()) -> Project:
        """Put the chosen handles (by state, or the listed DIDs) back to ``initial``; the project reactivates."""
        if not (failed or reserved or done or all or dids):
            raise InvalidInput("Choose which handles to restart (failed, reserved, done, all or a list).")
        return self._on_project("restart handles", project_id, lambda: self.client.restart_handles(
            int(project_id), done=done, failed=failed, reserved=reserved, all=all, handles=list(dids)))

    def cancel_project(self, project_id: int) -> Project:
        return self._on_project("cancel the project", project_id, lambda: self.client.cancel_project(int(project_id)))

    def activate_project(self, project_id: int) -> Project:
        return self._on_project("activate the project", project_id,
                                lambda: self.client.activate_project(int(project_id)))

    # -- projects: reads -----------------------------------------------------------------------------------
    def get_project(self, project_id: int, with_handles: bool = False, with_replicas: bool = False) -> Project | None:
        """The project, or None if DD does not know it.  Handle counts are filled when handles are fetched."""
        data = self._read("get the project", lambda: self.client.get_project(
            int(project_id), with_files=with_handles or with_replicas, with_replicas=with_replicas), dict, optional=True)
        return Project.from_json(data, keep_handles=with_handles, replicas_known=with_replicas) if data else None

    def handle_counts(self, project_id: int, with_replicas: bool = True) -> HandleCounts:
        """Counts of handles by state, and ``unknown`` (no available replica) when ``with_replicas``.
        Raises NotFound if the project does not exist."""
        project = self.get_project(project_id, with_handles=False, with_replicas=with_replicas) if with_replicas \
            else self._project_with_counts(project_id)
        if project is None:
            raise NotFound(f"Data Dispatcher project {project_id} does not exist.")
        return project.counts or HandleCounts()

    def _project_with_counts(self, project_id: int) -> Project | None:
        data = self._read("get the project", lambda: self.client.get_project(int(project_id), with_files=True),
                          dict, optional=True)
        return Project.from_json(data) if data else None

    def list_projects(self, attributes: Mapping[str, Any], *, state: str | None = None, not_state: str | None = None,
                      owner: str = "all", with_handles: bool = False) -> list[Project]:
        """Projects whose attributes contain ``attributes`` (type-exact: 12 ≠ "12").  An attribute filter is
        required: without one DD loads every handle of every project.  ``state=None`` means every state
        (abandoned too) except ``not_state`` (None: exclude nothing).  DD 2.0.3 compares states by equality and
        treats a missing state as "no filter", so the state is left out rather than sent as "all" (which
        would match nothing on a real server)."""
        if not attributes:
            raise InvalidInput("Listing Data Dispatcher projects needs an attribute filter.")
        items = self._read("list projects", lambda: self.client.list_projects(
            owner=owner, state=state, not_state=not_state, attributes=dict(attributes), with_files=with_handles),
            list, items=dict)
        return [Project.from_json(p, keep_handles=with_handles) for p in items]

    def search_projects(self, query: str, *, state: str = "active", owner: str | None = None,
                        with_handles: bool = False) -> list[Project]:
        """Projects matching a DD search query over attributes (``campaign = 12 and stage in (1,2)``);
        ``state="all"`` for every state."""
        items = self._read("search projects", lambda: self.client.search_projects(
            query, owner=owner, state=state, with_files=with_handles), list, items=dict, none=_POST_404)
        return [Project.from_json(p, keep_handles=with_handles) for p in items]

    # -- worker interface (for the demo workers) -----------------------------------------------------------
    def next_file(self, project_id: int, worker_id: str, cpu_site: str = "DEFAULT") -> NextFile:
        """Reserve one file (a single request, no waiting).  Unlike the client's next_file, an HTTP error
        (inactive project, 403, 404) raises ExternalServiceError instead of looking like "project ended".
        ``worker_id`` and ``cpu_site`` reach the server exactly as given (percent-encoded)."""
        url = _query("next_file", project_id=int(project_id), worker_id=worker_id, cpu_site=cpu_site)
        reply = self._write("reserve the next file", lambda: _json_object(self.client.get(url)))
        handle = reply.get("handle")
        return NextFile(handle=FileHandle.from_json(handle, int(project_id)) if handle else None,
                        retry=bool(reply.get("retry")), reason=reply.get("reason") or "")

    def file_done(self, project_id: int, did: str, worker_id: str) -> None:
        self._release("mark the file done", project_id, did, worker_id, failed="no")

    def file_failed(self, project_id: int, did: str, worker_id: str, retry: bool = True) -> None:
        self._release("mark the file failed", project_id, did, worker_id, failed="yes", retry="yes" if retry else "no")

    def _release(self, operation: str, project_id: int, did: str, worker_id: str, **flags: str) -> None:
        """The client's file_done/file_failed request (``release``), with the handle id and worker id encoded
        like next_file's, so the worker that reserved a file can release it whatever its id holds."""
        url = _query("release", handle_id=f"{int(project_id)}:{did}", **flags, worker_id=worker_id)
        self._write(operation, lambda: self.client.get(url))


def _json_object(reply: Any) -> dict[str, Any]:
    """DD answers text/json (decoded by the client); anything else arrives as text and is decoded here."""
    if isinstance(reply, str):
        try:
            reply = json.loads(reply)
        except ValueError:
            raise MalformedReply("not JSON") from None
    return check_reply(reply, dict)
