"""``mod(m)``: launch k takes every m-th file of the ordered stage query from position k (a stride).

Slice k (k = 0 … m−1) is ``filter stride(m, k)((Q) ordered)``: MetaCat's stride filter keeps the files at
positions ≡ k (mod m) of its input (stride(3, 1) of 10 ordered files → positions 1, 4, 7; PROTOCOLS.md §8).
Stride k is empty exactly when the query has k files or fewer, and then so is every later stride, so one count
of the query per launch tells whether a stride is left: the split is exhausted when k = m or when the query has
no file at position k.
"""
from __future__ import annotations

from typing import Any, Mapping

from ...errors import InvalidInput
from .base import OneCount, Slice, SliceSource, baseline, parenthesised


class Mod(OneCount):
    kind = "mod"
    syntax = "mod(m)"
    param = "m"
    description = "Launch k takes every m-th file of the ordered query starting at position k (k = 0…m−1)."
    help = ("Launch k (k = 0 … m−1) takes the files at positions k, k+m, k+2m, … of the query in MetaCat's "
            "created order (filter stride(m, k)((Q) ordered)), so m launches take every file once. When the "
            "query has fewer than m files the strides that would be empty are skipped; the split is done after "
            "stride m−1.")
    drift_help = ("Slices are positions, not files: each stride is evaluated when it is launched. A file created "
                  "after the first launch sorts last and lands in whichever stride its position falls in; a file "
                  "retired from (or an older file added to) the query shifts the position of every file after it, "
                  "so files can move into a stride already launched (skipped) or out of one (taken twice). The "
                  "preview reports how many files were added or have gone since the first slice; use drainingn or "
                  "byrun for a query that changes.")

    def next_slice(self, params: Mapping[str, Any], query: str | None, cursor: Mapping[str, Any],
                   source: SliceSource) -> Slice | None:
        """Stride k of the ordered query (one count of the query); None once k = m or the query has ≤ k files.

        On a stage that has launched nothing yet, a query without files is an error (InvalidInput), not an
        exhausted split."""
        if not query or not query.strip():
            raise InvalidInput(f"{self.render(params)} splits the stage's MQL query, and the stage has none.")
        k, m = int(cursor.get("k", 0)), params["m"]
        if k >= m:
            return None
        after = {**cursor, "k": k + 1}
        if "baseline" in cursor:
            total = source.count(parenthesised(query))
        else:
            after["baseline"] = baseline(query, source)
            total = int(after["baseline"]["count"])
        if total <= k:                                  # stride k (and every later one) is empty
            if k == 0:
                raise InvalidInput(f"Nothing to launch: the stage query selects no files, so {self.render(params)} "
                                   "has no stride to launch.")
            return None
        mql = f"filter stride({m}, {k})({parenthesised(query)} ordered)"
        return Slice(key=f"k={k}", index=k, mql=mql, cursor=after, exhausts_when_empty=True)
