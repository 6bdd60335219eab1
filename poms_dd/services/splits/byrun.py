"""``byrun(low=a,high=b[,key=core.runs])``: launch k takes the files of run k, low to high; empty runs are
skipped.

The slice of run r is ``(Q) where <key>[any] = r`` (or an equivalent form when MetaCat's parser cannot take that
one for Q, e.g. ``files from ns:ds where ...``: see ``restrict.py``).  ``[any]`` compiles to the lax-mode JSONPath
``$."<key>"[*] ...``, which reads a list of runs (``core.runs = [1001, 1002]``: the file belongs to each) and a
single number alike; a range on a key written without ``[any]`` is silently ignored by MetaCat (PROTOCOLS.md
§8), so every query here subscripts the key.  Run numbers are integers.

The next run with files is found with count queries, not one count per run: first the run the cursor points at
(consecutive runs: one count), then the rest of the range (``<key>[any] in r+1:high``) and a bisection of it —
at most 2 + ⌈log2(high − r)⌉ counts (22 for a range of a million runs).  :func:`first_run_with_files` and the
MQL builders are shared with ``byexistingruns``.
"""
from __future__ import annotations

from typing import Any, Mapping

from ...errors import InvalidInput
from .base import Slice, SliceSource, SplitType, baseline, read_run_key, run_key_text
from .grammar import keyword_args, positive_int
from .restrict import restrict


def run_mql(query: str, key: str, run: int) -> str:
    """The files of ``run``: ``(Q) where key[any] = run`` (in the form MetaCat accepts for Q: ``restrict.py``)."""
    return restrict(query, f"{key}[any] = {run}")


def run_range_mql(query: str, key: str, low: int, high: int) -> str:
    """The files with some run in ``low … high``: ``(Q) where key[any] in low:high``."""
    return restrict(query, f"{key}[any] in {low}:{high}")


def has_files(source: SliceSource, mql: str) -> bool:
    """Whether ``mql`` selects a file (one MetaCat count)."""
    return source.count(mql) > 0


def bisect_runs(query: str, key: str, low: int, high: int, source: SliceSource) -> int:
    """The smallest run in ``low … high`` with files, given that some run of that range has files
    (⌈log2(high − low + 1)⌉ counts)."""
    while low < high:
        mid = (low + high) // 2
        if has_files(source, run_range_mql(query, key, low, mid)):
            high = mid
        else:
            low = mid + 1
    return low


def first_run_with_files(query: str, key: str, low: int, high: int, source: SliceSource) -> int | None:
    """The smallest run in ``low … high`` that some file of the query has, or None (see the module text for
    the cost)."""
    if low > high:
        return None
    if has_files(source, run_mql(query, key, low)):
        return low
    if low == high or not has_files(source, run_range_mql(query, key, low + 1, high)):
        return None
    return bisect_runs(query, key, low + 1, high, source)


def run_slice(query: str, key: str, run: int, cursor: Mapping[str, Any], after: Mapping[str, Any],
              source: SliceSource) -> Slice:
    """The slice of ``run``; ``after`` is what the split's cursor records besides the slice count and baseline."""
    k = int(cursor.get("slices", 0))
    new_cursor = {**cursor, **after, "slices": k + 1}
    if "baseline" not in cursor:
        new_cursor["baseline"] = baseline(query, source)
    return Slice(key=f"run={run}", index=k, mql=run_mql(query, key, run), cursor=new_cursor,
                 covers={"runs": [run]})


def require_query(split: SplitType, params: Mapping[str, Any], query: str | None) -> str:
    """The stage query; InvalidInput when the stage has none (these splits split an MQL query)."""
    if not query or not query.strip():
        raise InvalidInput(f"{split.render(params)} splits the stage's MQL query, and the stage has none.")
    return query


class ByRun(SplitType):
    kind = "byrun"
    syntax = "byrun(low=a,high=b[,key=core.runs])"
    description = "Launch k takes the files of run k, from low to high; empty runs are skipped."
    help = ("Each launch takes the files of the next run, from low up to high, that has files in the query "
            "((Q) where core.runs[any] = r, or the run key given with key=). Runs without files are skipped; "
            "they are found with a few count queries, not one per run. A file listed under several runs is "
            "taken with each of them. The split is done after the last run up to high that has files.")
    drift_help = ("Each run's files are read from MetaCat when that run is launched: files added to a run not yet "
                  "launched are taken with it, files retired before their run is launched are not. Files added "
                  "to a run already launched are not taken (the cursor has moved past it; reset the split to take "
                  "every run again). Runs outside low–high are never taken.")

    def parse_params(self, label: str, body: str) -> dict[str, Any]:
        kw = keyword_args(label, body, ("low", "high", "key"))
        missing = [n for n in ("low", "high") if n not in kw]
        if missing:
            raise InvalidInput(f"{label}: {' and '.join(missing)} missing, e.g. byrun(low=1200,high=1300).")
        low = positive_int(label, "low", kw["low"], minimum=0)
        high = positive_int(label, "high", kw["high"], minimum=0)
        if low > high:
            raise InvalidInput(f"{label}: low ({low}) must not be greater than high ({high}).")
        return {"low": low, "high": high, "key": read_run_key(label, kw.get("key"))}

    def render(self, params: Mapping[str, Any]) -> str:
        key = run_key_text(params)
        return f"byrun(low={params['low']},high={params['high']}" + (f",{key})" if key else ")")

    def next_slice(self, params: Mapping[str, Any], query: str | None, cursor: Mapping[str, Any],
                   source: SliceSource) -> Slice | None:
        """The files of the smallest run ≥ the cursor's run (``low`` at first) and ≤ ``high`` that has files;
        None when there is none.  A stage that launched nothing yet and has no run in the range gets an
        InvalidInput saying so (a wrong range or run key is likelier than a finished split)."""
        query = require_query(self, params, query)
        low, high, key = params["low"], params["high"], params["key"]
        start = int(cursor.get("run", low))
        run = first_run_with_files(query, key, start, high, source)
        if run is None:
            if "run" not in cursor:
                raise InvalidInput(f"Nothing to launch: no run from {low} to {high} has files in the stage query "
                                   f"(runs read from {key}); check the range and the run key of {self.render(params)}.")
            return None
        return run_slice(query, key, run, cursor, {"run": run + 1}, source)
