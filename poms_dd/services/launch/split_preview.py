"""What the next slices of a stage hold (SPEC §5 end, §8.1 ``GET .../preview``): per slice its exact MQL, file
count and total size (MetaCat ``summary=count``), the runs or time window it covers and where its files'
replicas are (Rucio), computed without creating or changing anything.

The cost is bounded: runs are listed for slices of at most :data:`RUN_SCAN_LIMIT` files (one streamed MetaCat
query with ``core.runs``), and at most ``replica_budget`` files of one preview are looked up in Rucio (real
Rucio answers ~1,000 DIDs in 5.7 s, PROTOCOLS.md §9); a slice beyond the budget is checked on its first files
and says how many were checked.  The adapter asks Rucio at most 1,000 DIDs per call.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from ...errors import ConfigurationError, InvalidInput
from ...models import CampaignStage
from ..splits import Slice, parenthesised
from .requests import LARGE_PROJECT
from .resolve import EXHAUSTED_AT

DEFAULT_SLICES = 5
MAX_SLICES = 50
RUN_SCAN_LIMIT = 10_000
REPLICA_BUDGET = 5_000
RUN_KEY = "core.runs"


@dataclass
class ReplicaSummary:
    """Replica availability of the ``checked`` first files of a slice of ``of`` files: ``available`` have an
    available replica somewhere (``tape_only``: on tape only), ``missing`` have none (or Rucio does not know
    them); ``by_rse`` counts, per RSE, the files with an available replica there."""

    of: int
    checked: int = 0
    available: int = 0
    missing: int = 0
    tape_only: int = 0
    by_rse: dict[str, int] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return self.checked >= self.of

    def to_json(self) -> dict[str, Any]:
        return {"available": self.available, "missing": self.missing, "by_rse": dict(sorted(self.by_rse.items())),
                "tape_only": self.tape_only, "checked": self.checked, "complete": self.complete}


@dataclass
class SlicePreview:
    """One slice as the preview shows it.  ``index`` is the split's slice number (the position in the preview
    for splits that do not number their slices); ``runs``/``window`` what it covers (None: not listed)."""

    position: int
    index: int
    key: str
    mql: str
    file_count: int | None = None
    total_size: int | None = None
    runs: list[Any] | None = None
    window: list[str] | None = None
    replicas: ReplicaSummary | None = None
    parameter_launch: bool = False
    parameter: str | None = None
    project_id: int | None = None
    last: bool = False
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"slice {self.index} ({self.key})"

    @property
    def runs_text(self) -> str:
        """The runs as a person reads them: consecutive numbers as ranges (``1000–1014, 1020``)."""
        return run_ranges(self.runs or [])

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"index": self.index, "position": self.position, "key": self.key, "mql": self.mql,
                               "file_count": self.file_count, "total_size": self.total_size}
        if self.window is not None:
            doc["window"] = list(self.window)
        else:
            doc["runs"] = self.runs
        doc.update({"replicas": self.replicas.to_json() if self.replicas else None,
                    "parameter_launch": self.parameter_launch, "parameter": self.parameter,
                    "project_id": self.project_id, "last": self.last, "notes": list(self.notes),
                    "warnings": list(self.warnings)})
        return doc


@dataclass
class SplitPreview:
    """The dry run of a stage's next launches.  ``exhausted``: no slice is left after the listed ones (for a
    split that ``refills``, until the query has new files); ``repeats``: every launch takes the listed slice
    again (limitn, draining, a stage without split type); ``override_project_id``: the stage's project-id
    override, which every launch uses."""

    stage: CampaignStage
    kind: str
    split_type: str | None
    slices: list[SlicePreview]
    exhausted: bool = False
    refills: bool = False
    repeats: bool = False
    exhausted_at: str | None = None
    override_project_id: int | None = None
    drift: dict[str, Any] | None = None
    cursor: dict[str, Any] = field(default_factory=dict)
    replicas_checked: bool = True
    notes: list[str] = field(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        return [w for s in self.slices for w in s.warnings]

    def to_json(self) -> dict[str, Any]:
        """The API's answer (SPEC §8.1 plus the fields the stage page uses)."""
        return {"split_type": self.split_type, "kind": self.kind, "stage_id": self.stage.id,
                "slices": [s.to_json() for s in self.slices], "exhausted": self.exhausted, "refills": self.refills,
                "repeats": self.repeats, "exhausted_at": self.exhausted_at,
                "override_project_id": self.override_project_id, "drift": self.drift, "cursor": dict(self.cursor),
                "replicas_checked": self.replicas_checked, "warnings": self.warnings, "notes": list(self.notes)}


