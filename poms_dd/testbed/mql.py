"""MQL evaluated in memory over the testbed store, as MetaCat's server would answer it.

The text is parsed by MetaCat's own parser (``poms_dd.mql``) and optimized by MetaCat's own optimizer
(``FileQuery.optimize``: where-clauses pushed down, skip/limit merged), then the optimized tree is evaluated
set-wise: basic queries iterate dataset fid lists and apply a where predicate compiled once per query
(``mqlwhere``); ``ordered`` sorts by (created_timestamp, fid) like MetaCat's ``order by created_timestamp, id``.

Mirrored server behaviour (PROTOCOLS.md §8): ``files from ns:missing`` is empty; retired files are excluded
from dataset queries unless ``include_retired_files`` (but ``fids``/``files`` lists include them, and
``parents``/``children`` never return retired files); unknown named queries → 400, and so does
``files selected by ns:q where ...`` when the named query has a where clause itself (MetaCat's converter fails
on it: ``unhashable type: 'slice'``); ``filter stride(m, k)`` keeps input positions ≡ k (mod m), ``filter hash(m, k)`` keeps files with
``zlib.adler32(fid) % m == k`` (MetaCat's filter code is not in the client package: this follows §8), other
filters → 400; ``parents``/``children`` return one row per parent-child link, like the server's SQL join.
What cannot be evaluated faithfully is refused with 400, never answered wrongly.

``evaluate(store, text, ...)`` returns a ``Result``; raises ``QueryFailure(status, message)``.
Call it while holding ``store.lock``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..mql import error_text, parse
from .mql_datasets import datasets_for_query, select_datasets, sql_like
from .mql_files import Evaluator
from .mql_pg import QueryFailure
from .store import File, Store

__all__ = ["QueryFailure", "Result", "evaluate", "select_datasets", "sql_like"]


@dataclass
class Result:
    kind: str                 # "file" | "dataset" | "query"
    items: list               # File, Dataset or NamedQuery objects, in answer order


class _Loader:
    def __init__(self, store: Store):
        self.store = store

    def get_named_query(self, namespace, name):
        q = self.store.named_queries.get(f"{namespace}:{name}")
        return None if q is None else {"source": q.source}


def parse_query(store: Store, text: str, namespace: str | None = None, include_retired: bool = False):
    """MetaCat's parsed query object for ``text`` (named queries resolved from the store). Raises QueryFailure."""
    try:
        q = parse(text, loader=_Loader(store), default_namespace=namespace or None,
                  include_retired_files=include_retired)
    except ValueError as exc:
        raise QueryFailure(400, str(exc)) from exc
    if q.Type == "file":
        if q.Tree is None:
            raise QueryFailure(400, "MQLCompilationError: AttributeError: 'NoneType' object has no attribute 'T'")
    return q


def evaluate(store: Store, text: str, namespace: str | None = None, include_retired: bool = False) -> Result:
    """Run MQL ``text`` against ``store``.  Raises QueryFailure (400 as MetaCat's parser/compiler, 500 as its DB)."""
    q = parse_query(store, text, namespace, include_retired)
    if q.Type == "dataset":
        return Result("dataset", datasets_for_query(store, q.Tree))
    if q.Type == "query":
        raise QueryFailure(400, "Invalid query type")
    try:
        tree = q.optimize()
    except Exception as exc:                      # MetaCat wraps any optimizer failure the same way
        raise QueryFailure(400, f"MQLCompilationError: {exc.__class__.__name__}: {exc}") from exc
    files, _ = Evaluator(store, include_retired).eval(tree)
    return Result("file", files)


def error_for(exc: BaseException) -> QueryFailure:
    """A QueryFailure for an unexpected exception inside MetaCat's own code (it answers 400 with its text)."""
    return QueryFailure(400, error_text(exc))


def summary_keys(files: list[File]) -> list[str]:
    keys: set[str] = set()
    for f in files:
        keys.update(f.metadata)
    return sorted(keys)


def summary_count(files: list[File]) -> dict[str, Any]:
    return {"count": len(files), "total_size": int(sum(f.size or 0 for f in files))}
