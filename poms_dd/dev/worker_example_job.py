"""One worker of ``poms-dd worker-example``: what a grid job does with a Data Dispatcher project.

``next_file`` → simulated work → the output declared in MetaCat as a child of the input → ``file_done``
(or ``file_failed`` at the configured rate).  The real ``DataDispatcherClient`` and ``MetaCatClient`` are used,
as a job would use them; nothing here goes through poms_dd's adapters or services.

The DD client's ``next_file`` returns ``False`` ("project ended") on *any* server error (PROTOCOLS.md §1.2, §8),
so every ``False`` is checked against the project's state before it is believed.
"""
from __future__ import annotations

import random
import threading
import time
import zlib
from dataclasses import dataclass, field

import requests
from metacat.common.exceptions import WebAPIError as DDWebAPIError
from metacat.webapi import MetaCatClient
from metacat.webapi.webapi import AlreadyExistsError, PermissionDeniedError
from metacat.webapi.webapi import WebAPIError as MCWebAPIError

END_STATES = ("done", "failed", "cancelled")
COPIED_METADATA = ("core.runs", "core.run_type", "core.file_type")
POLL_SECONDS = 2.0          # one next_file wait; the overall wait is Job.timeout


class JobError(Exception):
    """A failure that stops this worker; ``fatal`` ones (identity, permissions) stop every worker."""

    def __init__(self, message: str, fatal: bool = False) -> None:
        super().__init__(message)
        self.fatal = fatal


@dataclass
class Job:
    """What every worker of one command shares: settings, clients' factory, counters and output."""

    project_id: int
    user: str
    seconds: float
    failure_rate: float
    retry: bool
    pattern: str
    data_tier: str
    output_namespace: str | None
    output_dataset: str | None
    max_files: int | None
    timeout: float
    stagger: float
    cpu_site: str
    make_dd: object                      # worker_id -> DataDispatcherClient (logged in through the library)
    make_mc: object                      # () -> MetaCatClient
    owner: str = ""
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    claimed: int = 0
    counts: dict = field(default_factory=lambda: {"done": 0, "failed": 0, "errors": 0})
    timed_out: bool = False
    datasets: set = field(default_factory=set)

    def claim(self) -> bool:
        """Reserve one unit of the --max-files budget (shared by the workers)."""
        with self.lock:
            if self.stop.is_set() or (self.max_files is not None and self.claimed >= self.max_files):
                return False
            self.claimed += 1
            return True

    def unclaim(self) -> None:
        with self.lock:
            self.claimed -= 1

    def count(self, what: str) -> None:
        with self.lock:
            self.counts[what] += 1


def output_fields(namespace: str, name: str, fid: str, project_id: int, runs) -> dict:
    """The fields an --output-pattern may use, for one input file."""
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    run = runs[0] if isinstance(runs, list) and runs else ""
    return {"name": name, "stem": stem, "ext": ext, "namespace": namespace, "fid": fid, "run": run,
            "project_id": project_id}


def payload_for(out_did: str, input_fid: str) -> bytes:
    """The simulated output's bytes (their size and adler32 are declared)."""
    return (f"poms-dd worker-example output {out_did} of input fid {input_fid}\n".encode()) * 64


