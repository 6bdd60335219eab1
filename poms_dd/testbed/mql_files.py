"""The evaluator of MetaCat's optimized file-query tree on the testbed store (one ``n_<node type>`` method per
node: basic queries, file lists, set operations, provenance, skip/limit, ordering, filters).

``_Evaluator.eval(node)`` returns ``(files, compiled_to_sql)``: MetaCat runs some nodes in SQL and others in
Python, and what follows depends on which (a where-clause over a filter result is evaluated by MetaCat's own
Python ``MetaEvaluator``; ``ordered`` over a Python result fails as on the server).
"""
from __future__ import annotations

import zlib

from ..mql import load
from .mql_datasets import select_datasets
from .mql_pg import QueryFailure
from .mqlwhere import FILE_GETTERS, compile_where
from .store import Dataset, File, Store


def _order_key(f: File):
    return (f.created_timestamp, f.fid)


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


class Evaluator:
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


