"""Running a launch command: locally (``bash -c``) or on a launch host over ssh (SPEC §4.3).

Both executors run an argument list (never ``shell=True``) in a new session (its own process group), with
stdin from /dev/null and stdout+stderr merged into a size-capped :class:`~.launch_log.OutputBuffer`.

Environment: the command gets a minimal base — ``PATH``, ``HOME``, ``LANG`` (and ``USER``/``LOGNAME``) of the
service — plus the launch environment, never the rest of the worker's environment (its ``POMS_DD_*`` secrets
stay out).  The ssh executor passes the launch environment inside the remote command line instead, and gives
the local ``ssh`` process the base plus ``KRB5CCNAME`` and ``SSH_AUTH_SOCK`` (how it authenticates).

Timeout: after ``timeout`` seconds the whole process group gets SIGTERM, ``kill_grace`` seconds later SIGKILL;
the result says "timed out after N s; the process group was killed".  (A process that starts its own session
escapes the group; nothing can follow it.  With ssh the group is the local ssh client: killing it closes the
connection, which ends the remote command only if it notices — sshd sends it no signal without a tty.)

Lingering children (a choice): when the launch shell exits, processes it left running in the background are
**not** killed — a launch may start local workers that consume the project (the demo does).  The executor
reads their output for at most ``linger`` more seconds and then closes the pipe, so a background process that
keeps the output open never holds the launch; such processes should redirect their output (``nohup cmd
>file 2>&1 &``), or they get EPIPE/SIGPIPE when they write after the launch finished.
"""
from __future__ import annotations

import os
import re
import selectors
import shlex
import signal
import subprocess
import time
from dataclasses import dataclass
from typing import Mapping, Protocol, Sequence

from ...errors import InvalidInput
from ...models.vocab import Executor
from ...settings import Settings
from .launch_log import OutputBuffer

DEFAULT_MAX_OUTPUT = 1024 * 1024
BASE_VARIABLES = ("PATH", "HOME", "LANG", "USER", "LOGNAME")
SSH_AUTH_VARIABLES = ("KRB5CCNAME", "SSH_AUTH_SOCK")
_VAR = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_HOST = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-]*\Z|\[?[0-9A-Fa-f:.]+\]?\Z")
_ACCOUNT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*\Z")


@dataclass(frozen=True)
class LaunchResult:
    """How a launch command ended.

    ``exit_code`` is negative (-N) when signal N ended it and None when it timed out or could not start;
    ``seconds`` is how long it ran (the timeout itself when it timed out); ``error`` is set when it could not
    start.
    """

    exit_code: int | None
    timed_out: bool
    output: str
    truncated: bool
    seconds: float
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and not self.timed_out and self.exit_code == 0

    @property
    def reason(self) -> str:
        """One sentence a person reads: "exit status 3", "timed out after 600 s; ...", "could not start: ..."."""
        if self.error is not None:
            return self.error
        if self.timed_out:
            return f"timed out after {self.seconds:.0f} s; the process group was killed"
        if self.exit_code is not None and self.exit_code < 0:
            try:
                name = signal.Signals(-self.exit_code).name
            except ValueError:
                name = f"signal {-self.exit_code}"
            return f"killed by {name}"
        return f"exit status {self.exit_code}"