class Worker:
    """One consumer of the project (a thread of the command), with its own worker id and clients."""

    def __init__(self, job: Job, worker_id: str, rng: random.Random, say, warn) -> None:
        self.job, self.worker_id, self.rng, self.say, self.warn = job, worker_id, rng, say, warn
        self.dd = job.make_dd(worker_id)
        self.mc: MetaCatClient = job.make_mc()

    def run(self) -> None:
        first = True
        while self.job.claim():
            handle = self._reserve(first)
            first = False
            if handle is None:
                self.job.unclaim()
                return
            self._process(handle)

    # -- reserving --------------------------------------------------------------------------------------
    def _reserve(self, first: bool) -> dict | None:
        job = self.job
        deadline = time.monotonic() + job.timeout
        stagger = job.stagger if first else 0
        while not job.stop.is_set():
            wait = max(0.0, min(POLL_SECONDS, deadline - time.monotonic()))
            reply = self.dd.next_file(job.project_id, cpu_site=job.cpu_site, worker_id=self.worker_id,
                                      timeout=wait, stagger=stagger)
            stagger = 0
            if isinstance(reply, dict):
                return reply
            if reply is False:
                self._project_ended()
                return None
            if time.monotonic() >= deadline:
                with job.lock:
                    job.timed_out = True
                return None
        return None

    def _project_ended(self) -> None:
        """``next_file`` said False: believe it only if DD shows the project in an end state."""
        job = self.job
        project = self.dd.get_project(job.project_id, with_files=False)
        if project is None:
            raise JobError(f"Data Dispatcher has no project {job.project_id} any more", fatal=True)
        state = project.get("state")
        if state in END_STATES:
            return
        users, roles = ", ".join(project.get("users") or []) or "none", ", ".join(project.get("roles") or []) or "none"
        raise JobError(
            f"Data Dispatcher refused next_file on project {job.project_id}, which is still {state} (the client "
            f"reports any server error as 'project ended'): most likely HTTP 401/403 — user {job.user} must be the "
            f"owner ({project.get('owner')}), a DD admin, one of the project's users ({users}) or in one of its "
            f"roles ({roles})", fatal=True)

    # -- one file ---------------------------------------------------------------------------------------
    def _process(self, handle: dict) -> None:
        did = f"{handle['namespace']}:{handle['name']}"
        started = time.monotonic()
        time.sleep(self.job.seconds)
        if self.job.failure_rate and self.rng.random() < self.job.failure_rate:
            self._release(did, failed=True, retry=self.job.retry)
            self.job.count("failed")
            self.say(f"[{self.worker_id}] failed {did} (simulated; retry: {'yes' if self.job.retry else 'no'})")
            return
        try:
            out_did, out_fid, fresh = self._declare_output(handle, did)
        except JobError:
            self._release_after_error(did)
            raise
        self._release(did, failed=False)
        self.job.count("done")
        note = "" if fresh else " (output was already declared)"
        self.say(f"[{self.worker_id}] done {did} -> {out_did} (fid {out_fid}) "
                 f"{time.monotonic() - started:.1f}s{note}")

    def _release(self, did: str, failed: bool, retry: bool = True) -> None:
        job = self.job
        try:
            if failed:
                self.dd.file_failed(job.project_id, did, retry=retry, worker_id=self.worker_id)
            else:
                self.dd.file_done(job.project_id, did, worker_id=self.worker_id)
        except DDWebAPIError as err:
            verb = "file_failed" if failed else "file_done"
            if err.StatusCode == 403 and job.user != job.owner:
                raise JobError(
                    f"Data Dispatcher refused {verb} for {did} (HTTP 403: {str(err).strip()}): only the project's "
                    f"owner ({job.owner}) or a DD admin may mark files done or failed; {job.user} may reserve "
                    f"files but not release them (PROTOCOLS.md §8). Run the jobs as the account that creates the "
                    f"projects or as a DD admin (README: 'Which identity the jobs use'). The handle stays "
                    f"reserved until the project's worker timeout.", fatal=True) from None
            raise JobError(f"Data Dispatcher refused {verb} for {did} (HTTP {err.StatusCode}: "
                           f"{str(err).strip()})", fatal=err.StatusCode in (401, 403)) from None

    def _release_after_error(self, did: str) -> None:
        """Give the file back (failed, to be retried) so it does not stay reserved by a stopped worker."""
        try:
            self.dd.file_failed(self.job.project_id, did, retry=True, worker_id=self.worker_id)
        except (DDWebAPIError, requests.RequestException) as err:
            self.warn(f"[{self.worker_id}] could not give {did} back: {str(err).strip()}")

    # -- the output -------------------------------------------------------------------------------------
    def _declare_output(self, handle: dict, did: str) -> tuple[str, str, bool]:
        job = self.job
        try:
            info = self.mc.get_file(did=did, with_metadata=True, with_provenance=False)
        except MCWebAPIError as err:
            raise JobError(f"MetaCat could not read input {did}: {str(err).strip()}") from None
        if info is None:
            raise JobError(f"MetaCat has no file {did} (the project's input)")
        meta = info.get("metadata") or {}
        namespace = job.output_namespace or handle["namespace"]
        name = job.pattern % output_fields(handle["namespace"], handle["name"], info["fid"], job.project_id,
                                           meta.get("core.runs"))
        out_did = f"{namespace}:{name}"
        if out_did == did:
            raise JobError(f"--output-pattern gives the input's own name for {did}", fatal=True)
        dataset = job.output_dataset or f"{namespace}:worker_example_output"
        self._ensure_dataset(dataset)
        data = payload_for(out_did, info["fid"])
        metadata = {k: meta[k] for k in COPIED_METADATA if k in meta}
        metadata["core.data_tier"] = job.data_tier
        record = {"namespace": namespace, "name": name, "size": len(data),
                  "checksums": {"adler32": f"{zlib.adler32(data):08x}"}, "metadata": metadata,
                  "parents": [{"fid": info["fid"]}]}
        try:
            declared = self.mc.declare_files(dataset, [record])
        except AlreadyExistsError:
            return out_did, self._existing_child(out_did, did, info["fid"]), False
        except PermissionDeniedError as err:
            raise JobError(f"MetaCat refused to declare {out_did} into {dataset} as {job.user} (HTTP 403: "
                           f"{str(err).strip()}); the user must own namespace {namespace}", fatal=True) from None
        except MCWebAPIError as err:
            raise JobError(f"MetaCat could not declare {out_did} into {dataset} (HTTP {err.StatusCode}: "
                           f"{str(err).strip()})") from None
        return out_did, declared[0].get("fid", "?"), True

    def _existing_child(self, out_did: str, did: str, input_fid: str) -> str:
        """An output declared by an earlier attempt of the same input is reused; anything else is an error."""
        existing = self.mc.get_file(did=out_did, with_metadata=False, with_provenance=True)
        parents = {p.get("fid") for p in (existing or {}).get("parents") or []}
        if existing is None or input_fid not in parents:
            raise JobError(f"{out_did} already exists in MetaCat and is not a child of {did}: choose another "
                           f"--output-pattern or --output-namespace", fatal=True)
        return existing["fid"]

    def _ensure_dataset(self, dataset: str) -> None:
        job = self.job
        with job.lock:
            if dataset in job.datasets:
                return
            try:
                if self.mc.get_dataset(dataset) is None:
                    self.mc.create_dataset(dataset, description="outputs of poms-dd worker-example")
                    self.say(f"[{self.worker_id}] created output dataset {dataset}")
            except AlreadyExistsError:
                pass
            except MCWebAPIError as err:
                raise JobError(f"MetaCat could not create the output dataset {dataset} as {job.user} "
                               f"(HTTP {err.StatusCode}: {str(err).strip()})", fatal=True) from None
            job.datasets.add(dataset)
