"""Helpers of the split tests: file sets computed from the testbed's store (the seed), not through poms_dd."""
from __future__ import annotations

from typing import Any, Callable


def seed_order(tb, dataset: str = "hypot:raw", where: Callable[[Any], bool] | None = None) -> list[str]:
    """The fids of ``dataset`` in MetaCat's ``ordered`` order (created_timestamp, fid), from the testbed store."""
    store = tb.store
    files = [store.files_by_fid[fid] for fid in store.datasets[dataset].fids]
    files = [f for f in files if not f.retired and (where is None or where(f))]
    return [f.fid for f in sorted(files, key=lambda f: (f.created_timestamp, f.fid))]
