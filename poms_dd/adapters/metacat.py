"""MetaCatAdapter: the real ``metacat.webapi.MetaCatClient`` behind our value types.

Large results are streamed: one ``query`` request whose ``application/json-seq`` body is read file by file
(PROTOCOLS §9: the client's ``batch_size`` paging re-runs the ordered query per page and is quadratic, so it is
never used here).  Lookups by fid/DID and lineage queries go out in chunks.
"""
from __future__ import annotations

import re
from typing import Any, Callable, Iterable, Iterator, Sequence

from ..errors import ConfigurationError, ExternalServiceError, InvalidInput
from .clients import PomsMetaCatClient
from .config import ExperimentConnection
from .errors import METACAT, MalformedReply, check_reply, raise_translated, scrubbed, translate
from .token_service import TokenServiceAdapter
from .types import DatasetInfo, FileInfo, QueryCount

_SAFE_WORD = re.compile(r"^[A-Za-z0-9_.\-]+$")
_END = object()
LOOKUP_CHUNK = 1000
LINEAGE_CHUNK = 500


class SyntaxOnlyNamedQueries:
    """A named-query loader for checking syntax offline: every ``files selected by ns:name`` stands for a plain
    file query; the MetaCat server resolves (or rejects) the real named query when the query is run."""

    def get_named_query(self, namespace: str, name: str) -> dict[str, str]:
        return {"source": f"files from {namespace}:{name}"}


def parse_mql(mql: str, loader: Any = None) -> Any:
    """Parse ``mql`` with MetaCat's own parser; return MetaCat's query object.

    ``loader`` resolves named queries (``get_named_query(ns, name)``); without one, named queries are rejected.
    Raises InvalidInput (field ``mql``) with the parser's message, e.g. ``MQLSyntaxError: ... at line 1 col 18``.
    """
    from poms_dd.mql import parse   # MetaCat's parser behind a tiny wsdbtools stand-in

    if not mql or not mql.strip():
        raise InvalidInput("The MQL query is empty.", field_errors={"mql": ["The MQL query is empty."]})
    try:
        return parse(mql, loader=loader)
    except ValueError as exc:
        message = f"MetaCat's MQL parser rejects the query: {exc}"
        raise InvalidInput(message, field_errors={"mql": [str(exc)]}) from exc


_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_SERVER_FAILS = (
    (re.compile(r"\b(?:datetime|date)\s*\("),
     "MetaCat servers fail (HTTP 500) on datetime()/date(); write the time as a quoted UTC string, "
     "e.g. created_timestamp > '2024-01-01 00:00:00'"),
    (re.compile(r"~\*"), "MetaCat servers fail (HTTP 500) on the case-insensitive match ~*; use ~ with a pattern "
                          "that lists both cases, e.g. name ~ '[Rr]aw'"),
)


def server_problem(mql: str) -> str | None:
    """Why real MetaCat servers would fail on ``mql`` although its parser accepts it (PROTOCOLS §8), or None.
    Quoted strings are ignored."""
    bare = _QUOTED.sub("''", mql)
    for pattern, message in _SERVER_FAILS:
        if pattern.search(bare):
            return message
    return None


def safe_words(values: Iterable[Any], what: str) -> list[str]:
    """Return ``values`` as strings, refusing anything that could change the meaning of generated MQL."""
    out = [str(v) for v in values]
    bad = [v for v in out if not _SAFE_WORD.match(v)]
    if bad:
        raise InvalidInput(f"Invalid {what}: {bad[0]!r} (letters, digits, '_', '.', '-' only).")
    return out


def namespace_query(namespace: str) -> str:
    """MQL for every file of a namespace (files are selected by their own namespace, not by dataset)."""
    (ns,) = safe_words([namespace], "namespace")
    return f'files where namespace = "{ns}"'


