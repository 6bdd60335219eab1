"""Field-level rules for stages (SPEC §2.2–§2.4, §3), shared by the web forms, the JSON API and INI import.

``validate_stage(values, data_handling_service)`` returns ``{field: [message, ...]}`` (empty when valid);
``clean_stage(values)`` turns validated raw values (strings from a form or INI file, or typed values)
into the typed values of the ``CampaignStage`` model.  Field names are the model's attribute names.
Campaign fields are in ``campaign_rules``; the value readers both use are in ``values``.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Mapping

from croniter import croniter

from ...adapters import parse_mql
from ...adapters.metacat import SyntaxOnlyNamedQueries
from ...errors import InvalidInput
from ...models import AutoRecovery, CampaignStage, CompletionType, DataHandlingService, StageRole
from ...models import values as values_of
from ..splits import QUERY_DD_PROJECT_ID, QUERY_FORM_TEXT, QUERY_MQL, parse_optional
from .keywords import substitute
from .values import BIGINT_MAX, INT32_MAX, LABELS, blank, check_int, check_text, shown, to_bool, to_int, to_text

MAX_MQL = 65536            # characters of a stage query, before and after keyword substitution
MAX_MQL_PARTS = 2000       # words, numbers, strings and operators: MetaCat's parser costs ~0.15 ms each
MAX_MQL_NESTING = 50       # brackets inside brackets: the parser recurses on each
STAGE_TEXT = {"name": 200, "sam_dataset": 500, "data_dispatcher_dataset_query": MAX_MQL, "split_type": 500,
              "test_split_type": 500, "output_file_patterns": 500, "software_version": 100, "job_config": 500,
              "cron_schedule": 100}
STAGE_INTS = {"data_dispatcher_project_id": 1, "dd_worker_timeout": 0, "dd_idle_timeout": 0, "dd_load_limit": 1,
              "completion_pct": 0, "output_ancestor_depth": 1, "launch_template_id": 1}
STAGE_INT_MAX = {"data_dispatcher_project_id": BIGINT_MAX, "completion_pct": 100}     # others: INTEGER
MULTILINE = ("data_dispatcher_dataset_query", "job_config")
DD_PARSED = ("data_dispatcher_dataset_query", "data_dispatcher_project_id", "split_type", "test_split_type",
             "sam_dataset")
TEXT_LABELS = {"name": "The stage name", "sam_dataset": "The SAM dataset", "split_type": "The split type",
               "data_dispatcher_dataset_query": "The Data Dispatcher query", "test_split_type": "The test split type",
               "output_file_patterns": "The output file patterns", "software_version": "The software version",
               "job_config": "The job config", "cron_schedule": "The cron schedule", "role": "The role",
               "completion_type": "The completion type", "auto_recovery": "The auto recovery"}
STAGE_BOOLS = ("dd_virtual", "hold")
STAGE_CHOICES = {"role": values_of(StageRole), "completion_type": values_of(CompletionType),
                 "auto_recovery": values_of(AutoRecovery)}
DD_ONLY = ("data_dispatcher_dataset_query", "data_dispatcher_project_id", "dd_worker_timeout", "dd_idle_timeout",
           "dd_load_limit")
STAGE_FIELDS = tuple(STAGE_TEXT) + tuple(STAGE_INTS) + STAGE_BOOLS + tuple(STAGE_CHOICES)


def stage_values(stage: CampaignStage) -> dict[str, Any]:
    """The stage's current values of every rule-checked field."""
    return {name: getattr(stage, name) for name in STAGE_FIELDS}


def validate_stage(values: Mapping[str, Any], data_handling_service: str,
                   keywords: Mapping[str, Any] | None = None) -> dict[str, list[str]]:
    """Field messages for a stage's values (absent keys count as blank).  When ``keywords`` is given, the
    query and split types are checked after campaign-keyword substitution and unknown keywords are errors.
    """
    errors: dict[str, list[str]] = {}

    def err(field: str, msg: str) -> None:
        errors.setdefault(field, []).append(msg)

    for name, limit in STAGE_TEXT.items():
        check_text(errors, values, name, TEXT_LABELS[name], limit, single_line=name not in MULTILINE)
    if "name" not in errors and blank(values.get("name")):
        err("name", "A stage needs a name.")
    for name, choices in STAGE_CHOICES.items():
        v = check_text(errors, values, name, TEXT_LABELS[name], 100)
        if v is not None and v not in choices:
            err(name, f"Must be one of {', '.join(choices)}, got {shown(v)}.")
    ints = {name: check_int(errors, values, name, minimum, LABELS[name], STAGE_INT_MAX.get(name, INT32_MAX))
            for name, minimum in STAGE_INTS.items()}
    for name in STAGE_BOOLS:
        try:
            to_bool(values.get(name))
        except ValueError:
            err(name, f"Must be true or false, got {shown(values.get(name))}.")
    cron = to_text(values.get("cron_schedule")) if "cron_schedule" not in errors else None
    if cron and not croniter.is_valid(cron):
        err("cron_schedule", f"{cron!r} is not a valid cron expression (five fields: minute hour day month "
                             "weekday, e.g. '0 */6 * * *').")

    if set(errors) & set(DD_PARSED):
        pass        # a text of the wrong type or size is not parsed (its message says what to fix)
    elif data_handling_service == DataHandlingService.DATA_DISPATCHER:
        _validate_dd(values, ints, keywords, err)
    elif data_handling_service == DataHandlingService.SAM:
        for name in DD_ONLY:
            if not blank(values.get(name)):
                err(name, "Only used by Data Dispatcher campaigns; leave it empty in a SAM campaign "
                          "(or switch the campaign to data_dispatcher).")
    else:
        err("data_handling_service", f"Unknown data handling service {data_handling_service!r}.")
    return errors


