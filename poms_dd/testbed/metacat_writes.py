"""Write routes of the testbed's MetaCat data server (and named-query search), registered on ``metacat.bp``.

Statuses and texts follow MetaCat's ``data_handler.py``: declare_files 401 / 400 (no dataset, empty list) /
403 / 404 namespace / 488 ``{"message","metadata_errors"}`` / 409 ``The following files already exist:\\n  ns:n``
/ 202 for dry runs; create_dataset 401/404/403/409; add_files and retire_file answer 403 without a token
(as the real server does), create_namespace 400 when it exists.
"""
from __future__ import annotations

import re
import time
import uuid

from flask import Blueprint, Response, request

from .metacat_json import (body_json, caller, dataset_json, file_json, find_file, is_admin, js, json_seq,
                           named_query_json, namespace_authorized, namespace_json, owns_namespace, parse_name,
                           store, text, touch)
from .mql import QueryFailure, evaluate, sql_like
from ..mql import parse
from .store import Dataset, File, NamedQuery, Namespace

METADATA_ERROR_CODE = 488
_CHECKSUM_LEN = {"adler32": 8, "sha256": 64, "md5": 32}


def register(bp: Blueprint) -> None:
    for rule, view in (("/declare_files", declare_files), ("/create_dataset", create_dataset),
                       ("/add_files", add_files), ("/retire_file", retire_file),
                       ("/create_named_query", create_named_query), ("/search_queries", search_queries)):
        bp.add_url_rule(rule, view_func=view, methods=["POST"])
    bp.add_url_rule("/create_namespace", view_func=create_namespace, methods=["GET", "POST"])


def _checksum_errors(item: dict) -> list[dict]:
    errors = []
    for ctype, value in (item.get("checksums") or {}).items():
        ct = ctype.lower()
        if ct in _CHECKSUM_LEN and len(value) != _CHECKSUM_LEN[ct]:
            errors.append({"name": f"checksum {ct}",
                           "reason": f"value is wrong length {len(value)} should be {_CHECKSUM_LEN[ct]}"})
        for c in value:
            if not ("0" <= c <= "9" or "a" <= c <= "f"):
                errors.append({"name": f"checksum {ct}", "reason": f"contains invalid digit {c}"})
    return errors


def _requirement_errors(ds: Dataset, meta: dict) -> list[dict]:
    if not ds.file_meta_requirements:
        return []
    from metacat.util.validation import validate_metadata
    return [{"name": n, "value": meta.get(n), "reason": e}
            for n, e in validate_metadata(ds.file_meta_requirements, False, meta)]


def _auto_name(pattern: str, fid: str) -> str:
    clock = int(time.time() * 1000)
    u = uuid.uuid4().hex
    return (pattern.replace("$clock3", "%03d" % (clock % 1000)).replace("$clock6", "%06d" % (clock % 10**6))
            .replace("$clock9", "%09d" % (clock % 10**9)).replace("$clock", str(clock))
            .replace("$uuid8", u[-8:]).replace("$uuid16", u[-16:]).replace("$uuid", u).replace("$fid", fid))


