"""``byexistingruns[(key=core.runs)]``: each launch takes the next run that has files in the stage query.

The cursor holds the last run launched (``last``); the next slice is the smallest run above it that some file of
the query has, ``(Q) where <key>[any] = r`` (``[any]`` reads lists of runs and single numbers alike; see
``byrun.py``).  A file listed under several runs belongs to each of them.  Run numbers are integers ≥ 0.

Finding that run costs a few MetaCat calls, whatever the number of runs:

1. count the files with a run above the last one (``<key>[any] >= last+1``): none → no run is left;
2. after a launch, count run last+1 (consecutive runs: done in two counts);
3. when at most ``STREAM_LIMIT`` files are above the last run, stream them once with only the run key's
   metadata and take their smallest run (one query; ~2 s for 50,000 files on a real MetaCat);
4. else gallop over count queries on blocks of runs of doubling width (``in a:b``) and bisect the first block
   with files: about 2·log2(gap) counts, for a gap of a million runs ~40.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from ...errors import InvalidInput
from .base import Slice, SliceSource, SplitType, read_run_key, run_key_text
from .byrun import bisect_runs, has_files, require_query, run_mql, run_range_mql, run_slice
from .grammar import keyword_args
from .restrict import restrict

STREAM_LIMIT = 50_000
MAX_GALLOP = 64                 # doubling blocks cover every run number below 2**64


def integer_runs(value: Any) -> Iterable[int]:
    """The integer run numbers of a metadata value (a list of runs or one run); other values hold no run."""
    for x in (value if isinstance(value, list) else [value]):
        if isinstance(x, bool):
            continue
        if isinstance(x, int):
            yield x
        elif isinstance(x, float) and x.is_integer():
            yield int(x)


def next_run(query: str, key: str, start: int, source: SliceSource, after_launch: bool,
             stream_limit: int = STREAM_LIMIT) -> int | None:
    """The smallest run ≥ ``start`` that some file of the query has, or None (the steps of the module text;
    ``after_launch``: try run ``start`` first; up to ``stream_limit`` files are streamed instead of galloping)."""
    beyond = restrict(query, f"{key}[any] >= {start}")
    above = source.count(beyond)
    if above == 0:
        return None
    if after_launch and has_files(source, run_mql(query, key, start)):
        return start
    if above <= stream_limit:
        runs = (r for f in source.files(beyond, metadata=[key]) for r in integer_runs(f.metadata.get(key))
                if r >= start)
        return min(runs, default=None)
    low, width = (start + 1 if after_launch else start), 1     # run ``start`` itself was counted above
    for _ in range(MAX_GALLOP):
        if has_files(source, run_range_mql(query, key, low, low + width - 1)):
            return bisect_runs(query, key, low, low + width - 1, source)
        low, width = low + width, width * 2
    raise InvalidInput(f"The run numbers in {key} of the stage query's files are not integers (no integer run "
                       f"from {start} to {low - 1} has files); byexistingruns needs integer run numbers.")


class ByExistingRuns(SplitType):
    kind = "byexistingruns"
    syntax = "byexistingruns[(key=core.runs)]"
    description = "Each launch takes the next run that has files in the query."
    refills = True
    help = ("Each launch takes the files of the smallest run above the last run launched that has files in the "
            "query ((Q) where core.runs[any] = r, or the run key given with key=); the first launch takes the "
            "smallest run. A file listed under several runs is taken with each of them. The split is done when "
            "no run above the last one launched has files.")
    drift_help = ("The cursor is the last run launched: a new run above it is taken by a later launch (so a "
                  "scheduled stage keeps taking new runs as they appear). Files added to a run already launched, "
                  "and new runs below the last run launched, are not taken (reset the split to take every run "
                  "again). Each run's files are read from MetaCat when it is launched, so files retired before "
                  "then are not taken.")

    def parse_params(self, label: str, body: str) -> dict[str, Any]:
        return {"key": read_run_key(label, keyword_args(label, body, ("key",)).get("key"))}

    def render(self, params: Mapping[str, Any]) -> str:
        key = run_key_text(params)
        return f"byexistingruns({key})" if key else "byexistingruns"

    def next_slice(self, params: Mapping[str, Any], query: str | None, cursor: Mapping[str, Any],
                   source: SliceSource) -> Slice | None:
        """The files of the smallest run above the cursor's last run with files in the query; None when no run
        is left.  A stage that launched nothing yet and whose query has no run gets an InvalidInput saying so."""
        query, key = require_query(self, params, query), params["key"]
        launched = "last" in cursor
        start = int(cursor["last"]) + 1 if launched else 0
        run = next_run(query, key, start, source, after_launch=launched)
        if run is None:
            if not launched:
                raise InvalidInput(f"Nothing to launch: no file of the stage query has a run number in {key} "
                                   f"(integers, read as {key}[any]); check the query and the run key of "
                                   f"{self.render(params)}.")
            return None
        return run_slice(query, key, run, cursor, {"last": run}, source)
