"""``drainingn(n)``: each launch takes up to n files of the stage query not in an earlier slice.

Earlier slices are excluded through what the launches recorded (``slice_delivery``: one row per delivered fid),
never through a growing MQL list.  The cursor remembers how far the ordered query is known to be delivered
(``prefix``: the first ``prefix`` files of ``(Q) ordered``) and the fid at that boundary, so a slice reads the
files after the boundary only: ``(Q) ordered skip prefix-1 limit n+1``, and probes our table for just those
fids.  Slice 200 costs what slice 1 costs.  When the file at the boundary is not where the cursor says (files
were retired from, or older files added to, the part already launched), the slice scans the ordered query
from its start instead, so those files are not skipped.  New files (created after the launches) sort last
and are picked up by the next slice.
"""
from __future__ import annotations

from typing import Any, Mapping

from .base import OneCount, Slice, SliceSource, baseline, parenthesised

FULL_SCAN_WINDOW = 5000


class DrainingN(OneCount):
    kind = "drainingn"
    syntax = "drainingn(n)"
    description = "Each launch takes up to n files of the query not in an earlier slice."
    refills = True
    help = ("Each launch takes the next n files of the query (in MetaCat's created order) that no earlier launch "
            "of this stage took since the last reset; the last launch may take fewer. The files are frozen to "
            "their fids on the submission.")
    drift_help = ("Files added to the query later are taken by later launches; retired files are never taken. "
                  "Files added to the part already launched are found too (the launch then reads the query "
                  "from its start once).")

    def next_slice(self, params: Mapping[str, Any], query: str | None, cursor: Mapping[str, Any],
                   source: SliceSource) -> Slice | None:
        n = params["n"]
        ordered = f"{parenthesised(query or '')} ordered"
        prefix, boundary = int(cursor.get("prefix", 0)), cursor.get("boundary")
        picked: list[str] = []
        start, window, last = 0, max(n, FULL_SCAN_WINDOW), None
        if prefix > 0 and boundary:
            head = list(source.fids(f"{ordered} skip {prefix - 1} limit {n + 1}"))
            if head and head[0] == boundary:                # the launched part is as the cursor says
                picked, start, last = self._pick(head[1:], prefix, n, source)
                last = last or boundary
                if len(picked) == n or len(head) < n + 1:
                    return self._slice(cursor, picked, start, last, query, source)
            # else: files were retired from or added to the launched part: read the query from its start
        while len(picked) < n:
            batch = list(source.fids(f"{ordered} skip {start} limit {window}"))
            more, end, seen = self._pick(batch, start, n - len(picked), source)
            picked.extend(more)
            start, last = end, seen or last
            if len(batch) < window:
                break
        return self._slice(cursor, picked, start, last, query, source)

    @staticmethod
    def _pick(batch: list[str], position: int, wanted: int,
              source: SliceSource) -> tuple[list[str], int, str | None]:
        """Up to ``wanted`` undelivered fids of ``batch`` (which starts at ``position`` of the ordered query);
        the position after the files looked at (all delivered once these are) and the fid just before it."""
        delivered = source.delivered_among(batch)
        picked: list[str] = []
        end, last = position, None
        for offset, fid in enumerate(batch):
            if fid not in delivered:
                if len(picked) == wanted:
                    break
                picked.append(fid)
            end, last = position + offset + 1, fid
        return picked, end, last

    def _slice(self, cursor: Mapping[str, Any], picked: list[str], end: int, last: str | None,
               query: str | None, source: SliceSource) -> Slice | None:
        if not picked:
            return None
        k = int(cursor.get("slices", 0))
        after = {**cursor, "slices": k + 1, "prefix": end, "boundary": last}
        if "baseline" not in cursor:
            after["baseline"] = baseline(query or "", source)
        return Slice(key=f"slice={k}", index=k, mql="fids " + ",".join(picked), cursor=after, fids=tuple(picked))
