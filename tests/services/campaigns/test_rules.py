"""Stage and campaign field rules (SPEC §2.1–§2.4) and campaign keywords."""
import pytest

from poms_dd.errors import InvalidInput
from poms_dd.services.campaigns.campaign_rules import clean_campaign, validate_campaign
from poms_dd.services.campaigns.keywords import parse_keywords_text, preview, substitute, used_keywords
from poms_dd.services.campaigns.stage_rules import clean_stage, validate_stage

DD = "data_dispatcher"


def stage(**kw):
    values = {"name": "reco", "data_dispatcher_dataset_query": "files from hypot:raw"}
    values.update(kw)
    return values


def test_valid_dd_stage_has_no_errors():
    assert validate_stage(stage(split_type="drainingn(5)", dd_worker_timeout="3600", dd_load_limit="4",
                                completion_pct="90", output_ancestor_depth="2", role="production",
                                cron_schedule="0 */6 * * *"), DD) == {}


def test_query_and_project_id_both_given_flags_both_fields():
    errors = validate_stage(stage(data_dispatcher_project_id="12"), DD)
    assert set(errors) == {"data_dispatcher_dataset_query", "data_dispatcher_project_id"}
    assert "not both" in errors["data_dispatcher_project_id"][0]


def test_neither_query_nor_project_id_flags_both_fields():
    errors = validate_stage({"name": "reco", "data_dispatcher_dataset_query": "  "}, DD)
    assert set(errors) == {"data_dispatcher_dataset_query", "data_dispatcher_project_id"}


def test_project_id_alone_is_valid_and_must_be_positive_integer():
    assert validate_stage({"name": "r", "data_dispatcher_project_id": 17}, DD) == {}
    assert "positive" in validate_stage({"name": "r", "data_dispatcher_project_id": "0"}, DD)[
        "data_dispatcher_project_id"][0]
    assert "whole number" in validate_stage({"name": "r", "data_dispatcher_project_id": "abc"}, DD)[
        "data_dispatcher_project_id"][0]


def test_split_type_with_project_id_is_refused():
    errors = validate_stage({"name": "r", "data_dispatcher_project_id": "5", "split_type": "nfiles(2)",
                             "test_split_type": "limitn(1)"}, DD)
    assert "project id blank" in errors["split_type"][0]
    assert "project id blank" in errors["test_split_type"][0]


def test_bad_split_type_message_is_on_its_field():
    assert validate_stage(stage(split_type="mod(x)"), DD) == {
        "split_type": ["mod(m): m must be a positive integer, got 'x'."]}


def test_stagedfiles_needs_a_project_id_as_query():
    errors = validate_stage(stage(split_type="stagedfiles(3)"), DD)
    assert "id of an existing Data Dispatcher project" in errors["data_dispatcher_dataset_query"][0]
    assert validate_stage(stage(data_dispatcher_dataset_query="42", split_type="stagedfiles(3)"), DD) == {}


def test_mql_split_type_refuses_a_number_as_query():
    errors = validate_stage(stage(data_dispatcher_dataset_query="42", split_type="nfiles(3)"), DD)
    assert "needs an MQL query" in errors["data_dispatcher_dataset_query"][0]


def test_list_split_needs_no_stage_query():
    errors = validate_stage({"name": "r", "split_type": "list(param: a, project_id: 3)"}, DD)
    # a DD stage still needs query or project id (§2.2); the list items do not replace that rule
    assert set(errors) == {"data_dispatcher_dataset_query", "data_dispatcher_project_id"}
    assert validate_stage(stage(split_type="list(param: a, project_id: 3)"), DD) == {}


@pytest.mark.parametrize("field, value, fragment", [
    ("dd_worker_timeout", "-1", "at least 0"),
    ("dd_idle_timeout", "1.5", "whole number"),
    ("dd_load_limit", "0", "positive"),
    ("role", "boss", "analysis, production"),
    ("completion_pct", "101", "between 0 and 100"),
    ("completion_pct", "-1", "at least 0"),
    ("output_ancestor_depth", "0", "positive"),
    ("cron_schedule", "every day", "not a valid cron expression"),
    ("auto_recovery", "sometimes", "none, failed, not_done, all"),
    ("hold", "perhaps", "true or false"),
    ("name", "", "needs a name"),
    ("name", "x" * 201, "At most 200"),
])
def test_field_rules(field, value, fragment):
    errors = validate_stage(stage(**{field: value}), DD)
    assert list(errors) == [field] and fragment in errors[field][0]


def test_sam_stage_must_leave_dd_fields_empty_and_dd_stage_sam_dataset():
    errors = validate_stage(stage(data_dispatcher_project_id="", dd_load_limit="3"), "sam")
    assert set(errors) == {"data_dispatcher_dataset_query", "dd_load_limit"}
    assert validate_stage({"name": "r", "sam_dataset": "raw_ds"}, "sam") == {}
    assert "SAM dataset is not used" in validate_stage(stage(sam_dataset="raw_ds"), DD)["sam_dataset"][0]


