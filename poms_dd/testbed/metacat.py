"""The testbed's MetaCat data server (``webserver/data_handler.py`` of MetaCat 4.1.x as the client sees it).

Mount ``bp`` at ``/mc/data``; clients use ``MetaCatClient(server_url=<base>/mc)``.  Content types follow
PROTOCOLS.md §0.2: JSON answers are ``application/json``, streams are exactly ``application/json-seq``
(``\\x1e{json}\\n`` per record), ``version`` is text.  Errors are plain text with MetaCat's status codes
(400 query errors as ``MQLSyntaxError: ...``, 401 missing token, 403, 404, 409, 488 metadata errors).
Reads need no token; writes do.  Read routes are here; write routes are in ``metacat_writes``.
"""
from __future__ import annotations

from urllib.parse import unquote_plus

from flask import Blueprint, Response, request

from . import metacat_writes
from .errors import ServerError, text_error
from .metacat_json import (MCError, caller, dataset_json, dataset_parents, datasets_of, file_json, find_file, js,
                           json_seq, named_query_json, namespace_json, owns_namespace, parse_name,
                           request_json, store, text, touch, yes)
from .mql import QueryFailure, evaluate, summary_count, summary_keys
from .store import Dataset

VERSION = "4.1.4"
bp = Blueprint("testbed_metacat", __name__)
bp.register_error_handler(MCError, text_error)


@bp.route("/version")
def version() -> Response:
    return text(VERSION)


def _query_text() -> str:
    if request.args.get("query") is not None:
        return unquote_plus(request.args["query"])
    if request.form.get("query") is not None:
        return request.form["query"]
    return request.get_data(as_text=True) or ""


def _target_dataset(s, user, save_as, add_to, namespace) -> Dataset:
    """The dataset save_as creates / add_to names; MCError 401/404/403/409 (MetaCat checks before querying)."""
    if user is None:
        raise MCError(401, "Authentication required")
    ns_name, ds_name = parse_name(save_as or add_to, namespace)
    ns = s.namespaces.get(ns_name)
    if ns is None:
        raise MCError(404, f"Namespace {ns_name} does not exist")
    if not owns_namespace(s, ns, user):
        verb = "create a dataset in" if save_as else "add files to dataset in"
        raise MCError(403, f"Permission to {verb} the namespace {ns_name} denied")
    did = f"{ns_name}:{ds_name}"
    if save_as:
        if did in s.datasets:
            raise MCError(409, f"Dataset {did} already exists")
        s.datasets[did] = Dataset(ns_name, ds_name, creator=user, created_timestamp=s.now())
        touch(s)
    elif did not in s.datasets:
        raise MCError(404, f"Dataset {did} does not exist")
    return s.datasets[did]


@bp.route("/query", methods=["GET", "POST"])
def query() -> Response:
    summary = request.args.get("summary")
    if summary not in ("count", "keys", None):
        return text(f"Unsupported summary type: {summary}", 400)
    with_meta, with_provenance = yes("with_meta"), yes("with_provenance")
    if summary is not None:
        with_meta, with_provenance = summary == "keys", False
    include_retired = yes("include_retired_files")
    namespace = request.args.get("namespace") or None
    save_as, add_to = request.args.get("save_as"), request.args.get("add_to")
    query_text = _query_text()
    s = store()
    with s.lock:
        target = _target_dataset(s, caller(s), save_as, add_to, namespace) if save_as or add_to else None
        if not query_text.strip():
            return js([])
        try:
            result = evaluate(s, query_text, namespace=namespace, include_retired=include_retired)
        except QueryFailure as exc:
            if exc.status >= 500:                  # PostgreSQL's error is uncaught on the real server
                raise ServerError(exc.message) from exc
            return text(exc.message, exc.status)
        if result.kind == "dataset":
            records = [dataset_json(s, d, with_provenance) for d in result.items]
            return json_seq(records)
        files = result.items
        if summary == "count":
            return js(summary_count(files))
        if summary == "keys":
            return js(summary_keys(files))
        if target is not None:
            for f in files:
                target.add(f.fid)
            touch(s)
    return json_seq(file_json(f, with_meta, with_provenance) for f in files)


@bp.route("/file")
def file() -> Response:
    args = request.args
    fid, did = args.get("fid"), args.get("did")
    namespace, name = args.get("namespace"), args.get("name")
    if did:
        namespace, name = parse_name(did)
    s = store()
    with s.lock:
        f = s.files_by_fid.get(fid) if fid else s.files_by_did.get(f"{namespace}:{name}")
        if f is None:
            return text("File not found", 404)
        datasets = datasets_of(s, f.fid) if yes("with_datasets") else None
        return js(file_json(f, yes("with_metadata", "yes"), yes("with_provenance", "yes"), datasets))


