"""``list(ITEM, ...)``: launch k processes item k — ``param: x`` (a parameter launch), ``project_id: 23`` (an
existing DD project), ``query: MQL`` or bare MQL (SPEC §2.6).  Items are separated by ``;`` instead of ``,``
when an item holds a comma outside parentheses and quotes (``fids 12,13``).

The cursor is ``{"k": k}``: the index of the next item.  What each kind launches:

* ``param: x`` — a parameter launch: POMS_DATA_DISPATCHER_PARAMETER is ``x``, the job makes its own project;
  the launch's query is the stage query (optional for this split type; ``""`` when there is none).
* ``project_id: 23`` — a submission on that existing DD project (nothing is created, and a failed launch does
  not cancel a project that is not ours).
* ``query: MQL`` / bare MQL — a new project of the item's query, ``(MQL)``.  The item is the query: the stage
  query (if any) is not combined with it (SPEC §2.6 makes each item a complete description of what to process).
"""
from __future__ import annotations

from typing import Any, Mapping

from ...errors import InvalidInput
from .base import QUERY_OPTIONAL, Slice, SliceSource, SplitType, parenthesised
from .grammar import ITEM_PREFIX_RE, positive_int, split_top, unquote
from .spec import ListItem


class ListSplit(SplitType):
    kind = "list"
    syntax = "list(param: x, project_id: 23, query: MQL, MQL, ...)"
    query_form = QUERY_OPTIONAL
    description = "Launch k processes item k of the list (a parameter, an existing DD project or a query)."
    help = ("Launch k processes item k of the list, in the order written: 'param: x' is a parameter launch (the "
            "job makes its own project; the stage query, if any, is passed on as the query it works on), "
            "'project_id: 23' records a submission on that existing Data Dispatcher project, and 'query: MQL' "
            "or a bare MQL query gets a new project of that query's files. The split is done after the last item.")
    drift_help = ("Each query item is read when its launch runs, so files added to it before then are included; "
                  "items already launched are not launched again (reset the split to start from item 1).")

    def parse_params(self, label: str, body: str) -> dict[str, Any]:
        seps = ";" if len(split_top(body, ";", label)) > 1 else ","
        raw = [p.strip() for p in split_top(body, seps, label)]
        if not body or any(not p for p in raw):
            raise InvalidInput(f"{label}: every item must be non-empty (items separated by '{seps}'), got {body!r}.")
        return {"items": tuple(_item(label, n, unquote(part)) for n, part in enumerate(raw, 1))}

    def render(self, params: Mapping[str, Any]) -> str:
        texts = [i.text for i in params["items"]]
        sep = "; " if any(len(split_top(t, ",", "list")) > 1 for t in texts) else ", "
        return f"list({sep.join(texts)})"

    def next_slice(self, params: Mapping[str, Any], query: str | None, cursor: Mapping[str, Any],
                   source: SliceSource) -> Slice | None:
        """Item k (``cursor["k"]``, 0 at first); None once every item has been launched."""
        items: tuple[ListItem, ...] = params["items"]
        k = int(cursor.get("k", 0))
        if k >= len(items):
            return None
        item = items[k]
        common: dict[str, Any] = {"key": f"item={k}", "index": k, "cursor": {**cursor, "k": k + 1}}
        if item.kind == "param":
            return Slice(mql=(query or "").strip(), parameter=str(item.value), parameter_launch=True, **common)
        if item.kind == "project_id":
            pid = int(item.value)
            return Slice(mql=f"project {pid}", project_id=pid, **common)
        return Slice(mql=parenthesised(str(item.value)), **common)


def _item(label: str, n: int, part: str) -> ListItem:
    m = ITEM_PREFIX_RE.match(part)
    kind, value = (m.group(1).lower(), m.group(2).strip()) if m else ("query", part)
    if not value:
        raise InvalidInput(f"{label}: item {n} ({part!r}) has no value after '{kind}:'.")
    if kind == "project_id":
        return ListItem(kind, positive_int(label, f"item {n} project_id", value))
    return ListItem(kind, value)