def test_keywords_checked_when_given():
    values = stage(data_dispatcher_dataset_query="files from %(ns)s:raw", split_type="nfiles(%(n)s)")
    assert validate_stage(values, DD, {"ns": "hypot", "n": "4"}) == {}
    errors = validate_stage(values, DD, {"ns": "hypot"})
    assert errors == {"split_type": ["Unknown campaign keyword %(n)s; the campaign defines: ns."]}
    assert validate_stage(values, DD) == {}   # without keywords, keyword-bearing fields are not judged


def test_clean_stage_types_and_canonicalises():
    out = clean_stage(stage(split_type=" NFILES( 3 )", dd_worker_timeout="", dd_idle_timeout="60", hold="on",
                            completion_pct="", data_dispatcher_project_id=None))
    assert out["split_type"] == "nfiles(3)" and out["dd_worker_timeout"] is None and out["dd_idle_timeout"] == 60
    assert out["hold"] is True and out["completion_pct"] == 95 and out["data_dispatcher_project_id"] is None


def test_campaign_rules():
    assert validate_campaign({"name": "c", "data_handling_service": DD, "keywords": {"ns": "hypot"}}) == {}
    errors = validate_campaign({"name": "", "data_handling_service": "xrootd", "keywords": {"bad name": "x"},
                                "dd_load_limit": "0", "dd_idle_timeout": "-2"})
    assert set(errors) == {"name", "data_handling_service", "keywords", "dd_load_limit", "dd_idle_timeout"}
    assert clean_campaign({"name": " c ", "dd_virtual": "1", "dd_load_limit": "5"}) == {
        "name": "c", "dd_virtual": True, "dd_load_limit": 5}


def test_substitute_and_unknown_keyword():
    assert substitute("files from %(ns)s:%(ds)s where x like '%'", {"ns": "hypot", "ds": "raw"}) == \
        "files from hypot:raw where x like '%'"
    with pytest.raises(InvalidInput) as exc:
        substitute("files from %(ns)s:%(tier)s", {"ns": "hypot"})
    assert exc.value.message == "Unknown campaign keyword %(tier)s; the campaign defines: ns."
    assert used_keywords("%(a)s %(b)s %(a)s") == ["a", "b"]


def test_keywords_text_and_preview():
    assert parse_keywords_text("# comment\nns = hypot\n\nrun=12") == {"ns": "hypot", "run": "12"}
    with pytest.raises(InvalidInput, match="line 2"):
        parse_keywords_text("ns = hypot\nno equals sign")
    shown = {p.field: p for p in preview({"q": "files from %(ns)s:raw", "s": "%(x)s", "e": ""}, {"ns": "h"})}
    assert shown["q"].text == "files from h:raw" and shown["q"].changed
    assert shown["s"].text is None and "%(x)s" in shown["s"].error
    assert "e" not in shown


@pytest.mark.parametrize("query, fragment", [
    ("files from raw", "Expected one of: COLON"),                      # no namespace
    ("files from hypot:raw where", "Unexpected end-of-input"),
    ("files from hypot:raw where core.runs[any] in (1, 2", "Unexpected end-of-input"),
    ("files form hypot:raw", "at line 1 col"),
])
def test_malformed_mql_is_a_field_message_from_metacats_parser(query, fragment):
    errors = validate_stage(stage(data_dispatcher_dataset_query=query, split_type="nfiles(2)"), DD)
    assert list(errors) == ["data_dispatcher_dataset_query"]
    (message,) = errors["data_dispatcher_dataset_query"]
    assert message.startswith("MetaCat cannot parse this query: MQLSyntaxError: ") and fragment in message
    assert "\n" not in message and "^" not in message
    assert validate_stage(stage(data_dispatcher_dataset_query=query), DD) == errors   # no split type: MQL too


def test_well_formed_mql_of_every_shape_is_accepted():
    for query in ("files from hypot:raw where core.runs[any] in (1, 2) ordered limit 10", "fids 12,13",
                  "filter stride(2, 0)(files from hypot:raw ordered)", "files where namespace = \"hypot\"",
                  "(files from hypot:a) - (files from hypot:b)", "files from hypot:raw where name like '%.root'"):
        assert validate_stage(stage(data_dispatcher_dataset_query=query, split_type="drainingn(3)"), DD) == {}, query


def test_named_queries_are_checked_for_syntax_and_left_to_metacat_to_resolve():
    assert validate_stage(stage(data_dispatcher_dataset_query="files selected by hypot:run1000"), DD) == {}
    errors = validate_stage(stage(data_dispatcher_dataset_query="files selected by hypot:"), DD)
    assert errors["data_dispatcher_dataset_query"][0].startswith("MetaCat cannot parse this query: MQLSyntaxError")


def test_query_must_be_a_file_query():
    errors = validate_stage(stage(data_dispatcher_dataset_query="datasets matching hypot:*"), DD)
    assert errors == {"data_dispatcher_dataset_query": [
        "This is a dataset query; the stage query must select files, e.g. files from ns:dataset (or files from "
        "ns:dataset where ...)."]}