def base_environment(names: Sequence[str] = BASE_VARIABLES) -> dict[str, str]:
    """The service's own values of ``names`` (PATH and LANG get defaults when unset)."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}
    env.update({n: os.environ[n] for n in names if n in os.environ})
    return env


def _checked_env(env: Mapping[str, str]) -> dict[str, str]:
    for name, value in env.items():
        if not _VAR.match(name):
            raise ValueError(f"{name!r} is not a shell variable name")
        if "\x00" in value:
            raise ValueError(f"{name} contains a NUL character")
    return dict(env)


def script(command: str, setup: str = "") -> str:
    """The setup lines, then the command, one per line (a ``#`` comment in setup cannot swallow the command)."""
    return "\n".join(part.rstrip("\n") for part in (setup, command) if part.strip()) + "\n"


class _Run:
    """One running process group and the loop that reads its output until it ends or its time is up."""

    def __init__(self, proc: subprocess.Popen, buf: OutputBuffer, linger: float):
        self.proc, self.buf, self.linger = proc, buf, linger
        self.sel = selectors.DefaultSelector()
        self.sel.register(proc.stdout, selectors.EVENT_READ)
        self.eof = False

    def pump(self, until: float, stop_on_exit: bool = True) -> None:
        """Read output until EOF, ``until`` (monotonic), or ``linger`` s after the shell exited."""
        exited_at = None
        while not self.eof:
            now = time.monotonic()
            if exited_at is None and self.proc.poll() is not None:
                exited_at = now
            end = min(until, exited_at + self.linger) if exited_at is not None and stop_on_exit else until
            if now >= end:
                return
            for _key, _ in self.sel.select(min(end - now, 0.2)):
                data = os.read(self.proc.stdout.fileno(), 65536)
                if data:
                    self.buf.add(data)
                else:
                    self.eof = True

    def kill_group(self, grace: float) -> None:
        """SIGTERM the process group, SIGKILL it ``grace`` s later if any member is left."""
        pgid = self.proc.pid
        self._signal(pgid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if self.eof:
                time.sleep(0.05)
            self.pump(min(deadline, time.monotonic() + 0.05), stop_on_exit=False)
            self.proc.poll()
            if not self._signal(pgid, 0):
                return
        self._signal(pgid, signal.SIGKILL)

    @staticmethod
    def _signal(pgid: int, sig: int) -> bool:
        try:
            os.killpg(pgid, sig)
            return True
        except (ProcessLookupError, PermissionError):
            return False

    def close(self) -> int:
        self.sel.close()
        self.proc.stdout.close()
        return self.proc.wait()


class LocalExecutor:
    """Runs ``[shell, "-c", script]`` on this machine."""

    kind = Executor.LOCAL

    def __init__(self, shell: str = "/bin/bash", max_output: int = DEFAULT_MAX_OUTPUT, *,
                 kill_grace: float = 5.0, linger: float = 2.0, base_env: Mapping[str, str] | None = None):
        self.shell, self.max_output, self.kill_grace, self.linger = shell, max_output, kill_grace, linger
        self.base_env = base_env

    def describe(self) -> str:
        return f"local ({self.shell})"

    def argv(self, command: str, env: Mapping[str, str], setup: str = "") -> list[str]:
        return [self.shell, "-c", script(command, setup)]

    def process_env(self, env: Mapping[str, str]) -> dict[str, str]:
        base = base_environment() if self.base_env is None else dict(self.base_env)
        return {**base, **_checked_env(env)}

    def run(self, command: str, env: Mapping[str, str], timeout: float, cwd: str | None = None, *,
            setup: str = "") -> LaunchResult:
        """Run and wait (at most ``timeout`` s plus the kill grace); never raises for the command's failure."""
        argv, process_env = self.argv(command, env, setup), self.process_env(env)
        return _execute(argv, process_env, timeout, cwd, self.max_output, self.kill_grace, self.linger)


def _execute(argv: list[str], env: dict[str, str], timeout: float, cwd: str | None, max_output: int,
             kill_grace: float, linger: float) -> LaunchResult:
    start = time.monotonic()
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                env=env, cwd=cwd, start_new_session=True, close_fds=True)
    except OSError as exc:
        what = exc.filename or argv[0]
        return LaunchResult(None, False, "", False, time.monotonic() - start,
                            f"could not start: {what}: {exc.strerror or exc}")
    run = _Run(proc, OutputBuffer(max_output), linger)
    try:
        run.pump(start + timeout)
        try:                                   # the output may end before the shell does
            proc.wait(max(start + timeout - time.monotonic(), 0))
            timed_out = False
        except subprocess.TimeoutExpired:
            timed_out = True
        if timed_out:
            run.kill_group(kill_grace)
    finally:
        code = run.close()
    seconds = timeout if timed_out else time.monotonic() - start
    return LaunchResult(None if timed_out else code, timed_out, run.buf.text(), run.buf.truncated, seconds)


class SshExecutor(LocalExecutor):
    """Runs the script on ``account@host``: ``[*ssh_command, *options, account@host, remote]``.

    ``remote`` is one string, built only with ``shlex.quote``: ``export K=V ...`` for every launch variable, the
    setup lines, then the command; with ``shell`` set (default ``/bin/bash``) it is wrapped as
    ``/bin/bash -c '<that>'`` so the account's login shell only has to split one quoted word.
    """

    kind = Executor.SSH

    def __init__(self, host: str, account: str | None, ssh_command: Sequence[str] = ("ssh",),
                 options: Sequence[str] = (), shell: str | None = "/bin/bash",
                 max_output: int = DEFAULT_MAX_OUTPUT, **kwargs):
        if not host or not _HOST.match(host):
            raise _bad("launch_host", "Launch host", host)
        if account is not None and account != "" and not _ACCOUNT.match(account):
            raise _bad("launch_account", "Launch account", account)
        if not ssh_command:
            raise ValueError("ssh_command is empty")
        super().__init__(shell or "", max_output, **kwargs)
        self.host, self.account = host, account or None
        self.ssh_command, self.options = tuple(ssh_command), tuple(options)

    @property
    def destination(self) -> str:
        return f"{self.account}@{self.host}" if self.account else self.host

    def describe(self) -> str:
        return f"ssh {self.destination} ({shlex.join([*self.ssh_command, *self.options])})"

    def remote(self, command: str, env: Mapping[str, str], setup: str = "") -> str:
        exports = [f"export {k}={shlex.quote(v)}" for k, v in _checked_env(env).items()]
        body = "\n".join(exports) + "\n" + script(command, setup)
        return f"{shlex.quote(self.shell)} -c {shlex.quote(body)}" if self.shell else body

    def argv(self, command: str, env: Mapping[str, str], setup: str = "") -> list[str]:
        return [*self.ssh_command, *self.options, self.destination, self.remote(command, env, setup)]

    def process_env(self, env: Mapping[str, str]) -> dict[str, str]:
        _checked_env(env)
        if self.base_env is not None:
            return dict(self.base_env)
        return base_environment(BASE_VARIABLES + SSH_AUTH_VARIABLES)


def _bad(field: str, label: str, value: str | None) -> InvalidInput:
    message = f"{label} {value!r} is not a valid {'host name' if field == 'launch_host' else 'account name'}"
    return InvalidInput(message, field_errors={field: [message]})


class TemplateLike(Protocol):
    executor: str
    launch_host: str | None
    launch_account: str | None


def executor_for(template: TemplateLike, settings: Settings) -> LocalExecutor:
    """The executor a launch template asks for, configured from the settings (a SshExecutor is a LocalExecutor)."""
    if template.executor == Executor.LOCAL:
        return LocalExecutor(max_output=settings.launch_log_max_bytes)
    if template.executor == Executor.SSH:
        if not template.launch_host:
            message = "Launch host is required for the ssh executor"
            raise InvalidInput(message, field_errors={"launch_host": [message]})
        return SshExecutor(template.launch_host, template.launch_account, settings.ssh_command_argv,
                           settings.ssh_options_argv, max_output=settings.launch_log_max_bytes)
    message = f"Executor {template.executor!r} is not one of {', '.join(Executor)}"
    raise InvalidInput(message, field_errors={"executor": [message]})
