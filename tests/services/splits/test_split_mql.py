"""How splits restrict a stage query (``restrict.restrict``): forms MetaCat's own parser and optimizer accept, and
the files they select on the testbed equal the ones computed from the seed."""
from __future__ import annotations

import pytest
from metacat.webapi import MetaCatClient
from split_helpers import seed_order

from poms_dd.adapters.metacat import parse_mql
from poms_dd.services.splits.restrict import restrict as restricted

LATE = "created_timestamp >= '2026-01-10 00:00:00'"
LATE_EPOCH = 1768003200.0      # 2026-01-10 00:00:00 UTC


@pytest.mark.parametrize("query, form", [
    ("files from hypot:raw", "(files from hypot:raw) where "),
    ("files from hypot:raw where core.runs[any] = 1019", "((files from hypot:raw where core.runs[any] = 1019) limit "),
])
def test_a_restricted_query_parses_and_selects_the_right_files(tb, tmp_path, query, form):
    mql = restricted(query, LATE)
    assert mql.startswith(form)
    parse_mql(mql)
    mc = MetaCatClient(server_url=tb.mc_url, token_library=str(tmp_path / "lib"))
    got = sorted(f["fid"] for f in mc.query(mql))
    run = 1019 if "1019" in query else None
    expected = seed_order(tb, where=lambda f: f.created_timestamp >= LATE_EPOCH and (
        run is None or run in f.metadata.get("core.runs", [])))
    assert got == sorted(expected) and expected
