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

import re
import zlib
from dataclasses import dataclass
from typing import Any

from ..mql import error_text, load, parse
from .mqlwhere import FILE_GETTERS, QueryFailure, compile_where
from .store import Dataset, File, Store

__all__ = ["QueryFailure", "Result", "evaluate"]


@dataclass
class Result:
    kind: str                 # "file" | "dataset" | "query"
    items: list               # File, Dataset or NamedQuery objects, in answer order


def _order_key(f: File):
    return (f.created_timestamp, f.fid)


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
        return Result("dataset", _datasets_for_query(store, q.Tree))
    if q.Type == "query":
        raise QueryFailure(400, "Invalid query type")
    try:
        tree = q.optimize()
    except Exception as exc:                      # MetaCat wraps any optimizer failure the same way
        raise QueryFailure(400, f"MQLCompilationError: {exc.__class__.__name__}: {exc}") from exc
    files, _ = _Evaluator(store, include_retired).eval(tree)
    return Result("file", files)


# ------------------------------------------------------------------------------------------------ datasets

def sql_like(pattern: str) -> re.Pattern:
    out = []
    for c in pattern:
        out.append(".*" if c == "%" else "." if c == "_" else re.escape(c))
    return re.compile("".join(out) + r"\Z", re.S)


def select_datasets(store: Store, bdq) -> list[Dataset]:
    """Datasets a MetaCat BasicDatasetQuery selects (explicit name, LIKE or regexp pattern, with subsets)."""
    if bdq.is_explicit():                    # MetaCat ignores `having` on an explicit dataset
        ds = store.datasets.get(f"{bdq.Namespace}:{bdq.Name}")
        return [ds] if ds is not None else []
    if bdq.Pattern:
        rx = re.compile(bdq.Name) if bdq.RegExp else sql_like(bdq.Name)
        match = rx.search if bdq.RegExp else rx.match
        top = [d for d in store.datasets.values()
               if d.namespace == bdq.Namespace and match(d.name) is not None]
    else:
        ds = store.datasets.get(f"{bdq.Namespace}:{bdq.Name}")
        top = [ds] if ds is not None else []
    selected = {d.did: d for d in top}
    if bdq.WithChildren:
        frontier = list(top)
        while frontier:
            nxt = []
            for d in frontier:
                for child_did in d.subsets:
                    child = store.datasets.get(child_did)
                    if child is not None and child.did not in selected:
                        selected[child.did] = child
                        nxt.append(child)
            frontier = nxt if bdq.Recursively else []
    result = list(selected.values())
    if bdq.Where is not None:
        pred = compile_where(bdq.Where, None)
        result = [d for d in result if pred(d) is True]
    return result


def _datasets_for_query(store: Store, tree) -> list[Dataset]:
    seen: dict[str, Dataset] = {}
    for node in tree.C:
        for d in select_datasets(store, node["query"]):
            seen.setdefault(d.did, d)
    return list(seen.values())


# ------------------------------------------------------------------------------------------------ files

class _EvalFile:
    """The object shape MetaCat's MetaEvaluator reads (used for where-clauses over filter results)."""

    __slots__ = ("f",)

    class _Epoch:
        def __init__(self, t):
            self.t = t

        def epoch(self):
            return self.t

    def __init__(self, f: File):
        self.f = f

    def metadata(self):
        return self.f.metadata

    Creator = property(lambda s: s.f.creator)
    Name = property(lambda s: s.f.name)
    Namespace = property(lambda s: s.f.namespace)
    Size = property(lambda s: s.f.size)
    Retired = property(lambda s: s.f.retired)
    RetiredBy = property(lambda s: s.f.retired_by)
    RetiredTimestamp = property(lambda s: s.f.retired_timestamp)
    UpdatedBy = property(lambda s: s.f.updated_by)
    UpdatedTimestamp = property(lambda s: s.f.updated_timestamp)
    Checksums = property(lambda s: s.f.checksums)
    CreatedTimestamp = property(lambda s: _EvalFile._Epoch(s.f.created_timestamp))


def _python_filter(files: list[File], meta_exp) -> list[File]:
    """MetaCat's executor filters non-SQL inputs with its Python MetaEvaluator; so does the testbed."""
    load()
    from metacat.mql.meta_evaluator import MetaEvaluator

    class Quiet(MetaEvaluator):        # same answers as MetaEvaluator, minus its traceback printing
        attr = False

        def file_attribute(self, f, name):
            self.attr = True
            return super().file_attribute(f, name)

        def do_cmp_op(self, x, op, y):
            attr, self.attr = self.attr, False
            try:
                return super().do_cmp_op(x, op, y)
            except Exception:
                if attr:
                    return False
                raise

    ev = Quiet()
    try:
        return [f for f in files if ev(_EvalFile(f), meta_exp)]
    except Exception as exc:
        raise QueryFailure(500, f"{exc.__class__.__name__}: {exc}") from exc


