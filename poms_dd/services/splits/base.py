"""The split-type interface (SPEC §5) and what the split types share.

A split type lives in one module of this package (``drainingn.py``, ``byrun.py``, ...) as a subclass of
:class:`SplitType`: its syntax, the form of stage query it expects, whether its launches are parameter launches,
how its parameter list is read (``parse_params``) and written back (``render``).  ``registry.py`` lists them.
Executing a split is :meth:`SplitType.next_slice`: from the stage query, the parameters and the persisted cursor,
the next :class:`Slice` (its exact MQL, and the cursor after it), reading MetaCat through a :class:`SliceSource`.
It has no side effects; the launch records the slice and the new cursor in one transaction.  Types whose
execution is not built yet say so (:class:`NotLaunchable`); the split-types issue completes them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping, Protocol

from ...errors import InvalidInput
from .grammar import positive_int

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
    """

    key: str
    mql: str
    index: int | None = None
    parameter: str | None = None
    parameter_launch: bool = False
    cursor: Mapping[str, Any] = field(default_factory=dict)
    exhausts_when_empty: bool = False      # an empty slice means "all slices launched", not "nothing to launch"


class SliceSource(Protocol):
    """What a split reads to compute a slice (MetaCat, and what earlier slices of this stage delivered)."""

    def fids(self, mql: str) -> Iterator[str]:
        """The fids of ``mql``, streamed in the query's order."""

    def delivered(self) -> set[str]:
        """The fids delivered by earlier slices of this stage's cursor (since its last reset)."""


class NotLaunchable(Exception):
    """This split type cannot be launched yet (its execution comes with the split-types issue)."""


def parenthesised(query: str) -> str:
    """The stage query as a unit to compose with: ``(Q)``; never appended to as text."""
    return f"({query.strip()})"


class SplitType:
    """One split type.  Subclasses set the class attributes and implement :meth:`parse_params`/:meth:`render`.

    ``parameter_launch``: its launches are parameter launches (the job makes its own project;
    POMS_DATA_DISPATCHER_PROJECT_ID is left empty).
    """

    kind: str = ""
    syntax: str = ""
    query_form: str = QUERY_MQL
    parameter_launch: bool = False
    description: str = ""

    def parse_params(self, label: str, body: str) -> dict[str, Any]:
        """The parameters from the text between the parentheses (``""`` when there are none).

        ``label`` starts every message.  Raises InvalidInput naming the parameter and the offending value.
        """
        raise NotImplementedError

    def render(self, params: Mapping[str, Any]) -> str:
        """The canonical text: ``parse(render(p)).params == p``."""
        raise NotImplementedError

    def next_slice(self, params: Mapping[str, Any], query: str, cursor: Mapping[str, Any],
                   source: SliceSource) -> Slice | None:
        """The next slice after ``cursor`` (None: every slice has been launched).  No side effects.

        Raises NotLaunchable for split types whose launches are not built yet.
        """
        raise NotLaunchable(f"Launching stages with the split type {self.kind} is not available yet; use "
                            "drainingn, nfiles, limitn or draining, or give the stage a DD project id.")

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
