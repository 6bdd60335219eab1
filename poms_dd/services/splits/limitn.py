"""``limitn(n)``: every launch takes the first n files of the stage query."""
from __future__ import annotations

from typing import Any, Mapping

from .base import OneCount, Slice, SliceSource, parenthesised


class LimitN(OneCount):
    kind = "limitn"
    syntax = "limitn(n)"
    description = "Every launch takes the first n files of the query."

    def next_slice(self, params: Mapping[str, Any], query: str, cursor: Mapping[str, Any],
                   source: SliceSource) -> Slice | None:
        """The first n files of the ordered query, every time (the cursor does not move)."""
        return Slice(key="first", mql=f"{parenthesised(query)} ordered limit {params['n']}", cursor=dict(cursor))
