"""``multiparam([a,b],[c,d])``: launch k is a parameter launch with the k-th combination of the lists joined
with ``_`` (the first list varying fastest, as in POMS).  The cursor is ``{"k": k}``, the index of the next
combination; the launch's query is the stage query (optional for this split type; ``""`` when there is none)."""
from __future__ import annotations

import re
from itertools import product
from typing import Any, Mapping

from ...errors import InvalidInput
from .base import QUERY_OPTIONAL, Slice, SliceSource, SplitType
from .grammar import split_top

_PARAM_TOKEN_RE = re.compile(r"^[^\s\[\](),;'\"]+$")


class MultiParam(SplitType):
    kind = "multiparam"
    syntax = "multiparam([a,b],[c,d])"
    query_form = QUERY_OPTIONAL
    parameter_launch = True
    description = "Launch k is a parameter launch with the k-th combination of the lists joined with '_'."
    help = ("Launch k is a parameter launch (the job makes its own project) whose parameter is the k-th "
            "combination of one value from each list, joined with '_', the first list varying fastest: "
            "multiparam([a,b],[x,y]) launches a_x, b_x, a_y, b_y. The stage query, if any, is passed on as the "
            "query the jobs work on. The split is done after the last combination.")
    drift_help = "The combinations do not depend on the query; each launch passes the query on as it is then."

    def parse_params(self, label: str, body: str) -> dict[str, Any]:
        lists = []
        for n, part in enumerate(split_top(body, ",", label), 1):
            part = part.strip()
            if not (part.startswith("[") and part.endswith("]")):
                raise InvalidInput(f"{label}: list {n} must be written in brackets like [a,b], got {part!r}.")
            values = tuple(v.strip() for v in part[1:-1].split(","))
            for v in values:
                if not _PARAM_TOKEN_RE.match(v):
                    raise InvalidInput(f"{label}: value {v!r} in list {n} must be non-empty and contain no spaces, "
                                       "brackets, parentheses, commas, semicolons or quotes.")
            lists.append(values)
        return {"lists": tuple(lists)}

    def render(self, params: Mapping[str, Any]) -> str:
        return "multiparam(" + ",".join("[" + ",".join(v) + "]" for v in params["lists"]) + ")"

    def next_slice(self, params: Mapping[str, Any], query: str | None, cursor: Mapping[str, Any],
                   source: SliceSource) -> Slice | None:
        """Combination k (``cursor["k"]``, 0 at first) as a parameter launch; None after the last one."""
        combos = self.combinations(params)
        k = int(cursor.get("k", 0))
        if k >= len(combos):
            return None
        return Slice(key=f"combination={k}", index=k, mql=(query or "").strip(), parameter=combos[k],
                     parameter_launch=True, cursor={**cursor, "k": k + 1})

    @staticmethod
    def combinations(params: Mapping[str, Any]) -> list[str]:
        """Every combination joined with '_', the first list varying fastest (a_d, b_d, a_e, b_e for
        [a,b],[d,e]); launch k uses element k."""
        return ["_".join(reversed(c)) for c in product(*reversed(params["lists"]))]
