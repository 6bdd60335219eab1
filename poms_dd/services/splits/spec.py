"""The parsed value types: :class:`SplitSpec` (a split type with its parameters) and :class:`ListItem`."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

from .grammar import looks_prefixed_or_quoted

if TYPE_CHECKING:                      # the types import this module for ListItem
    from .base import SplitType


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

    split_type: "SplitType"
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return self.split_type.kind

    @property
    def info(self) -> "SplitType":
        return self.split_type

    @property
    def query_form(self) -> str:
        return self.split_type.query_form

    @property
    def parameter_launch(self) -> bool:
        return self.split_type.parameter_launch

    @property
    def text(self) -> str:
        """The canonical form: ``parse(spec.text) == spec``."""
        return self.split_type.render(self.params)

    def combinations(self) -> list[str]:
        """multiparam only: every combination, in launch order (see ``multiparam.py``)."""
        return self.split_type.combinations(self.params)
