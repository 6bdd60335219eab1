"""Split-type strings (SPEC §5): parsing, canonical text round-trip, precise error messages."""
import datetime as dt

import pytest

from poms_dd.errors import InvalidInput
from poms_dd.services.splits import (QUERY_DD_PROJECT_ID, QUERY_MQL, QUERY_OPTIONAL, SPLIT_TYPES, ListItem,
                                     parse, parse_optional)

UTC = dt.timezone.utc


@pytest.mark.parametrize("text, kind, params, canonical", [
    ("draining", "draining", {}, "draining"),
    ("draining()", "draining", {}, "draining"),
    ("drainingn(5)", "drainingn", {"n": 5}, "drainingn(5)"),
    ("  NFiles( 10 ) ", "nfiles", {"n": 10}, "nfiles(10)"),
    ("limitn(3)", "limitn", {"n": 3}, "limitn(3)"),
    ("mod(4)", "mod", {"m": 4}, "mod(4)"),
    ("stagedfiles(20)", "stagedfiles", {"n": 20}, "stagedfiles(20)"),
    ("byrun(low=1200, high=1300)", "byrun", {"low": 1200, "high": 1300, "key": "core.runs"},
     "byrun(low=1200,high=1300)"),
    ("byrun(high=9,low=0,key=dune.run)", "byrun", {"low": 0, "high": 9, "key": "dune.run"},
     "byrun(low=0,high=9,key=dune.run)"),
    ("byexistingruns", "byexistingruns", {"key": "core.runs"}, "byexistingruns"),
    ("byexistingruns(key=core.runs)", "byexistingruns", {"key": "core.runs"}, "byexistingruns"),
    ("byexistingruns(key=x.run)", "byexistingruns", {"key": "x.run"}, "byexistingruns(key=x.run)"),
    ("multiparam([a,b,c], [d, e])", "multiparam", {"lists": (("a", "b", "c"), ("d", "e"))},
     "multiparam([a,b,c],[d,e])"),
])
def test_parse_simple_types(text, kind, params, canonical):
    spec = parse(text)
    assert (spec.kind, dict(spec.params), spec.text) == (kind, params, canonical)
    assert parse(spec.text) == spec


def test_list_items_of_every_form():
    spec = parse("list(param: 01-20030-es, project_id: 23, query: files from ns:ds, "
                 "files from ns:b where core.runs[any] in (1, 2))")
    assert spec.params["items"] == (
        ListItem("param", "01-20030-es"), ListItem("project_id", 23), ListItem("query", "files from ns:ds"),
        ListItem("query", "files from ns:b where core.runs[any] in (1, 2)"))
    assert parse(spec.text) == spec
    assert spec.query_form == QUERY_OPTIONAL


def test_list_with_top_level_commas_uses_semicolons_and_round_trips():
    spec = parse("list(fids 12,13; files from ns:x where name = 'a,b')")
    assert [i.value for i in spec.params["items"]] == ["fids 12,13", "files from ns:x where name = 'a,b'"]
    assert ";" in spec.text
    assert parse(spec.text) == spec


def test_list_accepts_pomslike_quoted_items():
    spec = parse("list('files from ns:a', \"project_id: 4\")")
    assert spec.params["items"] == (ListItem("query", "files from ns:a"), ListItem("project_id", 4))


def test_new_parameters_and_canonical_form():
    spec = parse("new(window=12h, fts=0s, round=60m, localtime=1, firsttime=2026-01-01, lasttime=1767312000)")
    p = spec.params
    assert p["window"] == 43200 and p["round"] == 3600 and p["fts"] == 0 and p["localtime"] is True
    assert p["firsttime"] == dt.datetime(2026, 1, 1, tzinfo=UTC)
    assert p["lasttime"] == dt.datetime(2026, 1, 2, tzinfo=UTC)
    assert spec.text == ("new(window=12h,round=1h,fts=0s,localtime=true,firsttime=2026-01-01T00:00:00Z,"
                         "lasttime=2026-01-02T00:00:00Z)")
    assert parse(spec.text) == spec


