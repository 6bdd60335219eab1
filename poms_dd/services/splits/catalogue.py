"""The split types (SPEC §5): their syntax, the form of stage query each expects, and whether their launches
are parameter launches.  Data only; parsing is in :mod:`.parse`."""
from __future__ import annotations

from dataclasses import dataclass

QUERY_MQL = "mql"                  # the stage query is an MQL query
QUERY_DD_PROJECT_ID = "dd_project_id"  # the stage query is the id of an existing DD project
QUERY_OPTIONAL = "optional"        # the split string carries what to process; a stage query is optional MQL

DEFAULT_RUN_KEY = "core.runs"
DEFAULT_WINDOW = 86400


@dataclass(frozen=True)
class SplitTypeInfo:
    """What a split type is: its syntax, the form of stage query it expects, and whether its launches are
    parameter launches (the job makes its own project; POMS_DATA_DISPATCHER_PROJECT_ID left empty)."""

    kind: str
    syntax: str
    query_form: str
    parameter_launch: bool
    description: str


SPLIT_TYPES: dict[str, SplitTypeInfo] = {i.kind: i for i in (
    SplitTypeInfo("draining", "draining", QUERY_MQL, True,
                  "Each launch is a parameter launch with the whole query; the job drains it."),
    SplitTypeInfo("drainingn", "drainingn(n)", QUERY_MQL, False,
                  "Each launch takes up to n files of the query not in an earlier slice."),
    SplitTypeInfo("nfiles", "nfiles(n)", QUERY_MQL, False,
                  "Launch k takes files k·n … k·n+n−1 of the ordered query."),
    SplitTypeInfo("limitn", "limitn(n)", QUERY_MQL, False,
                  "Every launch takes the first n files of the query."),
    SplitTypeInfo("mod", "mod(m)", QUERY_MQL, False,
                  "Launch k takes every m-th file of the ordered query starting at position k (k = 0…m−1)."),
    SplitTypeInfo("byrun", "byrun(low=a,high=b[,key=core.runs])", QUERY_MQL, False,
                  "Launch k takes the files of run k, from low to high; empty runs are skipped."),
    SplitTypeInfo("byexistingruns", "byexistingruns[(key=core.runs)]", QUERY_MQL, False,
                  "Each launch takes the next run that has files in the query."),
    SplitTypeInfo("list", "list(param: x, project_id: 23, query: MQL, MQL, ...)", QUERY_OPTIONAL, False,
                  "Launch k processes item k of the list (a parameter, an existing DD project or a query)."),
    SplitTypeInfo("multiparam", "multiparam([a,b],[c,d])", QUERY_OPTIONAL, True,
                  "Launch k is a parameter launch with the k-th combination of the lists joined with '_'."),
    SplitTypeInfo("new", "new(window=1d,round=,fts=,localtime=,firsttime=,lasttime=)", QUERY_MQL, False,
                  "Each launch takes the files of the query created in the next time window."),
    SplitTypeInfo("stagedfiles", "stagedfiles(n)", QUERY_DD_PROJECT_ID, False,
                  "The stage query is a DD project id; each launch takes up to n of its done files not yet "
                  "delivered."),
)}

QUERY_FORM_TEXT = {
    QUERY_MQL: "an MQL query (e.g. files from ns:dataset)",
    QUERY_DD_PROJECT_ID: "the id of an existing Data Dispatcher project (a positive integer)",
    QUERY_OPTIONAL: "optional; the split type's items say what to process",
}
