"""Write routes of the testbed's MetaCat data server (and named-query search), registered on ``metacat.bp``:
create_dataset, add_files, retire_file, create_namespace, create_named_query, search_queries; declare_files
lives in ``metacat_declare``.

Statuses and texts follow MetaCat's ``data_handler.py``: create_dataset 401/404/403/409; add_files and
retire_file answer 403 without a token (as the real server does); create_namespace 409 when it exists.
"""
from __future__ import annotations

import re

from flask import Blueprint, Response, request

from ..mql import parse
from .errors import ServerError
from .metacat_declare import declare_files
from .metacat_json import (MCError, authenticated, authorize_namespace, dataset_json, file_json, find_file,
                           is_admin, js, json_seq, named_query_json, namespace_json, owns_namespace, parse_name,
                           request_json, store, text, touch)
from .mql import QueryFailure, evaluate, sql_like
from .store import Dataset, File, NamedQuery, Namespace, Store


def register(bp: Blueprint) -> None:
    for rule, view in (("/declare_files", declare_files), ("/create_dataset", create_dataset),
                       ("/add_files", add_files), ("/retire_file", retire_file),
                       ("/create_named_query", create_named_query), ("/search_queries", search_queries)):
        bp.add_url_rule(rule, view_func=view, methods=["POST"])
    bp.add_url_rule("/create_namespace", view_func=create_namespace, methods=["GET", "POST"])


def _query_files(s: Store, query_text: str, namespace: str | None = None) -> list[File]:
    """The files of a query given to a write (MetaCat does not catch its query errors there: 500)."""
    try:
        result = evaluate(s, query_text, namespace=namespace)
    except QueryFailure as exc:
        raise ServerError(exc.message) from exc
    if result.kind != "file":
        raise MCError(400, f"Invalid file query: {query_text}")
    return result.items


def create_dataset() -> Response:
    s = store()
    with s.lock:
        user = authenticated(s)
        params = request_json()
        if not params:
            return text("Dataset parameters are not specified", 400)
        ns_name, name = params.get("namespace"), params.get("name")
        ns = s.namespaces.get(ns_name)
        if ns is None:
            return text("Namespace not found", 404)
        if not is_admin(s, user) and not owns_namespace(s, ns, user):
            return text("Permission denied", 403)
        if f"{ns_name}:{name}" in s.datasets:
            return text("Already exists", 409)
        files = _query_files(s, params["files_query"], ns_name) if params.get("files_query") else []
        metadata = params.get("metadata") or {}
        for k in metadata:
            if "." not in k:
                return text(f"Metadata parameter without a category: {k}", 400)
        ds = Dataset(ns_name, name, creator=user, created_timestamp=s.now(), frozen=bool(params.get("frozen")),
                     monotonic=bool(params.get("monotonic")), metadata=dict(metadata),
                     description=params.get("description") or "",
                     file_meta_requirements=params.get("file_meta_requirements") or {})
        for f in files:
            ds.add(f.fid)
        s.datasets[ds.did] = ds
        touch(s)
        return js(dataset_json(s, ds))


def _listed_files(s: Store, file_list: list, default_ns: str | None) -> list[File]:
    files, missing = [], []
    for spec in file_list:
        f = find_file(s, spec, default_ns)
        (files.append(f) if f is not None else missing.append(spec))
    if missing:
        raise MCError(404, f"Files not found: {missing}")
    return files


def add_files() -> Response:
    s = store()
    with s.lock:
        user = authenticated(s, 403, "Client authentication failed")
        params = request_json() or {}
        file_list, query_text, default_ns = params.get("file_list"), params.get("query"), params.get("namespace")
        if not file_list and not query_text:
            return text("No files to add", 400)
        if file_list and query_text:
            return text("Either file list or query must be specified, but not both", 400)
        ds_ns, ds_name = parse_name(request.args.get("dataset"), default_ns)
        if ds_ns is None:
            return text("Dataset namespace unspecified", 400)
        authorize_namespace(s, ds_ns, user, f"Permission to add files dataset {ds_ns}:{ds_name} denied")
        ds = s.datasets.get(f"{ds_ns}:{ds_name}")
        if ds is None:
            return text("Dataset not found", 404)
        if ds.frozen:
            return text("Dataset is frozen", 403)
        files = _query_files(s, query_text) if query_text else _listed_files(s, file_list, default_ns)
        added = sum(1 for f in files if ds.add(f.fid))
        touch(s)
        return js({"files_added": added})


def retire_file() -> Response:
    s = store()
    with s.lock:
        user = authenticated(s, 403)
        data = request_json() or {}
        f = find_file(s, data)
        if f is None:
            return text("File not found", 404)
        authorize_namespace(s, f.namespace, user, f"Permission to manage files in namespace {f.namespace} denied")
        retire = bool(data.get("retire"))
        if retire != f.retired:
            if retire:
                f.retired_by, f.retired_timestamp = user, s.now()
            else:
                f.updated_by, f.updated_timestamp = user, s.now()
            f.retired = retire
            touch(s)
        return js(file_json(f))


def create_namespace() -> Response:
    s = store()
    name, owner_role = request.args.get("name"), request.args.get("owner_role")
    with s.lock:
        user = authenticated(s)
        if not name:
            return text("Namespace name is not specified", 400)
        if owner_role:
            acc = s.accounts[user]
            if not acc.admin and owner_role not in acc.roles:
                return text("Permission denied", 403)
        if name in s.namespaces:
            return text("Namespace already exists", 409)
        ns = Namespace(name, owner_user=None if owner_role else user, owner_role=owner_role or None, creator=user,
                       description=request.args.get("description") or "", created_timestamp=s.now())
        s.namespaces[name] = ns
        touch(s)
        return js(namespace_json(ns))


def create_named_query() -> Response:
    s = store()
    with s.lock:
        user = authenticated(s)
        data = request_json() or {}
        ns, name = data.get("namespace"), data.get("name")
        authorize_namespace(s, ns, user, "Permission denied")
        key = f"{ns}:{name}"
        if key in s.named_queries and request.args.get("update") != "yes":
            return text("Query already exists", 409)
        q = NamedQuery(ns, name, data.get("source") or "", creator=user, created_timestamp=s.now(),
                       parameters=list(data.get("parameters") or []))
        s.named_queries[key] = q
        touch(s)
        return js(named_query_json(q))


def search_queries() -> Response:
    text_q = request.get_data(as_text=True) or ""
    if not text_q.strip():
        return js([])
    try:
        q = parse(text_q)
    except ValueError as exc:
        return text(str(exc), 400)
    if q.Type != "query":
        return text("Invalid query type", 400)
    bqq = q.Tree["query"]
    if bqq.Where is not None:
        return text("MQLCompilationError: not supported by the poms_dd testbed: where in named-query search", 400)
    rx = re.compile(bqq.Name) if bqq.RegExp else sql_like(bqq.Name)
    match = rx.search if bqq.RegExp else rx.match
    s = store()
    with s.lock:
        found = [named_query_json(nq) for nq in s.named_queries.values()
                 if nq.namespace == bqq.Namespace and match(nq.name) is not None]
    return json_seq(found)
