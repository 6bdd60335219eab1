"""``draining``: each launch is a parameter launch with the whole stage query; the job drains it."""
from __future__ import annotations

from typing import Any, Mapping

from .base import NoParams, Slice, SliceSource


class Draining(NoParams):
    kind = "draining"
    syntax = "draining"
    parameter_launch = True
    description = "Each launch is a parameter launch with the whole query; the job drains it."

    help = ("Every launch is a parameter launch with the whole query: poms_dd creates no project; the job "
            "makes its own and drains it.")
    drift_help = "Each launch sees the query as it is then."

    def next_slice(self, params: Mapping[str, Any], query: str | None, cursor: Mapping[str, Any],
                   source: SliceSource) -> Slice | None:
        """The whole query, every time; poms_dd creates no project (the job drains the query itself)."""
        return Slice(key="whole", mql=(query or "").strip(), parameter_launch=True, cursor=dict(cursor))
