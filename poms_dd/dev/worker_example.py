"""``poms-dd worker-example``: consume a Data Dispatcher project as a grid job would, on this machine.

Each worker (a thread) takes files with the real DD client's ``next_file``, "works" for ``--seconds``, declares
an output file in MetaCat as a child of the input (named by ``--output-pattern``, so dependent stages find
real outputs) and marks the input ``file_done``, or ``file_failed`` at ``--failure-rate``.  The demo's launch
template starts it with the environment poms_dd exports to launches (SPEC §2.5).

Identity: Data Dispatcher lets only the project's owner or a DD admin release files (PROTOCOLS.md §8), so run
it as the account that created the project (the experiment's service account) or as a DD admin.  The
password or bearer token is read from a file, never from the command line; the clients' tokens go to a
private temporary folder (not ``$HOME``, not the current directory) that is removed at exit.
"""
from __future__ import annotations

import random
import shutil
import tempfile
import threading
import uuid
from pathlib import Path

import click
import requests

from .worker_example_job import END_STATES, Job, JobError, Worker, output_fields

DEFAULT_PATTERN = "%(stem)s.reco.root"


def _check_pattern(ctx, param, value: str) -> str:
    samples = [output_fields("ns", f"in_{i}.root", str(i), 1, [1000 + i]) for i in (1, 2)]
    try:
        names = {value % s for s in samples}
    except KeyError as err:
        raise click.BadParameter(f"unknown field %({err.args[0]})s; use " + ", ".join(
            f"%({k})s" for k in samples[0])) from None
    except (ValueError, TypeError) as err:
        raise click.BadParameter(f"not a %-pattern ({err}); example: {DEFAULT_PATTERN}") from None
    if len(names) < 2:
        raise click.BadParameter("gives every input the same output name; use %(stem)s or %(name)s")
    return value


def _check_dataset(ctx, param, value: str | None) -> str | None:
    if value is not None and (value.count(":") != 1 or not all(value.split(":"))):
        raise click.BadParameter(f"{value!r} is not NAMESPACE:NAME")
    return value


def _read_secret(path: str | None, option: str) -> str | None:
    if not path:
        return None
    try:
        secret = Path(path).read_text().strip()
    except OSError as err:
        raise click.UsageError(f"{option}: cannot read {path} ({err.strerror})") from None
    if not secret:
        raise click.UsageError(f"{option}: {path} is empty")
    return secret


def _required(value: str | None, option: str, envvar: str) -> str:
    if not value:
        raise click.UsageError(f"missing {option} (or ${envvar})")
    return value


def _login(client, service: str, user: str, password: str | None, token: str | None) -> None:
    from metacat.common.auth_client import AuthenticationError
    try:
        if password is not None:
            client.login_password(user, password)
        else:
            client.login_token(user, token)
    except AuthenticationError as err:
        how = "password" if password is not None else "bearer token"
        raise click.ClickException(f"{service} login as {user} with the {how} failed: {str(err).strip()}") from None
    except requests.RequestException as err:
        raise click.ClickException(f"cannot reach the {service} authentication server: {err}") from None


def _preflight(dd, project_id: int, user: str, dd_url: str) -> dict:
    """The project as DD shows it; a missing project is an error, an ended one means nothing to do."""
    try:
        project = dd.get_project(project_id, with_files=False)
    except requests.RequestException as err:
        raise click.ClickException(f"cannot reach Data Dispatcher at {dd_url}: {err}") from None
    if project is None:
        raise click.ClickException(f"Data Dispatcher at {dd_url} has no project {project_id} "
                                   f"(check --project-id / $POMS_DATA_DISPATCHER_PROJECT_ID)")
    if project.get("owner") != user:
        click.echo(f"note: {user} is not the owner of project {project_id} ({project.get('owner')}); Data Dispatcher "
                   f"lets only the owner or a DD admin mark files done or failed (PROTOCOLS.md §8), so unless {user} "
                   f"is a DD admin every release will be refused with HTTP 403", err=True)
    return project


@click.command("worker-example")
@click.option("--project-id", type=int, envvar="POMS_DATA_DISPATCHER_PROJECT_ID",
              help="DD project to consume [default: $POMS_DATA_DISPATCHER_PROJECT_ID].")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Consumers (threads) in this command, each with its own DD worker id.")
