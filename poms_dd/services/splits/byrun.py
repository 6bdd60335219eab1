"""``byrun(low=a,high=b[,key=core.runs])``: launch k takes the files of run k, low to high; empty runs are
skipped."""
from __future__ import annotations

from typing import Any, Mapping

from ...errors import InvalidInput
from .base import SplitType, read_run_key, run_key_text
from .grammar import keyword_args, positive_int


class ByRun(SplitType):
    kind = "byrun"
    syntax = "byrun(low=a,high=b[,key=core.runs])"
    description = "Launch k takes the files of run k, from low to high; empty runs are skipped."

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