def _names(item: Any, _keys: Any = None) -> dict[str, str]:
    """A streamed file record reduced to its DID parts (a malformed record raises KeyError/TypeError)."""
    return {"namespace": item["namespace"], "name": item["name"]}


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class MetaCatAdapter(TokenServiceAdapter):
    """One experiment's MetaCat, logged in as its service account.  Every method raises ExternalServiceError
    when MetaCat fails or cannot be reached; query methods raise InvalidInput for MQL MetaCat's parser rejects."""

    service = METACAT
    key = "metacat"

    def __init__(self, conn: ExperimentConnection):
        if not conn.metacat_url:
            raise ConfigurationError(f"No MetaCat server URL is configured for experiment {conn.experiment}.")
        self.default_namespace = conn.default_namespace
        self._connect(conn, conn.metacat_url, conn.metacat_auth_url, PomsMetaCatClient)

    def version(self) -> str:
        return self._read("get the server version", self.client.get_version, str).strip()

    # -- queries --------------------------------------------------------------------------------------------
    def count(self, mql: str) -> QueryCount:
        """Number of files and total size of ``mql`` (``summary=count``, nothing is listed)."""
        def call() -> QueryCount:
            result = next(iter(self.client.query(mql, summary="count")))
            if isinstance(result, list):          # some servers wrap the summary in a list
                result = result[0] if result else {"count": 0, "total_size": 0}
            check_reply(result, dict)
            return QueryCount(count=int(result.get("count") or 0), total_size=int(result.get("total_size") or 0))
        return self._read("count the query", call)

    def validate(self, mql: str) -> QueryCount:
        """Parse ``mql`` locally with MetaCat's parser (InvalidInput on a syntax error, without any request),
        refuse forms real servers fail on (``datetime()``, ``date()``, ``~*``: InvalidInput), require a file
        query, then count it on the server."""
        parsed = parse_mql(mql)
        problem = server_problem(mql)
        if problem:
            raise InvalidInput(problem, field_errors={"mql": [problem]})
        if getattr(parsed, "Type", "file") != "file":
            raise InvalidInput(f"This is a {parsed.Type} query; a file query is needed (e.g. 'files from ns:ds').",
                               field_errors={"mql": ["not a file query"]})
        return self.count(mql)

    def iter_files(self, mql: str, metadata: bool | Sequence[str] = False,
                   with_provenance: bool = False) -> Iterator[FileInfo]:
        """Stream the files of ``mql`` from ONE request.  ``metadata``: False (none), True (all keys) or the keys
        to keep.  The request is sent (and a rejected query raises) before this returns; a failure while
        reading the rest raises ExternalServiceError from the iterator."""
        keys = None if metadata is True else tuple(metadata or ())
        with_meta = metadata is True or bool(keys)

        def start() -> tuple[Any, Iterator[Any]]:
            items = iter(self.client.query(mql, with_metadata=with_meta, with_provenance=with_provenance))
            try:
                return next(items, _END), items
            except (TypeError, ValueError, KeyError) as exc:     # raised inside the client by a broken reply
                raise MalformedReply(f"{exc.__class__.__name__}: {exc}") from exc

        first, rest = self._read("query files", start)
        return self._stream(first, rest, keys, "query files")

    def iter_names(self, mql: str) -> Iterator[dict[str, str]]:
        """Like :meth:`iter_files` without metadata, but each file is only ``{"namespace", "name"}`` — what a DD
        project needs, without building a FileInfo per file (a 100,000-file launch streams straight through)."""
        def start() -> tuple[Any, Iterator[Any]]:
            items = iter(self.client.query(mql))
            return next(items, _END), items

        first, rest = self._read("query files", start)
        return self._stream(first, rest, None, "query files", convert=_names)

    def _stream(self, first: Any, rest: Iterator[Any], keys: tuple[str, ...] | None,
                operation: str, convert: Callable[[Any, tuple[str, ...] | None], Any] | None = None) -> Iterator[Any]:
        if first is _END:
            return
        convert = convert or (lambda item, k: FileInfo.from_json(check_reply(item, dict), k))
        received = 0
        try:
            yield convert(first, keys)
            received = 1
            for item in rest:
                yield convert(item, keys)
                received += 1
        except Exception as exc:     # noqa: BLE001 - every failure of the stream is MetaCat's, reported below
            if isinstance(exc, (ValueError, KeyError, TypeError)):
                exc = MalformedReply(f"a malformed record: {exc.__class__.__name__}")
            error = translate(METACAT, operation, self.url, exc, timeout=self.timeout, secrets=self.secrets)
            if error is None:        # not a transport or reply problem: a bug of ours, shown as such
                raise_translated(METACAT, operation, self.url, exc, secrets=self.secrets)
            raise ExternalServiceError(METACAT, operation, f"{error.detail}; the answer broke off after {received} "
                                       "files, so the file list is incomplete; try again") from scrubbed(exc, self.secrets)

    def get_files(self, fids: Iterable[str] = (), dids: Iterable[str] = (), metadata: bool | Sequence[str] = False,
                  with_provenance: bool = False, chunk_size: int = LOOKUP_CHUNK) -> Iterator[FileInfo]:
        """The files with these fids and/or DIDs (``ns:name``), looked up ``chunk_size`` at a time.  Files
        MetaCat does not know are simply absent."""
        keys = None if metadata is True else tuple(metadata or ())
        lookups: list[dict[str, str]] = [{"fid": str(f)} for f in fids]
        for did in dids:
            namespace, sep, name = str(did).partition(":")
            if not sep:
                raise InvalidInput(f"Invalid file DID {did!r}: expected namespace:name.")
            lookups.append({"namespace": namespace, "name": name})
        for chunk in _chunks(lookups, chunk_size):
            found = self._read("look up files", lambda c=chunk: self.client.get_files(
                c, with_metadata=metadata is True or bool(keys), with_provenance=with_provenance),
                (list, Iterator), items=dict)
            for item in found:
                yield FileInfo.from_json(item, keys)

    def get_file(self, did: str | None = None, fid: str | None = None, metadata: bool | Sequence[str] = True,
                 with_provenance: bool = False) -> FileInfo | None:
        """One file by DID or fid, or None if MetaCat does not know it."""
        found = list(self.get_files(fids=[fid] if fid else (), dids=[did] if did else (), metadata=metadata,
                                    with_provenance=with_provenance))
        return found[0] if found else None

    def parents(self, fids: Iterable[str], metadata: bool | Sequence[str] = False,
                chunk_size: int = LINEAGE_CHUNK) -> Iterator[FileInfo]:
        """Distinct parents of the files with these fids (MQL ``parents(fids ...)``, chunked)."""
        return self._lineage("parents", fids, metadata, chunk_size)

    def children(self, fids: Iterable[str], metadata: bool | Sequence[str] = False,
                 chunk_size: int = LINEAGE_CHUNK) -> Iterator[FileInfo]:
        """Distinct children of the files with these fids (MQL ``children(fids ...)``, chunked)."""
        return self._lineage("children", fids, metadata, chunk_size)

    def _lineage(self, relation: str, fids: Iterable[str], metadata: bool | Sequence[str],
                 chunk_size: int) -> Iterator[FileInfo]:
        words = safe_words(fids, "file id")
        seen: set[str] = set()
        for chunk in _chunks(words, chunk_size):
            for info in self.iter_files(f"{relation}(fids {','.join(chunk)})", metadata=metadata):
                if info.fid not in seen:
                    seen.add(info.fid)
                    yield info

    # -- datasets -------------------------------------------------------------------------------------------
    def get_dataset(self, did: str) -> DatasetInfo | None:
        """The dataset ``ns:name``, or None if it does not exist."""
        data = self._read("get the dataset", lambda: self.client.get_dataset(did), dict, optional=True)
        return DatasetInfo.from_json(data) if data else None

    def list_datasets(self, namespace_pattern: str | None = None, name_pattern: str | None = None) -> list[DatasetInfo]:
        """Datasets whose namespace/name match the fnmatch patterns."""
        items = self._read("list datasets", lambda: self.client.list_datasets(
            namespace_pattern=namespace_pattern, name_pattern=name_pattern), Iterator, items=dict)
        return [DatasetInfo.from_json(d) for d in items]