def test_mql_is_parsed_after_keyword_substitution():
    values = stage(data_dispatcher_dataset_query="files from %(ns)s%(ds)s", split_type="nfiles(2)")
    assert validate_stage(values, DD, {"ns": "hypot:", "ds": "raw"}) == {}
    message = validate_stage(values, DD, {"ns": "hypot", "ds": "raw"})["data_dispatcher_dataset_query"][0]
    assert message.startswith("MetaCat cannot parse this query (after substituting the campaign keywords: "
                              "'files from hypotraw'): MQLSyntaxError")
    # an unknown keyword is its own message; the parser does not add a second one
    assert validate_stage(values, DD, {"ns": "hypot"}) == {
        "data_dispatcher_dataset_query": ["Unknown campaign keyword %(ds)s; the campaign defines: ns."]}
    assert validate_stage(values, DD) == {}        # keywords unknown: the query is judged when they are given


def test_mql_is_not_parsed_where_the_query_is_a_project_id_or_ignored():
    assert validate_stage(stage(data_dispatcher_dataset_query="42", split_type="stagedfiles(3)"), DD) == {}
    bad = "files from hypot:"
    errors = validate_stage(stage(data_dispatcher_dataset_query=bad, data_dispatcher_project_id="7"), DD)
    assert len(errors["data_dispatcher_dataset_query"]) == 1 and "not both" in errors[
        "data_dispatcher_dataset_query"][0]
    errors = validate_stage(stage(data_dispatcher_dataset_query=bad, split_type="nfiles(x)"), DD)
    assert list(errors) == ["split_type"]           # query form unknown until the split type reads


def test_optional_query_of_list_and_multiparam_is_parsed_when_given():
    for split in ("list(param: a)", "multiparam([a,b])"):
        errors = validate_stage(stage(data_dispatcher_dataset_query="files from hypot:", split_type=split), DD)
        assert errors["data_dispatcher_dataset_query"][0].startswith("MetaCat cannot parse this query"), split


def test_a_bare_number_query_without_split_type_is_reported_once():
    errors = validate_stage(stage(data_dispatcher_dataset_query="42"), DD)
    assert errors == {"data_dispatcher_dataset_query": [
        "A number is not an MQL query: for an existing DD project use the project id field, or the split type "
        "stagedfiles(n)."]}
    errors = validate_stage(stage(data_dispatcher_dataset_query="42", split_type="nfiles(3)"), DD)
    assert len(errors["data_dispatcher_dataset_query"]) == 1


# --- value limits and types (issue "Hardening", items 8 and 9) -------------------------------------------------

@pytest.mark.parametrize("field, value, fragment", [
    ("data_dispatcher_project_id", 2**63, "at most 9223372036854775807"),
    ("dd_worker_timeout", 2**31, "at most 2147483647"),
    ("dd_load_limit", 1e308, "at most 2147483647"),
    ("completion_pct", float("nan"), "between 0 and 100"),
    ("output_ancestor_depth", True, "got true/false"),
    ("output_ancestor_depth", "9" * 5000, "whole number"),
    ("name", ["a"], "must be text, got a list"),
    ("name", "a\r\nb", "control characters"),
    ("role", {"x": 1}, "must be text, got an object"),
])
def test_field_types_and_database_ranges(field, value, fragment):
    errors = validate_stage(stage(**{field: value}), DD)
    assert field in errors and fragment in " ".join(errors[field]), errors
    assert all(len(m) < 400 for m in errors[field])            # a huge value is not echoed back whole


def test_mql_size_parts_and_nesting_are_checked_before_parsing():
    from poms_dd.services.campaigns.stage_rules import mql_too_complex
    assert mql_too_complex("files from a:b where " + "(" * 51 + "x = 1" + ")" * 51).startswith(
        "The query has brackets nested more than 50")
    assert "more than 2000 parts" in mql_too_complex("files from a:b where " + " and ".join(["x = 1"] * 700))
    assert "at most 65536" in mql_too_complex("files from a:b where x = '" + "y" * 70_000 + "'")
    assert mql_too_complex("files from a:b where (x = 1 or y in (1, 2)) and z = '(('") is None
    errors = validate_stage(stage(data_dispatcher_dataset_query="files from a:b where " + "(" * 5000 + "x=1"
                                  + ")" * 5000), DD)
    assert "nested" in errors["data_dispatcher_dataset_query"][0]


def test_campaign_keyword_and_tag_limits():
    from poms_dd.services.campaigns.campaign_rules import validate_campaign
    assert "4096" in validate_campaign({"name": "c", "keywords": {"k": "v" * 4097}})["keywords"][0]
    assert "At most 100 keywords" in validate_campaign({"name": "c", "keywords": {f"k{i}": 1 for i in range(101)}}
                                                       )["keywords"][0]
    assert "At most 50 tags" in validate_campaign({"name": "c", "tags": [f"t{i}" for i in range(51)]})["tags"][0]
    assert "commas" in validate_campaign({"name": "c", "tags": ["a,b"]})["tags"][0]
    assert validate_campaign({"name": "c", "keywords": {"k": "v" * 4096}, "tags": ["t" * 100] * 50}) == {}
