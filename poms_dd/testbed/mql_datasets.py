"""Which MetaCat datasets a dataset selector names (``ns:name``, ``matching ns:pat*`` as SQL LIKE,
``matching regexp ns:"re"``, ``with subsets [recursively]``, ``having <expr>``), on the testbed store."""
from __future__ import annotations

import re

from .mqlwhere import compile_where
from .store import Dataset, Store


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


def datasets_for_query(store: Store, tree) -> list[Dataset]:
    seen: dict[str, Dataset] = {}
    for node in tree.C:
        for d in select_datasets(store, node["query"]):
            seen.setdefault(d.did, d)
    return list(seen.values())


