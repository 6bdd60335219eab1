"""``nfiles(n)``: launch k takes files k·n … k·n+n−1 of the ordered stage query."""
from __future__ import annotations

from typing import Any, Mapping

from .base import OneCount, Slice, SliceSource, parenthesised


class NFiles(OneCount):
    kind = "nfiles"
    syntax = "nfiles(n)"
    description = "Launch k takes files k·n … k·n+n−1 of the ordered query."

    def next_slice(self, params: Mapping[str, Any], query: str, cursor: Mapping[str, Any],
                   source: SliceSource) -> Slice | None:
        """Slice k = files k·n … k·n+n−1 of the ordered query; an empty slice means all were launched."""
        k, n = int(cursor.get("k", 0)), params["n"]
        return Slice(key=f"k={k}", index=k, mql=f"{parenthesised(query)} ordered skip {k * n} limit {n}",
                     cursor={**cursor, "k": k + 1}, exhausts_when_empty=True)
