"""Split types (SPEC §5): one module per type (``drainingn.py``, ``byrun.py``, ...) behind the interface in
``base.py``, listed in ``registry.py``.

``parse(text)`` turns ``"drainingn(5)"`` into a frozen :class:`SplitSpec`; ``spec.text`` is its canonical
form (``parse(spec.text) == spec``).  ``SPLIT_TYPES`` says, per kind, the syntax and what form of stage
query the kind expects (MQL, a DD project id, or none needed).
"""
from .base import (QUERY_DD_PROJECT_ID, QUERY_FORM_TEXT, QUERY_MQL, QUERY_OPTIONAL, NotLaunchable, Slice, SliceSource,
                   SplitType, parenthesised)
from .parse import parse, parse_optional
from .registry import SPLIT_TYPES
from .spec import ListItem, SplitSpec

__all__ = ["parse", "parse_optional", "SplitSpec", "ListItem", "SplitType", "SPLIT_TYPES", "Slice", "SliceSource",
           "NotLaunchable", "parenthesised",
           "QUERY_MQL", "QUERY_DD_PROJECT_ID", "QUERY_OPTIONAL", "QUERY_FORM_TEXT"]