class SliceDescriber:
    """Fills in a :class:`SlicePreview` per slice through the experiment's adapters, spending the preview's
    Rucio budget in slice order.  Raises InvalidInput (a slice MetaCat's parser rejects, an unknown DD
    project) and ExternalServiceError (a service does not answer)."""

    def __init__(self, adapters, replicas: bool, replica_budget: int = REPLICA_BUDGET):
        self.adapters = adapters
        self.replicas = replicas
        self.budget = max(0, replica_budget)
        self.rucio_missing: str | None = None

    def describe(self, position: int, chosen: Slice) -> SlicePreview:
        out = SlicePreview(position=position, index=chosen.index if chosen.index is not None else position,
                           key=chosen.key, mql=chosen.mql, parameter_launch=chosen.parameter_launch,
                           parameter=chosen.parameter, project_id=chosen.project_id)
        covers = dict(chosen.covers or {})
        if "window" in covers:
            out.window = [str(t) for t in covers["window"]]
        elif "runs" in covers:
            out.runs = _sorted_runs(covers["runs"])
        if chosen.project_id is not None:
            self._project(out, chosen.project_id)
        elif chosen.parameter_launch:
            self._parameter(out)
        else:
            self._files(out, need_runs=out.runs is None and out.window is None)
        if out.file_count == 0 and not out.parameter_launch:
            out.warnings.append(f"{out.label.capitalize()} selects no files now: its launch would stop with "
                                "\"nothing to launch\".")
        if out.file_count and out.file_count > LARGE_PROJECT and not out.parameter_launch:
            out.warnings.append(
                f"{out.label.capitalize()}: {out.file_count:,} files in one Data Dispatcher project. Every file "
                "release reloads all of a project's handles, so jobs slow down above ~10,000 files per "
                "submission; a smaller slice (e.g. drainingn(5000)) keeps them fast.")
        return out

    # --- kinds of slices -----------------------------------------------------------------------------------

    def _counted(self, out: SlicePreview) -> None:
        try:
            counted = self.adapters.metacat.validate(out.mql)
        except InvalidInput as err:
            raise InvalidInput(f"The MQL of {out.label} cannot be run: {err.message} (MQL: {out.mql})") from None
        out.file_count, out.total_size = counted.count, counted.total_size

    def _parameter(self, out: SlicePreview) -> None:
        """A parameter launch: the job makes its own project; what its query selects now is still useful."""
        out.notes.append("Parameter launch: poms_dd creates no project; the job works on the query itself.")
        if out.mql.strip():
            self._counted(out)

    def _project(self, out: SlicePreview, project_id: int) -> None:
        project = self.adapters.data_dispatcher.get_project(int(project_id), with_handles=True)
        if project is None:
            raise InvalidInput(f"{out.label.capitalize()} is Data Dispatcher project {project_id}, which Data "
                               "Dispatcher does not know; correct the stage.")
        handles = project.handles or ()
        out.file_count = len(handles)
        if project.query:
            out.mql = project.query
        out.notes.append(f"An existing Data Dispatcher project ({project_id}): its files, whatever their state.")
        self._replicas(out, (h.did for h in handles))

    def _files(self, out: SlicePreview, need_runs: bool) -> None:
        """Count, then (one streamed query, bounded) the runs and the DIDs for the replica check."""
        self._counted(out)
        count = out.file_count or 0
        need_runs = need_runs and 0 < count <= RUN_SCAN_LIMIT
        if count > RUN_SCAN_LIMIT and out.runs is None and out.window is None:
            out.notes.append(f"Runs are listed for slices of at most {RUN_SCAN_LIMIT:,} files.")
        wanted = count if need_runs else min(count, self._budget_left())
        if wanted == 0:
            self._replicas(out, ())
            return
        mql = out.mql if wanted >= count else f"{parenthesised(out.mql)} limit {wanted}"
        runs: set[Any] = set()
        dids: list[str] = []
        for f in self.adapters.metacat.iter_files(mql, metadata=(RUN_KEY,) if need_runs else False):
            dids.append(f.did)
            if need_runs:
                runs.update(_as_runs(f.metadata.get(RUN_KEY)))
        if need_runs:
            out.runs = _sorted_runs(runs)
        self._replicas(out, dids, total=count)

    # --- replicas ------------------------------------------------------------------------------------------

    def _budget_left(self) -> int:
        return self.budget if self.replicas and self.rucio_missing is None else 0

    def _replicas(self, out: SlicePreview, dids: Iterable[str], total: int | None = None) -> None:
        """Replica availability of the slice's first files, within the preview's budget."""
        total = (out.file_count or 0) if total is None else total
        if not self.replicas or self.rucio_missing is not None:
            return
        wanted = [d for _, d in zip(range(self._budget_left()), dids)]
        summary = ReplicaSummary(of=total, checked=len(wanted))
        if wanted:
            try:
                rucio = self.adapters.rucio
            except ConfigurationError as err:
                self.rucio_missing = f"Replicas were not checked: {err.message}"
                return
            found = {r.did: r for r in rucio.replicas(wanted)}
            for did in wanted:
                _count_replica(summary, found.get(did))
        self.budget -= len(wanted)
        out.replicas = summary
        if not summary.complete:
            out.notes.append(f"Replicas were checked for the first {summary.checked:,} of {total:,} files (the "
                             "preview looks up at most a few thousand files in Rucio).")
        if summary.missing:
            out.warnings.append(f"{out.label.capitalize()}: {summary.missing:,} of {summary.checked:,} files checked "
                                "have no available replica; Data Dispatcher will not hand them out (they show as "
                                "Unknown).")