def test_new_defaults_and_offsets():
    assert parse("new").params["window"] == 86400
    assert parse("new()").text == "new(window=1d)"
    spec = parse("new(window=2w,round=,firsttime=2026-01-01T02:00:00+02:00)")
    assert spec.params["round"] is None
    assert spec.params["firsttime"] == dt.datetime(2026, 1, 1, 0, 0, tzinfo=UTC)


def test_multiparam_combinations_first_list_fastest():
    assert parse("multiparam([a,b],[d,e])").combinations() == ["a_d", "b_d", "a_e", "b_e"]


@pytest.mark.parametrize("text, message", [
    ("mod(x)", "mod(m): m must be a positive integer, got 'x'."),
    ("mod(0)", "mod(m): m must be a positive integer, got '0'."),
    ("nfiles()", "nfiles(n): n is missing, e.g. nfiles(5)."),
    ("drainingn(2,3)", "drainingn(n): takes exactly one parameter n, got '2,3'."),
    ("draining(3)", "draining: takes no parameters, got '3'."),
    ("byrun(low=5,high=1)", "byrun(...): low (5) must not be greater than high (1)."),
    ("byrun(low=5)", "byrun(...): high missing"),
    ("byrun(low=-1,high=3)", "byrun(...): low must be a non-negative integer, got '-1'."),
    ("byrun(low=1,high=3,colour=red)", "byrun(...): unknown parameter 'colour'; allowed: low, high, key."),
    ("byrun(low=1,low=2,high=3)", "parameter 'low' given twice"),
    ("byexistingruns(key=a b)", "key must be a metadata field name like core.runs, got 'a b'."),
    ("list()", "list(...): every item must be non-empty"),
    ("list(project_id: x)", "list(...): item 1 project_id must be a positive integer, got 'x'."),
    ("list(param:)", "list(...): item 1 ('param:') has no value after 'param:'."),
    ("list(files from a:b where x = 'open)", "list(...): unclosed quote '"),
    ("multiparam(a,b)", "multiparam(...): list 1 must be written in brackets like [a,b], got 'a'."),
    ("multiparam([a b])", "value 'a b' in list 1 must be non-empty"),
    ("new(window=5)", "new(...): window must be a positive duration like 1d"),
    ("new(fts=-1h)", "new(...): fts must be a non-negative duration"),
    ("new(localtime=maybe)", "new(...): localtime must be true or false, got 'maybe'."),
    ("new(firsttime=yesterday)", "new(...): firsttime must be a date/time like 2026-01-31"),
    ("new(firsttime=2026-02-01,lasttime=2026-01-01)", "firsttime (2026-02-01T00:00:00Z) must not be after"),
    ("sliced(3)", "Unknown split type 'sliced'. Known types: draining, drainingn(n)"),
    ("mod(5", "Cannot read split type 'mod(5'"),
    ("nfiles(5))", "nfiles(n): unbalanced ')'"),
    ("", "The split type is empty."),
])
def test_errors_name_type_parameter_and_value(text, message):
    with pytest.raises(InvalidInput) as exc:
        parse(text)
    assert message in exc.value.message


def test_parse_optional_blank_is_none():
    assert parse_optional(None) is None
    assert parse_optional("   ") is None
    assert parse_optional("mod(2)").kind == "mod"


def test_query_form_per_type():
    assert parse("stagedfiles(5)").query_form == QUERY_DD_PROJECT_ID
    assert parse("byrun(low=1,high=2)").query_form == QUERY_MQL
    assert {k for k, i in SPLIT_TYPES.items() if i.parameter_launch} == {"draining", "multiparam"}
    assert set(SPLIT_TYPES) == {"draining", "drainingn", "nfiles", "limitn", "mod", "byrun", "byexistingruns",
                                "list", "multiparam", "new", "stagedfiles"}
