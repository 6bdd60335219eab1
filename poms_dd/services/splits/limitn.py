"""``limitn(n)``: every launch takes the first n files of the stage query."""
from __future__ import annotations

from typing import Any, Mapping

from .base import OneCount, Slice, SliceSource, parenthesised


class LimitN(OneCount):
    kind = "limitn"
    syntax = "limitn(n)"
    description = "Every launch takes the first n files of the query."

    help = "Every launch takes the first n files of the query in MetaCat's created order; the cursor never moves."
    drift_help = "Files created later sort last, so the same first n files are taken until some are retired."

    def next_slice(self, params: Mapping[str, Any], query: str | None, cursor: Mapping[str, Any],
                   source: SliceSource) -> Slice | None:
        """The first n files of the ordered query, every time (the cursor does not move)."""
        return Slice(key="first", mql=f"{parenthesised(query or '')} ordered limit {params['n']}", cursor=dict(cursor))
