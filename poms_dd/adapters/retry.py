"""The one retry policy, for idempotent reads only (tenacity).

Creates, copies, restarts, cancels and releases are never retried: a lost answer to a create does not mean
nothing was created (SPEC §4.4 reconciles such a crash by the project's ``poms_task_id`` attribute instead).
The clients' own long retry loops (MetaCat: up to 30 minutes on 502–524, DD: 5 minutes on 503) are switched
off in ``metacat.py``/``data_dispatcher.py`` so this policy is the only one.
"""
from __future__ import annotations

from typing import Callable, TypeVar

from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from .errors import is_transient

T = TypeVar("T")

ATTEMPTS = 3
WAIT_MULTIPLIER = 0.25    # seconds: waits ≈ 0.25, 0.5 between the attempts
WAIT_MAX = 2.0


def read_policy() -> Retrying:
    """A fresh tenacity controller: up to 3 attempts, short exponential back-off, transient errors only."""
    return Retrying(stop=stop_after_attempt(ATTEMPTS),
                    wait=wait_exponential(multiplier=WAIT_MULTIPLIER, max=WAIT_MAX),
                    retry=retry_if_exception(is_transient), reraise=True)


def call_read(fn: Callable[[], T]) -> T:
    """Call ``fn`` (an idempotent read) under the read policy; the last exception is re-raised unchanged."""
    return read_policy()(fn)
