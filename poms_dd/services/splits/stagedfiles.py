"""``stagedfiles(n)``: the stage query is a DD project id; each launch takes up to n of its done files not yet
delivered.

A launch reads the project's handles once (``project_done_files``: its done files, sorted by namespace and
name) and takes the first n of them, in that order, that no earlier slice delivered; to know that it looks
their fids up in MetaCat and asks our delivery record (``slice_delivery``).  Looking up every done file at every
launch would cost more with each slice, so the cursor remembers where everything is delivered already:
``delivered`` is a short list of ranges ``[first, last, digest]`` of the sorted done files, each range fully
delivered when it was written, with a fingerprint of the done files it held then.  A range whose done files are
still exactly those (same fingerprint) is passed over without any lookup; a range that changed (a file in it
became done since, or a handle was restarted) is looked at again, as are files outside every range.  Files
become done in any order, so a straggler costs the lookups of the one range it falls in (at most about 1/64
of the done files, at least ``MIN_RANGE``), not of the whole project.  Done files MetaCat does not know cannot
be launched and are passed over.
"""
from __future__ import annotations

import bisect
import hashlib
import math
from typing import Any, Iterator, Mapping, Sequence

from ...errors import InvalidInput
from .base import QUERY_DD_PROJECT_ID, OneCount, Slice, SliceSource

Did = tuple[str, str]
CHUNK = 1000                 # most dids looked up in MetaCat (and fids in our record) per request
MIN_RANGE = 200              # done files per range of the cursor, at least
MAX_RANGES = 64              # ranges the cursor keeps for the part before the slice's end, at most


class StagedFiles(OneCount):
    kind = "stagedfiles"
    syntax = "stagedfiles(n)"
    query_form = QUERY_DD_PROJECT_ID
    refills = True
    description = ("The stage query is a DD project id; each launch takes up to n of its done files not yet "
                   "delivered.")
    help = ("The stage query is the id of an existing Data Dispatcher project (typically the one an earlier "
            "stage works on). Each launch takes up to n files that are done in that project and that no earlier "
            "launch of this stage took since the last reset, in order of namespace and name, frozen to their "
            "fids. When no such file is left the launch says there is nothing new yet; launch again when more "
            "files are done.")
    drift_help = ("Files that become done in the project later are taken by later launches, wherever they sort; "
                  "a file is never taken twice, even when it is restarted in the project and done again.")

    def next_slice(self, params: Mapping[str, Any], query: str | None, cursor: Mapping[str, Any],
                   source: SliceSource) -> Slice | None:
        """Up to n done files of the project not delivered by earlier slices; None when there are none."""
        n, pid = params["n"], _project_id(query, self.render(params))
        done: list[Did] = source.project_done_files(pid)
        unchanged = _unchanged_ranges(done, cursor.get("delivered"))
        picked: list[str] = []
        stop = len(done)                  # every done file before this position is delivered once this slice is
        size = min(CHUNK, n + 1)
        for start, end in _uncovered(len(done), unchanged):
            position = start
            while position < end and stop == len(done):
                chunk = done[position:min(end, position + size)]
                size = min(CHUNK, size * 2)
                fids = source.did_fids(chunk)
                delivered = source.delivered_among(fids.values())
                for offset, did in enumerate(chunk):
                    fid = fids.get(did)
                    if fid is not None and fid not in delivered:
                        if len(picked) == n:
                            stop = position + offset
                            break
                        picked.append(fid)
                position += len(chunk)
            if stop < len(done):
                break
        if not picked:
            return None
        k = int(cursor.get("slices", 0))
        after = {**cursor, "slices": k + 1, "delivered": _ranges(done, stop, unchanged)}
        return Slice(key=f"slice={k}", index=k, mql="fids " + ",".join(picked), cursor=after, fids=tuple(picked))


def _project_id(query: str | None, label: str) -> int:
    text = (query or "").strip()
    if not (text.isascii() and text.isdigit() and 0 < int(text) < 2 ** 63):
        raise InvalidInput(f"The split type {label} needs the stage query to be the id of an existing Data "
                           f"Dispatcher project (a positive integer), got {text!r}.")
    return int(text)


def _unchanged_ranges(done: Sequence[Did], stored: Any) -> list[tuple[int, int, list[str]]]:
    """The cursor's ranges whose done files are still those they held: (first position, end position, range),
    sorted and disjoint.  A malformed cursor entry counts as changed (its files are looked at again)."""
    out: list[tuple[int, int, list[str]]] = []
    for entry in stored if isinstance(stored, list) else ():
        if not (isinstance(entry, list) and len(entry) == 3 and all(isinstance(x, str) for x in entry)):
            continue
        lo, hi = bisect.bisect_left(done, _did(entry[0])), bisect.bisect_right(done, _did(entry[1]))
        if hi > lo and _digest(done[lo:hi]) == entry[2]:
            out.append((lo, hi, entry))
    out.sort()
    return [r for i, r in enumerate(out) if i == 0 or r[0] >= out[i - 1][1]]


def _uncovered(total: int, ranges: Sequence[tuple[int, int, Any]]) -> Iterator[tuple[int, int]]:
    """The spans [start, end) of positions 0..total outside ``ranges`` (sorted, disjoint)."""
    position = 0
    for lo, hi, _ in ranges:
        if lo > position:
            yield position, lo
        position = max(position, hi)
    if position < total:
        yield position, total


def _ranges(done: Sequence[Did], stop: int, unchanged: Sequence[tuple[int, int, list[str]]]) -> list[list[str]]:
    """The cursor's ranges after a slice: positions before ``stop`` are all delivered (in ranges of at least
    MIN_RANGE files, at most MAX_RANGES of them); ranges after it that did not change are kept."""
    step = max(MIN_RANGE, math.ceil(stop / MAX_RANGES))
    out = [[_text(done[i]), _text(done[min(i + step, stop) - 1]), _digest(done[i:min(i + step, stop)])]
           for i in range(0, stop, step)]
    return out + [entry for lo, _, entry in unchanged if lo >= stop]


def _did(text: str) -> Did:
    ns, _, name = text.partition(":")
    return ns, name


def _text(did: Did) -> str:
    return f"{did[0]}:{did[1]}"


def _digest(dids: Sequence[Did]) -> str:
    """A short fingerprint of a sorted list of dids (to tell whether it is still the same list)."""
    h = hashlib.sha256()
    for ns, name in dids:
        h.update(f"{ns}:{name}\n".encode())
    return h.hexdigest()[:24]