def _prepare(s, user: str, ds: Dataset, items: list, default_ns: str | None):
    """Validate the declare_files items; returns (new File objects, errors) like data_handler.declare_files."""
    errors, files = [], []
    for inx, item in enumerate(items):
        errs = _checksum_errors(item)
        if errs:
            errors.append({"index": inx, "message": "Metadata checksum validation errors", "metadata_errors": errs})
    if errors:
        return [], errors, False
    admin = is_admin(s, user)
    for inx, item in enumerate(items):
        namespace, name, fid = item.get("namespace", default_ns), item.get("name"), item.get("fid")
        if item.get("size") is None:
            errors.append({"message": "Missing file size", "fid": fid, "index": inx})
            continue
        if name is None and item.get("did"):
            namespace, name = parse_name(item["did"], namespace)
        if name is None and "auto_name" not in item:
            errors.append({"message": "Missing name and auto_name", "index": inx, "fid": fid})
            continue
        if not namespace:
            errors.append({"message": "Missing namespace", "index": inx, "fid": fid})
            continue
        if namespace not in s.namespaces:
            errors.append({"index": inx, "fid": fid, "message": f"Namespace {namespace} does not exist"})
            continue
        if not namespace_authorized(s, namespace, user):
            errors.append({"index": inx, "fid": fid,
                           "message": f"Permission to declare files in namespace {namespace} denied"})
            continue
        meta = item.get("metadata") or {}
        for k in meta:
            if "." not in k:
                errors.append({"index": inx, "message": f"Metadata parameter without a category: {k}"})
        req = _requirement_errors(ds, meta)
        if req:
            errors.append({"index": inx, "message": "Dataset metadata validation errors", "metadata_errors": req})
            continue
        fid = str(fid) if fid else s.new_fid()
        if name is None:
            name = _auto_name(item.get("auto_name") or "$fid", fid)
        parents = []
        for p in item.get("parents") or []:
            if isinstance(p, str):
                parents.append(p)
                continue
            pf = find_file(s, p, default_ns) if isinstance(p, dict) else None
            if isinstance(p, dict) and "fid" in p:
                parents.append(str(p["fid"]))
            elif pf is not None:
                parents.append(pf.fid)
            else:
                errors.append({"index": inx, "message": f"Can not get file id for parent: {p}"})
                break
        created = item.get("created_timestamp") if admin else None
        files.append(File(fid=fid, namespace=namespace, name=name, size=int(item["size"]),
                          created_timestamp=float(created) if created is not None else s.now(),
                          creator=item.get("creator", user) if admin else user,
                          checksums=dict(item.get("checksums") or {}), metadata=dict(meta), parents=parents))
    return files, errors, True


def declare_files() -> Response:
    s = store()
    default_ns = request.args.get("namespace")
    with s.lock:
        user = caller(s)
        if user is None:
            return text("Authentication required", 401)
        if request.args.get("dataset") is None:
            return text("Dataset not specified", 400)
        ds_ns, ds_name = parse_name(request.args["dataset"], default_ns)
        try:
            if not namespace_authorized(s, ds_ns, user):
                return text(f"Permission to add files to dataset {ds_ns}:{ds_name} denied", 403)
        except KeyError:
            return text(f"Namespace {ds_ns} does not exist", 404)
        ds = s.datasets.get(f"{ds_ns}:{ds_name}")
        if ds is None:
            return text(f"Dataset {ds_ns}:{ds_name} does not exist", 400)
        try:
            items = body_json() or []
        except ValueError as exc:
            return text(f"Invalid JSON: {exc}", 400)
        if not items:
            return text("Empty file list", 400)
        files, errors, with_message = _prepare(s, user, ds, items, default_ns)
        if errors:
            body = {"message": "Invalid file data", "metadata_errors": errors} if with_message \
                else {"metadata_errors": errors}
            return js(body, METADATA_ERROR_CODE)
        if request.args.get("dry_run") == "yes":
            return js([{"name": f.name, "namespace": f.namespace, "fid": f.fid} for f in files], 202)
        existing = [f.did for f in files if f.did in s.files_by_did]
        if existing:
            return text("The following files already exist:" + "".join("\n  " + d for d in existing), 409)
        dup = [f.fid for f in files if f.fid in s.files_by_fid]
        missing = [p for f in files for p in f.parents if p not in s.files_by_fid]
        if dup or missing:
            return text(f"Integrity error: duplicate fids {dup} / unknown parent fids {missing}", 409)
        for f in files:
            s.add_file(f, [ds.did])
        touch(s)
        return js([file_json(f, with_metadata=True) for f in files])