@click.option("--seconds", default=1.0, show_default=True, type=click.FloatRange(0), help="Simulated work per file.")
@click.option("--failure-rate", default=0.0, show_default=True, type=click.FloatRange(0, 1),
              help="Probability that a file is marked failed instead of done.")
@click.option("--retry/--no-retry", default=True, show_default=True, help="Whether DD may retry a failed file.")
@click.option("--output-pattern", default=DEFAULT_PATTERN, show_default=True, callback=_check_pattern,
              help="Output name: %(name)s %(stem)s %(ext)s %(namespace)s %(fid)s %(run)s %(project_id)s of the input.")
@click.option("--output-namespace", help="Namespace of the outputs [default: the input's].")
@click.option("--output-dataset", callback=_check_dataset,
              help="NS:NAME the outputs are declared into, created if missing [default: NS:worker_example_output].")
@click.option("--data-tier", default="full-reconstructed", show_default=True, help="core.data_tier of the outputs.")
@click.option("--max-files", type=click.IntRange(1), help="Stop after this many files (all workers together).")
@click.option("--worker-id", "worker_prefix", help="Worker id (with -1, -2 ... per worker) [default: random].")
@click.option("--seed", type=int, help="Seed of the simulated failures (reproducible runs).")
@click.option("--timeout", default=300.0, show_default=True, type=click.FloatRange(0),
              help="Seconds to wait for a reservable file before a worker gives up.")
@click.option("--stagger", default=1.0, show_default=True, type=click.FloatRange(0),
              help="Random delay (up to this many seconds) before a worker's first next_file.")
@click.option("--cpu-site", default="DEFAULT", show_default=True, help="CPU site sent with next_file.")
@click.option("--user", envvar="POMS_DD_JOB_USER", help="Account for DD and MetaCat [$POMS_DD_JOB_USER].")
@click.option("--password-file", envvar="POMS_DD_JOB_PASSWORD_FILE", type=click.Path(dir_okay=False),
              help="File holding the password [$POMS_DD_JOB_PASSWORD_FILE].")
@click.option("--token-file", envvar=["POMS_DD_JOB_TOKEN_FILE", "BEARER_TOKEN_FILE"], type=click.Path(dir_okay=False),
              help="File holding a bearer token, used if no password file [$POMS_DD_JOB_TOKEN_FILE, $BEARER_TOKEN_FILE].")
@click.option("--dd-url", envvar="DATA_DISPATCHER_URL", help="[$DATA_DISPATCHER_URL]")
@click.option("--dd-auth-url", envvar="DATA_DISPATCHER_AUTH_URL", help="[$DATA_DISPATCHER_AUTH_URL]")
@click.option("--metacat-url", envvar="METACAT_SERVER_URL", help="[$METACAT_SERVER_URL]")
@click.option("--metacat-auth-url", envvar="METACAT_AUTH_SERVER_URL", help="[$METACAT_AUTH_SERVER_URL]")
@click.pass_context
def command(ctx, project_id, workers, seconds, failure_rate, retry, output_pattern, output_namespace,
            output_dataset, data_tier, max_files, worker_prefix, seed, timeout, stagger, cpu_site, user,
            password_file, token_file, dd_url, dd_auth_url, metacat_url, metacat_auth_url) -> None:
    """Consume a Data Dispatcher project as a grid job would (next_file, work, declare output, file_done)."""
    if project_id is None:
        raise click.UsageError("missing --project-id (or $POMS_DATA_DISPATCHER_PROJECT_ID; it is empty for "
                               "parameter launches, and this example consumes an existing project)")
    user = _required(user, "--user", "POMS_DD_JOB_USER")
    dd_url = _required(dd_url, "--dd-url", "DATA_DISPATCHER_URL")
    metacat_url = _required(metacat_url, "--metacat-url", "METACAT_SERVER_URL")
    password = _read_secret(password_file, "--password-file")
    token = None if password is not None else _read_secret(token_file, "--token-file")
    if password is None and token is None:
        raise click.UsageError("give --password-file or --token-file (a password never goes on the command line)")
    settings = dict(project_id=project_id, user=user, seconds=seconds, failure_rate=failure_rate, retry=retry,
                    pattern=output_pattern, data_tier=data_tier, output_namespace=output_namespace,
                    output_dataset=output_dataset, max_files=max_files, timeout=timeout, stagger=stagger,
                    cpu_site=cpu_site)
    urls = (dd_url, dd_auth_url, metacat_url, metacat_auth_url)
    tokens_dir = tempfile.mkdtemp(prefix="poms-dd-worker-")          # mode 0700, removed below
    try:
        code = _run(settings, urls, password, token, Path(tokens_dir), workers, worker_prefix, seed)
    finally:
        shutil.rmtree(tokens_dir, ignore_errors=True)
    ctx.exit(code)