def _count_replica(summary: ReplicaSummary, found) -> None:
    rses = sorted(set(found.available_rses)) if found is not None else []
    if not rses:
        summary.missing += 1
        return
    summary.available += 1
    if found.on_tape and not found.on_disk:
        summary.tape_only += 1
    for rse in rses:
        summary.by_rse[rse] = summary.by_rse.get(rse, 0) + 1


def _as_runs(value: Any) -> list[Any]:
    """A file's runs: ``core.runs`` is a list of run numbers (a scalar is taken as one run)."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [v for v in value if isinstance(v, (int, float, str)) and not isinstance(v, bool)]
    return [value] if isinstance(value, (int, float, str)) and not isinstance(value, bool) else []


def _sorted_runs(runs: Iterable[Any]) -> list[Any]:
    """Distinct runs, numbers first in numeric order, then text."""
    values = set(_as_runs(list(runs)))
    return sorted(values, key=lambda r: (0, r, "") if not isinstance(r, str) else (1, 0, r))


def run_ranges(runs: Iterable[Any]) -> str:
    """``[1000, 1001, 1002, 1005, "x"]`` → ``"1000–1002, 1005, x"``."""
    parts: list[str] = []
    start = prev = None
    for r in _sorted_runs(runs):
        if isinstance(r, int) and isinstance(prev, int) and r == prev + 1:
            prev = r
            continue
        if start is not None:
            parts.append(str(start) if start == prev else f"{start}\u2013{prev}")
        start = prev = r
    if start is not None:
        parts.append(str(start) if start == prev else f"{start}\u2013{prev}")
    return ", ".join(parts)


def cursor_notes(cursor: Mapping[str, Any]) -> str | None:
    """When the split was found exhausted (the note a launch leaves in the cursor), or None."""
    value = cursor.get(EXHAUSTED_AT)
    return str(value) if value else None
