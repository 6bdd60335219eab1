"""``byexistingruns[(key=core.runs)]``: each launch takes the next run that has files in the stage query."""
from __future__ import annotations

from typing import Any, Mapping

from .base import SplitType, read_run_key, run_key_text
from .grammar import keyword_args


class ByExistingRuns(SplitType):
    kind = "byexistingruns"
    syntax = "byexistingruns[(key=core.runs)]"
    description = "Each launch takes the next run that has files in the query."

    def parse_params(self, label: str, body: str) -> dict[str, Any]:
        return {"key": read_run_key(label, keyword_args(label, body, ("key",)).get("key"))}

    def render(self, params: Mapping[str, Any]) -> str:
        key = run_key_text(params)
        return f"byexistingruns({key})" if key else "byexistingruns"
