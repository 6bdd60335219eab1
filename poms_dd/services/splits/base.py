"""The split-type interface (SPEC §5) and what the split types share.

A split type lives in one module of this package (``drainingn.py``, ``byrun.py``, ...) as a subclass of
:class:`SplitType`: its syntax, the form of stage query it expects, whether its launches are parameter launches,
how its parameter list is read (``parse_params``) and written back (``render``).  ``registry.py`` lists them.
Executing a split is :meth:`SplitType.next_slice`: from the stage query, the parameters and the persisted cursor,
the next :class:`Slice` (its exact MQL, and the cursor after it) or None when every slice has been launched,
reading MetaCat and Data Dispatcher through a :class:`SliceSource`.  It has no side effects; the launch records
the slice, its files when it is frozen to fids, and the new cursor in one transaction.  :meth:`SplitType.peek`
(the preview's dry run) and :meth:`SplitType.exhausted` are built on it.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Mapping, Protocol, Sequence

from ...errors import InvalidInput
from .grammar import positive_int
from .restrict import parenthesised, restrict  # noqa: F401 - parenthesised is part of this interface

QUERY_MQL = "mql"                  # the stage query is an MQL query
QUERY_DD_PROJECT_ID = "dd_project_id"  # the stage query is the id of an existing DD project
QUERY_OPTIONAL = "optional"        # the split string carries what to process; a stage query is optional MQL

QUERY_FORM_TEXT = {
    QUERY_MQL: "an MQL query (e.g. files from ns:dataset)",
    QUERY_DD_PROJECT_ID: "the id of an existing Data Dispatcher project (a positive integer)",
    QUERY_OPTIONAL: "optional; the split type's items say what to process",
}


@dataclass(frozen=True)
class Slice:
    """What one launch processes.

    ``key`` names the slice within the stage's cursor history (with the launch kind and attempt it makes the
    launch's idempotency key); ``mql`` is the exact query of its files (for parameter launches: the query the
    job works on); ``parameter`` is set for parameter launches; ``cursor`` is the stage's cursor after it.
    ``fids``: the slice is frozen to these files (drainingn, stagedfiles); the launch records them as delivered,
    so later slices (and the next slices of a preview) leave them out.  ``project_id``: the slice is an existing
    DD project (a ``list`` item ``project_id: 23``).  ``covers``: what the preview shows besides the files —
    ``{"runs": [1001]}`` or ``{"window": ["2026-01-01 00:00:00", "2026-01-02 00:00:00"]}`` (UTC strings).
    """

    key: str
    mql: str
    index: int | None = None
    parameter: str | None = None
    parameter_launch: bool = False
    cursor: Mapping[str, Any] = field(default_factory=dict)
    exhausts_when_empty: bool = False      # an empty slice means "all slices launched", not "nothing to launch"
    fids: tuple[str, ...] | None = None
    project_id: int | None = None
    covers: Mapping[str, Any] = field(default_factory=dict)


class SliceSource(Protocol):
    """What a split reads to compute a slice: MetaCat, Data Dispatcher, the clock and what earlier slices of this
    stage delivered.  Every method is read-only.  The launch's source is ``launch/resolve.py``'s; a preview
    stacks :meth:`with_delivered` views on it so that slice k+1 of a dry run leaves out slice k's files."""

    def fids(self, mql: str) -> Iterator[str]:
        """The fids of ``mql``, streamed from one MetaCat query in the query's order."""

    def files(self, mql: str, metadata: Sequence[str] = ()) -> Iterator[Any]:
        """The files (``adapters.types.FileInfo``, with these metadata keys) of ``mql``, streamed in order."""

    def count(self, mql: str) -> int:
        """How many files ``mql`` selects (MetaCat ``summary="count"``)."""

    def delivered_among(self, fids: Iterable[str]) -> set[str]:
        """Those of ``fids`` that earlier slices of this stage's cursor delivered (since its last reset).  Costs
        what the asked-about fids cost, not what the history holds."""

    def project_done_files(self, project_id: int) -> list[tuple[str, str]]:
        """(namespace, name) of the ``done`` handles of DD project ``project_id``, sorted; InvalidInput when DD
        has no such project."""

    def did_fids(self, dids: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """The MetaCat fid of each (namespace, name) MetaCat knows."""

    def now(self) -> dt.datetime:
        """The current time (aware, UTC)."""

    def with_delivered(self, fids: Iterable[str]) -> "SliceSource":
        """This source, with ``fids`` counted as delivered too (the previous slice of a preview)."""


class NotLaunchable(Exception):
    """This split type cannot be launched (a stage whose query has the wrong form for it, say)."""


class SplitType:
    """One split type.  Subclasses set the class attributes and implement :meth:`parse_params`/:meth:`render`
    and :meth:`next_slice`; :meth:`peek` and :meth:`exhausted` follow from it.

    ``parameter_launch``: its launches are parameter launches (the job makes its own project;
    POMS_DATA_DISPATCHER_PROJECT_ID is left empty).
    """

    kind: str = ""
    syntax: str = ""
    query_form: str = QUERY_MQL
    parameter_launch: bool = False
    description: str = ""
    # What a person reads on the stage page's split help: how the split walks the query, and what happens when
    # files are added to or retired from the query after the first slice.
    help: str = ""
    drift_help: str = ""
    # Its slices can come back after it is exhausted (files added to the query, new files in a time window, more
    # files done in a project): an exhausted split of this kind means "nothing new now", and a schedule keeps
    # running; for the others it means every slice was launched, and a schedule is disabled.
    refills: bool = False

    def parse_params(self, label: str, body: str) -> dict[str, Any]:
        """The parameters from the text between the parentheses (``""`` when there are none).

        ``label`` starts every message.  Raises InvalidInput naming the parameter and the offending value.
        """
        raise NotImplementedError

    def render(self, params: Mapping[str, Any]) -> str:
        """The canonical text: ``parse(render(p)).params == p``."""
        raise NotImplementedError

    def next_slice(self, params: Mapping[str, Any], query: str | None, cursor: Mapping[str, Any],
                   source: SliceSource) -> Slice | None:
        """The slice to launch after ``cursor`` (its ``cursor`` is the stage's cursor after it), or None: every
        slice has been launched (the split is exhausted).  No side effects; raises InvalidInput when the stage
        cannot be split this way (the message says why), ExternalServiceError when a service does not answer.
        """
        raise NotLaunchable(f"Launching stages with the split type {self.kind} is not available yet.")

    def peek(self, params: Mapping[str, Any], query: str | None, cursor: Mapping[str, Any], source: SliceSource,
             k: int) -> tuple[list[Slice], bool]:
        """The next ``k`` slices as the next ``k`` launches would take them, and whether the split is exhausted
        after them (no side effects: a dry run).  Slices that repeat (``limitn``, ``draining``) are listed once."""
        out: list[Slice] = []
        seen: set[str] = set()
        for _ in range(k):
            chosen = self.next_slice(params, query, cursor, source)
            if chosen is None:
                return out, True
            if chosen.key in seen:                      # a split whose slices repeat: one is enough
                return out, False
            seen.add(chosen.key)
            out.append(chosen)
            cursor = chosen.cursor
            if chosen.fids:
                source = source.with_delivered(chosen.fids)
        return out, self.next_slice(params, query, cursor, source) is None

    def exhausted(self, params: Mapping[str, Any], query: str | None, cursor: Mapping[str, Any],
                  source: SliceSource) -> bool:
        """Whether every slice has been launched."""
        return self.next_slice(params, query, cursor, source) is None

    def __repr__(self) -> str:
        return f"<split type {self.kind}>"


class NoParams(SplitType):
    """A split type written without parameters."""

    def parse_params(self, label: str, body: str) -> dict[str, Any]:
        if body:
            raise InvalidInput(f"{label}: takes no parameters, got {body!r}.")
        return {}

    def render(self, params: Mapping[str, Any]) -> str:
        return self.kind


class OneCount(SplitType):
    """A split type with exactly one positive integer parameter, named ``param``: ``kind(5)``."""

    param = "n"

    def parse_params(self, label: str, body: str) -> dict[str, Any]:
        if not body:
            raise InvalidInput(f"{label}: {self.param} is missing, e.g. {self.kind}(5).")
        if "," in body:
            raise InvalidInput(f"{label}: takes exactly one parameter {self.param}, got {body!r}.")
        return {self.param: positive_int(label, self.param, body)}

    def render(self, params: Mapping[str, Any]) -> str:
        return f"{self.kind}({params[self.param]})"


DEFAULT_RUN_KEY = "core.runs"
_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


def read_run_key(label: str, value: str | None) -> str:
    """The metadata field that holds a file's runs (``key=``), default ``core.runs``."""
    if value is None or value == "":
        return DEFAULT_RUN_KEY
    if not _KEY_RE.match(value):
        raise InvalidInput(f"{label}: key must be a metadata field name like core.runs, got {value!r}.")
    return value


def run_key_text(params: Mapping[str, Any]) -> str:
    """``key=...`` for a non-default run key, else ``""``."""
    return "" if params["key"] == DEFAULT_RUN_KEY else f"key={params['key']}"


def utc_text(moment: dt.datetime) -> str:
    """A quoted-MQL-ready UTC timestamp (``2026-01-15 12:00:00``): real MetaCat compares ``created_timestamp``
    with such strings, and fails with datetime()/epoch numbers (PROTOCOLS.md §8)."""
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def baseline(query: str, source: SliceSource) -> dict[str, Any]:
    """What the query selected when the first slice was computed (kept in the cursor for drift reports)."""
    return {"count": source.count(parenthesised(query)), "at": utc_text(source.now())}


def drift(query: str | None, cursor: Mapping[str, Any], source: SliceSource) -> dict[str, Any] | None:
    """Files added to and gone from the query since the first slice (None: no baseline yet).  ``added`` are
    files created since then; ``gone`` is what the count lost besides them (retired, or removed from a dataset)."""
    base = cursor.get("baseline")
    if not query or not isinstance(base, Mapping) or "count" not in base or "at" not in base:
        return None
    q = parenthesised(query)
    now_count = source.count(q)
    added = source.count(restrict(query, f"created_timestamp > '{base['at']}'"))
    return {"since": base["at"], "count_then": int(base["count"]), "count_now": now_count, "added": added,
            "gone": max(0, int(base["count"]) + added - now_count)}
