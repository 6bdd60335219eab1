"""MetaCat ``where`` clauses compiled into Python predicates, once per query, with the semantics of the SQL the
real server runs (``metacat.common.meta_dnf.MetaExpressionDNF.sql_and`` → PostgreSQL).

The clause is regularized by MetaCat's own code into an OR of ANDs of terms; each term becomes a predicate:
metadata terms in ``mql_jsonpath`` (lax-mode JSONPath), file-attribute terms in ``mql_columns`` (SQL columns),
``present`` / ``not present`` here.  Three-valued logic (``tvl``): a file is selected only when True.

Raises ``QueryFailure`` (status 400 for what MetaCat rejects or the testbed cannot evaluate faithfully,
500 for what PostgreSQL would reject at execution).
"""
from __future__ import annotations

from typing import Any, Callable

from .mql_columns import FILE_COLUMNS, FILE_GETTERS, column_term
from .mql_jsonpath import metadata_term
from .mql_pg import QueryFailure, unsupported
from .tvl import fold, negate

__all__ = ["FILE_COLUMNS", "FILE_GETTERS", "QueryFailure", "compile_where"]
Pred = Callable[[Any], "bool | None"]


def _combine(preds: list[Pred], dominant: bool) -> Pred:
    """AND (``dominant=False``) or OR (``True``) of predicates, short-circuiting like SQL."""
    if len(preds) == 1:
        return preds[0]
    return lambda f: fold((p(f) for p in preds), dominant)


def _term(exp, columns: dict[str, Callable[[Any], Any]] | None) -> Pred:
    op = exp.T
    if op in ("present", "not_present"):
        name = exp["name"]
        if op == "present":
            return lambda f: name in f.metadata
        return lambda f: name not in f.metadata
    if op not in ("cmp_op", "in_range", "in_set", "not_in_range", "not_in_set"):
        raise QueryFailure(400, f"MQLCompilationError: Unexpected expression type: {op}")
    arg = exp.C[0]
    if arg.T == "object_attribute":
        column = arg["name"]
        if column not in FILE_COLUMNS:
            raise QueryFailure(400, f"MQLCompilationError: ValueError: Unrecognized attribute name {column}")
        if columns is None:
            raise unsupported("object attributes in dataset queries")
        if op in ("not_in_range", "not_in_set"):
            raise unsupported(f"{op} on {column}")
        pred = column_term(op, exp, column, columns[column])
    else:
        pred = metadata_term(op, exp, arg)
    if exp.get("neg"):
        return lambda f: negate(pred(f))
    return pred


def compile_where(exp, columns: dict[str, Callable[[Any], Any]] | None) -> Pred:
    """Compile a MetaCat meta expression (meta_or of meta_and, as the parser regularizes it) into a predicate.

    ``columns`` maps file attribute names to getters (None for dataset queries: attributes are refused).
    Raises QueryFailure.
    """
    from ..mql import load
    load()
    from metacat.common import FileMetaExpressionDNF
    dnf = FileMetaExpressionDNF.regularize(exp)
    return _combine([_combine([_term(t, columns) for t in conj.C], False) for conj in dnf.C], True)