def _validate_dd(values: Mapping[str, Any], ints: dict[str, int | None], keywords: Mapping[str, Any] | None,
                 err) -> None:
    query_raw = to_text(values.get("data_dispatcher_dataset_query"))
    has_project = not blank(values.get("data_dispatcher_project_id"))
    if not blank(values.get("sam_dataset")):
        err("sam_dataset", "The SAM dataset is not used by Data Dispatcher campaigns; leave it empty and use "
                           "the Data Dispatcher query or project id.")
    query = query_raw
    if query_raw and keywords is not None:
        try:
            query = substitute(query_raw, keywords)
        except InvalidInput as e:
            err("data_dispatcher_dataset_query", e.message)
            query = None
    forms: set[str] = set()      # the query forms the split types expect
    judged = True                # False when a split type could not be read (its query form is unknown)
    for field in ("split_type", "test_split_type"):
        read, spec = _split_spec(values, field, keywords, err)
        judged = judged and read
        if spec is not None:
            forms.add(spec.query_form)
            _check_split_query(spec, field, query_raw, query, has_project, err)
    if query and not has_project and judged and QUERY_DD_PROJECT_ID not in forms \
            and (keywords is not None or "%(" not in query):
        _check_mql(query_raw, query, QUERY_MQL in forms, err)
    if query_raw and has_project:
        msg = ("Give either an MQL query or a DD project id, not both: with a project id every launch uses that "
               "project and the query would be ignored.")
        err("data_dispatcher_dataset_query", msg)
        err("data_dispatcher_project_id", msg)
    elif not query_raw and not has_project:
        msg = "A Data Dispatcher stage needs an MQL query or the id of an existing DD project."
        err("data_dispatcher_dataset_query", msg)
        err("data_dispatcher_project_id", msg)


def _split_spec(values: Mapping[str, Any], field: str, keywords: Mapping[str, Any] | None, err):
    """(readable, spec): the split type of ``field`` after keyword substitution; ``readable`` is False when it
    could not be judged (a problem was reported, or keywords are unknown here)."""
    raw = to_text(values.get(field))
    if raw and keywords is None and "%(" in raw:
        return False, None       # keywords unknown here: checked when the campaign's keywords are given
    try:
        if raw and keywords is not None:
            raw = substitute(raw, keywords)
        return True, parse_optional(raw)
    except InvalidInput as e:
        err(field, e.message)
        return False, None


def _check_split_query(spec, field: str, query_raw: str | None, query: str | None, has_project: bool, err) -> None:
    """The stage query must have the form the split type expects (and no project id beside a split type)."""
    label = "split type" if field == "split_type" else "test split type"
    if has_project:
        err(field, f"A {label} needs the project id blank: a stage with a DD project id always launches "
                   "that project and ignores split types. Clear one of them.")
    elif spec.query_form == QUERY_DD_PROJECT_ID:
        if query_raw is None:
            err("data_dispatcher_dataset_query", f"The {label} {spec.text} needs the query to be "
                                                 f"{QUERY_FORM_TEXT[QUERY_DD_PROJECT_ID]}.")
        elif query is not None and not (query.isascii() and query.isdigit() and len(query) < 20
                                        and 0 < int(query) <= BIGINT_MAX):
            err("data_dispatcher_dataset_query", f"The {label} {spec.text} needs the query to be "
                f"{QUERY_FORM_TEXT[QUERY_DD_PROJECT_ID]}, got {shown(query)}.")
    elif spec.query_form == QUERY_MQL:
        if query_raw is None:
            err("data_dispatcher_dataset_query", f"The {label} {spec.text} needs {QUERY_FORM_TEXT[QUERY_MQL]}.")
        elif query is not None and query.isdigit():
            err("data_dispatcher_dataset_query", f"The {label} {spec.text} needs an MQL query, not a number; "
                "for an existing DD project use the project id field, or stagedfiles(n).")


