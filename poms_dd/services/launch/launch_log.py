"""The launch log stored on a submission: a header, the environment, the output, the result line.

The output of a launch is kept size-capped: :class:`OutputBuffer` (used by the executors while the command runs)
holds at most ``max_bytes`` — the first half and the last half of what arrived — and never more in memory;
:func:`cap` does the same to a finished string.  Both put ``[... N bytes omitted ...]`` where bytes were
dropped.  NUL characters become U+FFFD (PostgreSQL text cannot store NUL).

:func:`compose` writes the whole log::

    === poms_dd launch ===
    started:  2024-05-01 12:00:00 UTC
    executor: ssh poms@launch.example.org (ssh -o BatchMode=yes -o ConnectTimeout=20)
    timeout:  600 s
    --- setup ---
    ...
    --- command ---
    ...
    --- environment ---
    POMS_DATA_DISPATCHER_TASK_ID=12
    ...
    --- output ---
    ...
    --- result ---
    Launch succeeded: exit status 0 (1.2 s)

Environment values are shown shell-quoted (``K='files from ...'``) and each capped at
:data:`ENV_VALUE_MAX_BYTES`; the launch environment holds no secrets (SPEC §2.5 lists what it holds).
"""
from __future__ import annotations

import datetime as dt
import shlex
from typing import Mapping, Protocol

ENV_VALUE_MAX_BYTES = 4096


def _marker(omitted: int) -> bytes:
    return f"\n[... {omitted} bytes omitted ...]\n".encode()


def _decode(data: bytes) -> str:
    return data.decode("utf-8", errors="replace").replace("\x00", "\ufffd")


class OutputBuffer:
    """Collects a stream of bytes keeping the head and the tail, ``max_bytes`` at most in memory."""

    def __init__(self, max_bytes: int):
        if max_bytes < 2:
            raise ValueError("max_bytes must be at least 2")
        self.max_bytes = max_bytes
        self._head = bytearray()
        self._tail = bytearray()
        self.total = 0

    def add(self, data: bytes) -> None:
        self.total += len(data)
        room = self.max_bytes // 2 - len(self._head)
        if room > 0:
            self._head += data[:room]
            data = data[room:]
        keep = self.max_bytes - self.max_bytes // 2
        self._tail += data[-keep:] if keep else b""
        if len(self._tail) > keep:
            del self._tail[:len(self._tail) - keep]

    @property
    def held_bytes(self) -> int:
        return len(self._head) + len(self._tail)

    @property
    def truncated(self) -> bool:
        return self.total > self.held_bytes

    def text(self) -> str:
        omitted = self.total - self.held_bytes
        middle = _marker(omitted) if omitted else b""
        return _decode(bytes(self._head) + middle + bytes(self._tail))


def cap(text: str, max_bytes: int) -> str:
    """``text`` cut to about ``max_bytes`` of UTF-8 (head and tail kept, a marker between), NUL replaced."""
    buf = OutputBuffer(max_bytes)
    buf.add(text.encode("utf-8", errors="replace"))
    return buf.text()


class ResultLike(Protocol):
    """What :func:`compose` reads of an ``executors.LaunchResult``."""

    ok: bool
    reason: str
    output: str
    seconds: float


def header(*, started_at: dt.datetime, executor: str, timeout: float, setup: str, command: str,
           env: Mapping[str, str]) -> str:
    """The part of the log known before the command runs (a page may show it while the launch runs)."""
    when = started_at.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    lines = ["=== poms_dd launch ===", f"started:  {when}", f"executor: {executor}", f"timeout:  {timeout:g} s"]
    if setup.strip():
        lines += ["--- setup ---", setup.rstrip("\n")]
    lines += ["--- command ---", command.rstrip("\n"), "--- environment ---"]
    lines += [f"{k}={cap(shlex.quote(v), ENV_VALUE_MAX_BYTES)}" for k, v in sorted(env.items())]
    return "\n".join(lines) + "\n"


def result_line(result: ResultLike) -> str:
    verdict = "Launch succeeded" if result.ok else "Launch failed"
    return f"{verdict}: {result.reason} ({result.seconds:.1f} s)"


def compose(*, started_at: dt.datetime, executor: str, timeout: float, setup: str, command: str,
            env: Mapping[str, str], result: ResultLike, max_bytes: int | None = None) -> str:
    """The whole launch log; with ``max_bytes`` the header is capped so the output and result still fit."""
    head = header(started_at=started_at, executor=executor, timeout=timeout, setup=setup, command=command,
                  env=env)
    output = result.output if result.output.endswith("\n") or not result.output else result.output + "\n"
    tail = "--- output ---\n" + output + "--- result ---\n" + result_line(result) + "\n"
    if max_bytes is not None:
        budget = max(max_bytes - len(tail.encode()), max_bytes // 4)
        head = cap(head, budget)
    return head + tail.replace("\x00", "\ufffd")
