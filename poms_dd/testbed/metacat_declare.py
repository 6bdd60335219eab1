"""MetaCat ``declare_files`` (POST ``data/declare_files?dataset=ns:ds[&dry_run=yes]``), as ``data_handler.py``
answers it: 401 without a token / 400 (no dataset, empty list) / 403 / 404 namespace / 488
``{"message","metadata_errors"}`` (checksum, naming, metadata and dataset-requirement errors, per item) /
409 ``The following files already exist:\\n  ns:n`` / 202 with the would-be names and fids for a dry run."""
from __future__ import annotations

import time
import uuid

from flask import Response, request

from .metacat_json import (MCError, authenticated, authorize_namespace, file_json, find_file, is_admin, js,
                           namespace_authorized, parse_name, request_json, store, text, touch)
from .store import Dataset, File, Store

METADATA_ERROR_CODE = 488
_CHECKSUM_LEN = {"adler32": 8, "sha256": 64, "md5": 32}


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


def _identity(s: Store, user: str, inx: int, item: dict, default_ns: str | None):
    """(namespace, name or None for auto_name, error dict or None) of one item."""
    namespace, name, fid = item.get("namespace", default_ns), item.get("name"), item.get("fid")
    if item.get("size") is None:
        return None, None, {"message": "Missing file size", "fid": fid, "index": inx}
    if name is None and item.get("did"):
        namespace, name = parse_name(item["did"], namespace)
    if name is None and "auto_name" not in item:
        return None, None, {"message": "Missing name and auto_name", "index": inx, "fid": fid}
    if not namespace:
        return None, None, {"message": "Missing namespace", "index": inx, "fid": fid}
    if namespace not in s.namespaces:
        return None, None, {"index": inx, "fid": fid, "message": f"Namespace {namespace} does not exist"}
    if not namespace_authorized(s, namespace, user):
        return None, None, {"index": inx, "fid": fid,
                            "message": f"Permission to declare files in namespace {namespace} denied"}
    return namespace, name, None


def _parents(s: Store, inx: int, item: dict, default_ns: str | None) -> tuple[list[str], dict | None]:
    """The parent fids of one item; stops at the first parent it cannot identify (with an error dict)."""
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
            return parents, {"index": inx, "message": f"Can not get file id for parent: {p}"}
    return parents, None


def _prepare(s: Store, user: str, ds: Dataset, items: list, default_ns: str | None):
    """Validate the items; returns (new File objects, errors, whether the 488 body carries a message)."""
    errors = [{"index": inx, "message": "Metadata checksum validation errors", "metadata_errors": errs}
              for inx, item in enumerate(items) if (errs := _checksum_errors(item))]
    if errors:
        return [], errors, False
    admin, files = is_admin(s, user), []
    for inx, item in enumerate(items):
        namespace, name, error = _identity(s, user, inx, item, default_ns)
        if error is not None:
            errors.append(error)
            continue
        meta = item.get("metadata") or {}
        errors += [{"index": inx, "message": f"Metadata parameter without a category: {k}"}
                   for k in meta if "." not in k]
        req = _requirement_errors(ds, meta)
        if req:
            errors.append({"index": inx, "message": "Dataset metadata validation errors", "metadata_errors": req})
            continue
        fid = str(item["fid"]) if item.get("fid") else s.new_fid()
        if name is None:
            name = _auto_name(item.get("auto_name") or "$fid", fid)
        parents, error = _parents(s, inx, item, default_ns)
        if error is not None:
            errors.append(error)
        created = item.get("created_timestamp") if admin else None
        files.append(File(fid=fid, namespace=namespace, name=name,
                          size=int(item["size"]), creator=item.get("creator", user) if admin else user,
                          created_timestamp=float(created) if created is not None else s.now(),
                          checksums=dict(item.get("checksums") or {}), metadata=dict(meta), parents=parents))
    return files, errors, True


def _target(s: Store, user: str, default_ns: str | None) -> Dataset:
    if request.args.get("dataset") is None:
        raise MCError(400, "Dataset not specified")
    ds_ns, ds_name = parse_name(request.args["dataset"], default_ns)
    authorize_namespace(s, ds_ns, user, f"Permission to add files to dataset {ds_ns}:{ds_name} denied")
    ds = s.datasets.get(f"{ds_ns}:{ds_name}")
    if ds is None:
        raise MCError(400, f"Dataset {ds_ns}:{ds_name} does not exist")
    return ds


def declare_files() -> Response:
    s = store()
    default_ns = request.args.get("namespace")
    with s.lock:
        user = authenticated(s)
        ds = _target(s, user, default_ns)
        items = request_json() or []
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