@bp.route("/files", methods=["POST"])
def files() -> Response:
    lookup = request_json() or []
    with_meta, with_prov = yes("with_metadata"), yes("with_provenance")
    s = store()
    with s.lock:
        found = {}
        for spec in lookup:
            f = find_file(s, spec) if isinstance(spec, dict) else None
            if f is not None:
                found[f.fid] = f
        return js([file_json(f, with_meta, with_prov) for f in found.values()])


def _dataset_or_404(s, spec: str | None) -> Dataset:
    ns, name = parse_name(spec)
    ds = s.datasets.get(f"{ns}:{name}")
    if ds is None:
        raise MCError(404, "Dataset not found")
    return ds


def _with_dataset(answer) -> Response:
    """``answer(store, dataset)`` for the dataset named by ``?dataset=ns:name``, under the store lock; 404."""
    s = store()
    with s.lock:
        return answer(s, _dataset_or_404(s, request.args.get("dataset")))


@bp.route("/dataset")
def dataset() -> Response:
    return _with_dataset(lambda s, ds: js(dataset_json(s, ds)))


@bp.route("/datasets")
def datasets() -> Response:
    s = store()
    with s.lock:
        return js([dataset_json(s, d) for d in s.datasets.values()])


def _descendants(s, ds: Dataset) -> set[str]:
    seen, frontier = set(), list(ds.subsets)
    while frontier:
        did = frontier.pop()
        if did not in seen and did != ds.did:
            seen.add(did)
            child = s.datasets.get(did)
            frontier.extend(child.subsets if child else [])
    return seen


def _counts(s, ds: Dataset) -> Response:
    supersets = sum(1 for d in s.datasets.values() if d is not ds and ds.did in _descendants(s, d))
    return js({"dataset": ds.did, "file_count": len(ds.fids), "parent_count": len(dataset_parents(s, ds)),
               "child_count": len(ds.subsets), "superset_count": supersets, "subset_count": len(_descendants(s, ds))})


@bp.route("/dataset_counts")
def dataset_counts() -> Response:
    return _with_dataset(_counts)


@bp.route("/dataset_files")
def dataset_files() -> Response:
    with_meta, include_retired = yes("with_metadata"), yes("include_retired_files")
    s = store()
    with s.lock:
        ds = _dataset_or_404(s, request.args.get("dataset"))
        by_fid = s.files_by_fid
        files = [by_fid[fid] for fid in ds.fids if fid in by_fid]
        if not include_retired:
            files = [f for f in files if not f.retired]
    return json_seq(file_json(f, with_meta) for f in files)


@bp.route("/namespace")
def namespace() -> Response:
    s = store()
    with s.lock:
        ns = s.namespaces.get(request.args.get("name") or "")
        if ns is None:
            return text("Not found", 404)
        return js(namespace_json(ns))


@bp.route("/namespaces", methods=["GET", "POST"])
def namespaces() -> Response:
    s = store()
    names = request_json() if request.method == "POST" else None
    owner_user, owner_role = request.args.get("owner_user"), request.args.get("owner_role")
    with s.lock:
        if names:
            found = [s.namespaces[n] for n in names if n in s.namespaces]
            return js([namespace_json(ns) for ns in found])
        out = []
        for ns in sorted(s.namespaces.values(), key=lambda n: n.name):
            if owner_user:
                acc = s.accounts.get(owner_user)
                roles = [] if (yes("directly") or acc is None) else acc.roles
                if ns.owner_user != owner_user and ns.owner_role not in roles:
                    continue
            elif owner_role and ns.owner_role != owner_role:
                continue
            out.append(namespace_json(ns))
        return js(out)


@bp.route("/named_query")
def named_query() -> Response:
    s = store()
    with s.lock:
        q = s.named_queries.get(f"{request.args.get('namespace')}:{request.args.get('name')}")
        if q is None:
            return text("Query not found", 404)
        return js(named_query_json(q))


@bp.route("/named_queries")
def named_queries() -> Response:
    ns = request.args.get("namespace")
    s = store()
    with s.lock:
        return js([named_query_json(q) for q in s.named_queries.values() if ns is None or q.namespace == ns])


metacat_writes.register(bp)
