"""``nfiles(n)``: launch k takes files k·n … k·n+n−1 of the ordered stage query."""
from __future__ import annotations

from typing import Any, Mapping

from .base import OneCount, Slice, SliceSource, baseline, parenthesised


class NFiles(OneCount):
    kind = "nfiles"
    syntax = "nfiles(n)"
    description = "Launch k takes files k·n … k·n+n−1 of the ordered query."
    help = ("Launch k takes positions k·n to k·n+n−1 of the query in MetaCat's created order "
            "((Q) ordered skip k·n limit n); the split is done when a slice would be empty.")
    drift_help = ("Slices are positions, not files: files created after the first launch sort last and are "
                  "taken by the last slices; a file retired from (or an older file added to) positions already "
                  "launched shifts every later slice by one, so a file can be skipped or taken twice. The "
                  "preview reports how many files were added or have gone since the first slice; use drainingn "
                  "for a query that changes.")

    def next_slice(self, params: Mapping[str, Any], query: str | None, cursor: Mapping[str, Any],
                   source: SliceSource) -> Slice | None:
        """Slice k = files k·n … k·n+n−1 of the ordered query; None once that slice is empty."""
        k, n = int(cursor.get("k", 0)), params["n"]
        mql = f"{parenthesised(query or '')} ordered skip {k * n} limit {n}"
        if source.count(mql) == 0:
            return None
        after = {**cursor, "k": k + 1}
        if "baseline" not in cursor:
            after["baseline"] = baseline(query or "", source)
        return Slice(key=f"k={k}", index=k, mql=mql, cursor=after, exhausts_when_empty=True)