class _Evaluator:
    """Walks MetaCat's optimized file-query tree.  ``eval`` returns (files, compiled_to_sql)."""

    def __init__(self, store: Store, include_retired: bool):
        self.store = store
        self.include_retired = include_retired

    def eval(self, node) -> tuple[list[File], bool]:
        if node is None:
            raise QueryFailure(400, "MQLCompilationError: AttributeError: 'NoneType' object has no attribute 'T'")
        method = getattr(self, "n_" + node.T, None)
        if method is None:
            raise QueryFailure(400, f"MQLCompilationError: unsupported query node {node.T}")
        return method(node)

    def n_empty(self, node):
        return [], True

    def n_basic_file_query(self, node):
        q = node["query"]
        by_fid = self.store.files_by_fid
        if q.DatasetSelectors is None:
            files = list(by_fid.values())
        else:
            datasets: dict[str, Dataset] = {}
            for bdq in q.DatasetSelectors:
                for d in select_datasets(self.store, bdq):
                    datasets.setdefault(d.did, d)
            if len(datasets) == 1:
                (d,) = datasets.values()
                files = [by_fid[fid] for fid in d.fids if fid in by_fid]
            else:
                seen: dict[str, File] = {}
                for d in datasets.values():
                    for fid in d.fids:
                        f = by_fid.get(fid)
                        if f is not None:
                            seen[fid] = f
                files = list(seen.values())
        if not self.include_retired:
            files = [f for f in files if not f.retired]
        if q.Wheres is not None:
            pred = compile_where(q.Wheres, FILE_GETTERS)
            files = [f for f in files if pred(f) is True]
        if q.Ordered:
            files.sort(key=_order_key)
        return _skip_limit(files, q.Skip, q.Limit), True

    def n_file_list(self, node):
        specs, spec_type = node["specs"], node["spec_type"]
        if spec_type == "fid":
            found = {fid: self.store.files_by_fid.get(fid) for fid in specs}
        else:
            found = {}
            for spec in specs:
                if not spec.get("namespace"):
                    raise QueryFailure(400, f"MQLCompilationError: ValueError: No namespace is given for {spec.get('name')}")
                f = self.store.files_by_did.get(f"{spec['namespace']}:{spec['name']}")
                if f is not None:
                    found[f.fid] = f
        files = sorted((f for f in found.values() if f is not None), key=lambda f: f.fid)
        return _skip_limit(files, node.get("skip", 0), node.get("limit")), True

    def n_union(self, node):
        parts = [self.eval(c) for c in node.C]
        seen: dict[str, File] = {}
        for files, _ in parts:
            for f in files:
                seen.setdefault(f.fid, f)
        return list(seen.values()), all(sql for _, sql in parts)

    def n_join(self, node):
        parts = [self.eval(c) for c in node.C]
        first, _ = parts[0]
        keep = set(f.fid for f in first)
        for files, _ in parts[1:]:
            keep &= {f.fid for f in files}
        out: dict[str, File] = {}
        for f in first:
            if f.fid in keep:
                out.setdefault(f.fid, f)
        return list(out.values()), all(sql for _, sql in parts)

    def n_minus(self, node):
        (left, lsql), (right, rsql) = self.eval(node.C[0]), self.eval(node.C[1])
        drop = {f.fid for f in right}
        out: dict[str, File] = {}
        for f in left:
            if f.fid not in drop:
                out.setdefault(f.fid, f)
        return list(out.values()), lsql and rsql

    def _relatives(self, node, attr: str):
        files, sql = self.eval(node.C[0])
        if not sql:
            raise QueryFailure(400, "MQLExecutionError: _relationship() got an unexpected keyword argument 'as_files'")
        by_fid = self.store.files_by_fid
        pairs = []                              # (input file, relative): one row per link, as the SQL join
        for f in files:
            for rid in getattr(f, attr):
                r = by_fid.get(rid)
                if r is not None and not r.retired:
                    pairs.append((f, r))
        if node.get("ordered"):
            if attr == "parents":                # order by the parent's (created_timestamp, id)
                pairs.sort(key=lambda p: _order_key(p[1]))
            else:                                # MetaCat orders children by their *parent's* columns
                pairs.sort(key=lambda p: (_order_key(p[0]), _order_key(p[1])))
        return [r for _, r in pairs], True

    def n_parents_of(self, node):
        return self._relatives(node, "parents")

    def n_children_of(self, node):
        return self._relatives(node, "children")

    def n_meta_filter(self, node):
        files, sql = self.eval(node["query"])
        exp = node["meta_exp"]
        if exp is None:
            return files, sql
        if sql:
            pred = compile_where(exp, FILE_GETTERS)
            return [f for f in files if pred(f) is True], True
        return _python_filter(files, exp), False

    def n_skip_limit(self, node):
        files, sql = self.eval(node.C[0])
        return _skip_limit(files, node.get("skip", 0) or 0, node.get("limit")), sql

    def n_ordered(self, node):
        child = node.C[0]
        if child.T == "filter":
            return self.n_filter(child.clone(ordered=True))
        files, sql = self.eval(child)
        if not sql:
            raise QueryFailure(500, "TypeError: sorted expected 1 argument, got 2")
        return sorted(files, key=_order_key), True

    def n_filter(self, node):
        name, params, kw = node["name"], list(node["params"] or []), node["kw"] or {}
        if name not in ("stride", "hash"):
            raise QueryFailure(400, f"MQLExecutionError: '{name}'")
        if node.get("ordered"):
            raise QueryFailure(400, f"MQLExecutionError: the testbed does not order the output of filter {name}; "
                               "order its input query instead")
        if len(node.C) != 1:
            raise QueryFailure(400, f"MQLExecutionError: filter {name} takes exactly one input query")
        if kw or len(params) != 2 or not all(isinstance(p, int) and not isinstance(p, bool) for p in params):
            raise QueryFailure(400, f"MQLExecutionError: filter {name} requires 2 integer parameters: {name}(n, i)")
        n, i = params
        if n <= 0:
            raise QueryFailure(400, f"MQLExecutionError: filter {name}: n must be positive")
        files, _ = self.eval(node.C[0])
        if name == "stride":
            out = [f for j, f in enumerate(files) if j % n == i]
        else:
            out = [f for f in files if zlib.adler32(f.fid.encode()) % n == i]
        return _skip_limit(out, node.get("skip", 0) or 0, node.get("limit")), False


def _skip_limit(files: list, skip: int, limit: int | None) -> list:
    if skip:
        files = files[skip:]
    if limit is not None:
        files = files[:max(0, limit)]
    return files


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