def create_dataset() -> Response:
    s = store()
    with s.lock:
        user = caller(s)
        if user is None:
            return text("Authentication required", 401)
        try:
            params = body_json()
        except ValueError as exc:
            return text(f"Invalid JSON: {exc}", 400)
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
        files = []
        if params.get("files_query"):
            try:                                    # MetaCat does not catch query errors here: 500
                result = evaluate(s, params["files_query"], namespace=ns_name)
            except QueryFailure as exc:
                return text(exc.message, 500)
            if result.kind != "file":
                return text(f"Invalid file query: {params['files_query']}", 400)
            files = result.items
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


def add_files() -> Response:
    s = store()
    with s.lock:
        user = caller(s)
        if user is None:
            return text("Client authentication failed", 403)
        try:
            params = body_json() or {}
        except ValueError as exc:
            return text(f"Invalid JSON: {exc}", 400)
        file_list, query_text, default_ns = params.get("file_list"), params.get("query"), params.get("namespace")
        if not file_list and not query_text:
            return text("No files to add", 400)
        if file_list and query_text:
            return text("Either file list or query must be specified, but not both", 400)
        ds_ns, ds_name = parse_name(request.args.get("dataset"), default_ns)
        if ds_ns is None:
            return text("Dataset namespace unspecified", 400)
        try:
            if not namespace_authorized(s, ds_ns, user):
                return text(f"Permission to add files dataset {ds_ns}:{ds_name} denied", 403)
        except KeyError:
            return text(f"Namespace {ds_ns} does not exist", 404)
        ds = s.datasets.get(f"{ds_ns}:{ds_name}")
        if ds is None:
            return text("Dataset not found", 404)
        if ds.frozen:
            return text("Dataset is frozen", 403)
        if query_text:
            try:
                result = evaluate(s, query_text)
            except QueryFailure as exc:
                return text(exc.message, 500)
            if result.kind != "file":
                return text(f"Invalid file query: {query_text}", 400)
            files = result.items
        else:
            files, missing = [], []
            for spec in file_list:
                f = find_file(s, spec, default_ns)
                (files.append(f) if f is not None else missing.append(spec))
            if missing:
                return text(f"Files not found: {missing}", 404)
        added = sum(1 for f in files if ds.add(f.fid))
        touch(s)
        return js({"files_added": added})


def retire_file() -> Response:
    s = store()
    with s.lock:
        user = caller(s)
        if user is None:
            return text("Authentication required", 403)
        try:
            data = body_json() or {}
        except ValueError as exc:
            return text(f"Invalid JSON: {exc}", 400)
        f = find_file(s, data)
        if f is None:
            return text("File not found", 404)
        try:
            if not namespace_authorized(s, f.namespace, user):
                return text(f"Permission to manage files in namespace {f.namespace} denied", 403)
        except KeyError:
            return text(f"Namespace {f.namespace} does not exist", 404)
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
        user = caller(s)
        if user is None:
            return text("Authentication required", 401)
        if not name:
            return text("Namespace name is not specified", 400)
        if owner_role:
            acc = s.accounts[user]
            if not acc.admin and owner_role not in acc.roles:
                return text("Permission denied", 403)
        if name in s.namespaces:
            return text("Namespace already exists", 400)
        ns = Namespace(name, owner_user=None if owner_role else user, owner_role=owner_role or None, creator=user,
                       description=request.args.get("description") or "", created_timestamp=s.now())
        s.namespaces[name] = ns
        touch(s)
        return js(namespace_json(ns))


def create_named_query() -> Response:
    s = store()
    with s.lock:
        user = caller(s)
        if user is None:
            return text("Authentication required", 401)
        try:
            data = body_json() or {}
        except ValueError as exc:
            return text(f"Invalid JSON: {exc}", 400)
        ns, name = data.get("namespace"), data.get("name")
        try:
            if not namespace_authorized(s, ns, user):
                return text("Permission denied", 403)
        except KeyError:
            return text(f"Namespace {ns} does not exist", 404)
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
