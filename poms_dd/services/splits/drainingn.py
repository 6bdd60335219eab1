"""``drainingn(n)``: each launch takes up to n files of the stage query not in an earlier slice."""
from __future__ import annotations

from typing import Any, Mapping

from .base import OneCount, Slice, SliceSource, parenthesised


class DrainingN(OneCount):
    kind = "drainingn"
    syntax = "drainingn(n)"
    description = "Each launch takes up to n files of the query not in an earlier slice."

    def next_slice(self, params: Mapping[str, Any], query: str, cursor: Mapping[str, Any],
                   source: SliceSource) -> Slice | None:
        """Up to n files of the ordered query that no earlier slice delivered (our own record of the delivered
        fids, not a growing MQL list), frozen to their fids; None when none are left."""
        delivered = source.delivered()
        picked: list[str] = []
        for fid in source.fids(f"{parenthesised(query)} ordered"):
            if fid not in delivered:
                picked.append(fid)
                if len(picked) == params["n"]:
                    break
        if not picked:
            return None
        k = int(cursor.get("slices", 0))
        return Slice(key=f"slice={k}", index=k, mql="fids " + ",".join(picked), cursor={**cursor, "slices": k + 1})
