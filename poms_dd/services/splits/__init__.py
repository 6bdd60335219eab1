"""Split types (SPEC §5): parsing and validation of split-type strings.

``parse(text)`` turns ``"drainingn(5)"`` into a frozen :class:`SplitSpec`; ``spec.text`` is its canonical
form (``parse(spec.text) == spec``).  ``SPLIT_TYPES`` says, per kind, the syntax and what form of stage
query the kind expects (MQL, a DD project id, or none needed).
"""
from .parse import (QUERY_DD_PROJECT_ID, QUERY_FORM_TEXT, QUERY_MQL, QUERY_OPTIONAL, SPLIT_TYPES, ListItem, SplitSpec,
                    SplitTypeInfo, parse, parse_optional)

__all__ = ["parse", "parse_optional", "SplitSpec", "ListItem", "SplitTypeInfo", "SPLIT_TYPES",
           "QUERY_MQL", "QUERY_DD_PROJECT_ID", "QUERY_OPTIONAL", "QUERY_FORM_TEXT"]
