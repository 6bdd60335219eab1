"""``list(ITEM, ...)``: launch k processes item k — ``param: x`` (a parameter launch), ``project_id: 23`` (an
existing DD project), ``query: MQL`` or bare MQL (SPEC §2.6).  Items are separated by ``;`` instead of ``,``
when an item holds a comma outside parentheses and quotes (``fids 12,13``)."""
from __future__ import annotations

from typing import Any, Mapping

from ...errors import InvalidInput
from .base import QUERY_OPTIONAL, SplitType
from .grammar import ITEM_PREFIX_RE, positive_int, split_top, unquote
from .spec import ListItem


class ListSplit(SplitType):
    kind = "list"
    syntax = "list(param: x, project_id: 23, query: MQL, MQL, ...)"
    query_form = QUERY_OPTIONAL
    description = "Launch k processes item k of the list (a parameter, an existing DD project or a query)."

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


def _item(label: str, n: int, part: str) -> ListItem:
    m = ITEM_PREFIX_RE.match(part)
    kind, value = (m.group(1).lower(), m.group(2).strip()) if m else ("query", part)
    if not value:
        raise InvalidInput(f"{label}: item {n} ({part!r}) has no value after '{kind}:'.")
    if kind == "project_id":
        return ListItem(kind, positive_int(label, f"item {n} project_id", value))
    return ListItem(kind, value)