def _check_mql(query_raw: str, query: str, number_reported: bool, err) -> None:
    """Field message when MetaCat's own parser rejects the (keyword-substituted) stage query or when it is
    not a file query; a bare number is reported once, with a hint about the project id field."""
    field = "data_dispatcher_dataset_query"
    if query.isdigit():
        if not number_reported:
            err(field, "A number is not an MQL query: for an existing DD project use the project id field, or the "
                       "split type stagedfiles(n).")
        return
    where = "" if query == query_raw else f" (after substituting the campaign keywords: {shown(query, 300)})"
    too_complex = mql_too_complex(query)
    if too_complex:
        where = "" if query == query_raw else " after substituting the campaign keywords"
        err(field, f"{too_complex}{where}; shorten the query (e.g. a dataset or a run range instead of a long list).")
        return
    kind, detail = _parse_outcome(query)
    if detail is not None:
        err(field, f"MetaCat cannot parse this query{where}: {_parser_message(detail)}")
    elif kind != "file":
        err(field, f"This is a {kind} query{where}; the stage query must select files, e.g. files from ns:dataset "
                   "(or files from ns:dataset where ...).")


_MQL_PART = re.compile(r"'[^']*'|\"[^\"]*\"|[\w.:\-]+|\S")


def mql_too_complex(query: str) -> str | None:
    """Why ``query`` is too big for MetaCat's parser (checked on the text, before parsing), or None."""
    if len(query) > MAX_MQL:
        return f"The query has {len(query)} characters; at most {MAX_MQL} are accepted"
    depth = parts = 0
    for m in _MQL_PART.finditer(query):
        parts += 1
        c = m.group()
        if c in "([{":
            depth += 1
            if depth > MAX_MQL_NESTING:
                return f"The query has brackets nested more than {MAX_MQL_NESTING} levels deep"
        elif c in ")]}":
            depth -= 1
        if parts > MAX_MQL_PARTS:
            return f"The query has more than {MAX_MQL_PARTS} parts (words, numbers, strings, operators)"
    return None


@lru_cache(maxsize=512)
def _parse_outcome(query: str) -> tuple[str | None, str | None]:
    """(query type, None) or (None, parser message): one parse per distinct text (an INI file of many stages
    often repeats the same query)."""
    try:
        parsed = parse_mql(query, loader=SyntaxOnlyNamedQueries())
    except InvalidInput as e:
        return None, (e.field_errors.get("mql") or [e.message])[0]
    return getattr(parsed, "Type", "file"), None


_CARET_LINE = re.compile(r"^\s*\^\s*$")


def _parser_message(text: str) -> str:
    """MetaCat's parser message on one line: the echoed query line and caret dropped (the message gives the
    line and column), the "Expected one of" tokens listed once each."""
    head, _, expected = text.partition("Expected one of:")
    lines = [ln.strip() for ln in head.splitlines()]
    for i, ln in enumerate(lines):
        if _CARET_LINE.match(ln):
            lines[i] = ""
            if i:
                lines[i - 1] = ""
    message = " ".join(ln for ln in lines if ln)
    tokens = list(dict.fromkeys(t.strip().lstrip("*").strip() for t in expected.splitlines()))
    tokens = [t for t in tokens if t]
    if tokens:
        message = f"{message.rstrip('. ')}. Expected one of: {', '.join(tokens)}."
    return message


def clean_stage(values: Mapping[str, Any]) -> dict[str, Any]:
    """Typed model values for the stage fields present in ``values`` (validate first; raises ValueError on
    values :func:`validate_stage` rejects).  Blank text → None; the split types are canonicalised."""
    out: dict[str, Any] = {}
    for name in STAGE_FIELDS:
        if name not in values:
            continue
        v = values[name]
        if name in STAGE_INTS:
            out[name] = to_int(v)
        elif name in STAGE_BOOLS:
            out[name] = to_bool(v)
        else:
            out[name] = to_text(v)
    for name in ("split_type", "test_split_type"):
        if out.get(name) and "%(" not in out[name]:
            out[name] = parse_optional(out[name]).text
    for name, default in (("hold", False), ("completion_pct", 95), ("output_ancestor_depth", 1),
                          ("role", StageRole.ANALYSIS), ("completion_type", CompletionType.COMPLETE),
                          ("auto_recovery", AutoRecovery.NONE),
                          ("output_file_patterns", "%"), ("software_version", ""), ("job_config", "")):
        if name in out and out[name] is None:
            out[name] = default
    return out
