"""The parsed value types: :class:`SplitSpec` (a split type with its parameters) and :class:`ListItem`."""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import product
from typing import Any, Mapping

from .catalogue import SPLIT_TYPES, SplitTypeInfo
from .grammar import looks_prefixed_or_quoted
from .render import RENDER


@dataclass(frozen=True)
class ListItem:
    """One item of a ``list`` split: ``kind`` is ``param``, ``project_id`` (value int) or ``query``."""

    kind: str
    value: str | int

    @property
    def text(self) -> str:
        if self.kind == "query" and not looks_prefixed_or_quoted(str(self.value)):
            return str(self.value)
        return f"{self.kind}: {self.value}"


@dataclass(frozen=True)
class SplitSpec:
    """A parsed split type.  ``params`` per kind:

    n (drainingn, nfiles, limitn, stagedfiles); m (mod); low, high, key (byrun); key (byexistingruns);
    items: tuple[ListItem, ...] (list); lists: tuple[tuple[str, ...], ...] (multiparam);
    window, round, fts (seconds or None), localtime (bool), firsttime, lasttime (aware UTC datetime or
    None) (new).
    """

    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def info(self) -> SplitTypeInfo:
        return SPLIT_TYPES[self.kind]

    @property
    def query_form(self) -> str:
        return self.info.query_form

    @property
    def parameter_launch(self) -> bool:
        return self.info.parameter_launch

    @property
    def text(self) -> str:
        """The canonical form: ``parse(spec.text) == spec``."""
        return RENDER[self.kind](self.params)

    def combinations(self) -> list[str]:
        """multiparam only: every combination joined with '_', the first list varying fastest as in POMS
        (a_d, b_d, a_e, b_e for [a,b],[d,e]); launch k uses element k."""
        return ["_".join(reversed(c)) for c in product(*reversed(self.params["lists"]))]
