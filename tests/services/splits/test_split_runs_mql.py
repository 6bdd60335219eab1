"""The MQL that mod, byrun and byexistingruns compose, checked with MetaCat's own parser and optimizer (what a
MetaCat server does with the text before it runs it); no services."""
from __future__ import annotations

import pytest

from poms_dd.adapters.metacat import parse_mql
from poms_dd.errors import InvalidInput
from poms_dd.services.splits.byrun import run_mql, run_range_mql
from poms_dd.services.splits.restrict import NO_LIMIT, restrict

PLAIN = "files from hypot:raw"
WHERE = "files from hypot:raw where core.run_type = physics"
SLICED = "files from hypot:raw where core.run_type = physics ordered skip 10 limit 50"
UNION = "union(files from hypot:raw where core.runs[any] = 1002, files from hypot:raw where core.runs[any] = 1003)"
MINUS = "files from hypot:raw where core.runs[any] > 1000 - files from hypot:raw where core.runs[any] = 1003"
STRIDE = "filter stride(2, 0)((files from hypot:raw where core.runs[any] > 1000) ordered)"
SHAPES = (PLAIN, WHERE, SLICED, UNION, MINUS, STRIDE, f"{WHERE} ordered",
          "parents(files from hypot:reco where core.runs[any] = 1001)")


def converts(mql: str) -> None:
    parse_mql(mql).optimize()


def test_metacat_cannot_take_a_where_clause_on_a_query_with_a_where_clause():
    """The reason restrict() exists: if MetaCat fixes its converter, this fails and the forms can go."""
    with pytest.raises(InvalidInput, match="unhashable type: 'slice'"):
        converts(f"({WHERE}) where core.runs[any] = 1001")
    with pytest.raises(Exception, match="meta_filter"):
        converts(f"({UNION}) where core.runs[any] = 1002")


def test_restrict_uses_the_plain_form_when_metacat_takes_it():
    assert restrict(PLAIN, "core.runs[any] = 7") == f"({PLAIN}) where core.runs[any] = 7"
    assert restrict(SLICED, "core.runs[any] = 7") == f"({SLICED}) where core.runs[any] = 7"
    assert restrict(STRIDE, "core.runs[any] = 7") == f"({STRIDE}) where core.runs[any] = 7"


def test_restrict_keeps_the_condition_out_of_a_where_clause_or_intersects():
    assert restrict(WHERE, "core.runs[any] = 7") == f"(({WHERE}) limit {NO_LIMIT}) where core.runs[any] = 7"
    assert restrict(f"  {WHERE} ", "core.runs[any] = 7") == f"(({WHERE}) limit {NO_LIMIT}) where core.runs[any] = 7"
    assert restrict(UNION, "core.runs[any] = 7") == f"join(({UNION}), (files where core.runs[any] = 7))"
    assert restrict(MINUS, "core.runs[any] = 7") == f"join(({MINUS}), (files where core.runs[any] = 7))"


@pytest.mark.parametrize("query", SHAPES)
def test_every_run_query_converts_whatever_the_stage_query(query):
    for mql in (run_mql(query, "core.runs", 1001), run_range_mql(query, "core.runs", 0, 1000000),
                run_mql(query, "hypot.run", 5), restrict(query, "core.runs[any] >= 1002"),
                f"filter stride(4, 3)(({query}) ordered)"):
        converts(mql)


def test_a_query_the_parser_rejects_is_left_in_the_plain_form_for_the_launch_to_report():
    broken = "files from hypot:raw where"
    assert restrict(broken, "core.runs[any] = 1") == f"({broken}) where core.runs[any] = 1"
    with pytest.raises(Exception):
        converts(restrict(broken, "core.runs[any] = 1"))