def _clients(urls, tokens_dir: Path):
    from data_dispatcher.api import DataDispatcherClient
    from metacat.webapi import MetaCatClient
    dd_url, dd_auth_url, mc_url, mc_auth_url = urls

    def make_dd(worker_id: str):
        return DataDispatcherClient(server_url=dd_url, auth_server_url=dd_auth_url, worker_id=worker_id,
                                    token_library=str(tokens_dir / "dd_tokens"), timeout=60)

    def make_mc():
        return MetaCatClient(server_url=mc_url, auth_server_url=mc_auth_url,
                             token_library=str(tokens_dir / "metacat_tokens"), timeout=60)
    return make_dd, make_mc


def _run(settings: dict, urls, password, token, tokens_dir: Path, workers: int, prefix, seed) -> int:
    make_dd, make_mc = _clients(urls, tokens_dir)
    prefix = prefix or uuid.uuid4().hex[:8]
    ids = [prefix] if workers == 1 else [f"{prefix}-{i}" for i in range(1, workers + 1)]
    dd = make_dd(ids[0])
    _login(dd, "Data Dispatcher", settings["user"], password, token)
    _login(make_mc(), "MetaCat", settings["user"], password, token)
    project = _preflight(dd, settings["project_id"], settings["user"], urls[0])
    pid = settings["project_id"]
    if project.get("state") in END_STATES:
        click.echo(f"project {pid} has ended (state {project['state']}): nothing to do")
        click.echo(f"summary: project {pid}: 0 done, 0 failed, 0 errors; project state {project['state']}")
        return 0
    job = Job(**settings, make_dd=make_dd, make_mc=make_mc, owner=project.get("owner", ""))
    out_lock = threading.Lock()

    def say(line: str, err: bool = False) -> None:
        with out_lock:
            click.echo(line, err=err)
    threads = [threading.Thread(target=_work, args=(job, wid, random.Random(None if seed is None else f"{seed}:{n}"),
                                                    say), name=wid, daemon=True)
               for n, wid in enumerate(ids)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return _summary(job, dd, say)


def _work(job: Job, worker_id: str, rng: random.Random, say) -> None:
    """One thread: run a Worker, turn whatever stops it into a message and a count."""
    try:
        Worker(job, worker_id, rng, say, lambda line: say(line, err=True)).run()
    except JobError as err:
        _error(job, say, f"[{worker_id}] error: {err}", stop_all=err.fatal)
    except requests.RequestException as err:
        _error(job, say, f"[{worker_id}] error: cannot reach the server: {err}", stop_all=True)
    except Exception as err:                      # noqa: BLE001 - a thread must not die silently
        _error(job, say, f"[{worker_id}] error: unexpected {type(err).__name__}: {err}", stop_all=True)


def _error(job: Job, say, line: str, stop_all: bool) -> None:
    job.count("errors")
    if stop_all:
        job.stop.set()
    say(line, err=True)


def _summary(job: Job, dd, say) -> int:
    try:
        state = (dd.get_project(job.project_id, with_files=False) or {}).get("state", "gone")
    except requests.RequestException:
        state = "unknown"
    c = job.counts
    say(f"summary: project {job.project_id}: {c['done']} done, {c['failed']} failed, {c['errors']} errors; "
        f"project state {state}")
    if c["errors"]:
        return 1
    if state in END_STATES or (job.max_files is not None and job.claimed >= job.max_files):
        return 0
    if job.timed_out:
        say(f"stopped: no file of project {job.project_id} became reservable within {job.timeout:g} s "
            f"(others hold the rest, or their replicas are unavailable); the project is still {state}", err=True)
        return 3
    return 0

