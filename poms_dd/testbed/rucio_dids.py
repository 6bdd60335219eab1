"""Rucio replicas and DIDs (``replicas``, ``replicas/list``, ``dids/...``) on the shared store.

A file DID is known to Rucio when it has an entry in ``Store.replicas`` (seeded files without a replica are
unknown to Rucio, as a file MetaCat knows but nobody uploaded would be).  Collections live in
``Store.rucio_dids`` as ``{"type", "account", "content": ["scope:name", ...], "metacat": "ns:ds"?}``; a
``metacat`` link makes a seeded dataset mirror its MetaCat dataset without copying a million names.
"""
from __future__ import annotations

import ast
import fnmatch
import json
from typing import Iterator

from flask import Blueprint, Response, request

from .rucio_common import RucioError, body, created, json_answer, rse_expression, stream
from .store import Replica, Store, current_store

bp = Blueprint("dids", __name__)
MAX_DIDS = 1000


def _need_scope(store: Store, scope: str) -> None:
    if scope not in store.scopes:
        raise RucioError(404, "ScopeNotFound", f"Scope '{scope}' not found")


@bp.route("/replicas", methods=["POST"])
def add_replicas() -> Response:
    store = current_store()
    data = body()
    rse = data.get("rse")
    if rse not in store.rses:
        raise RucioError(404, "RSENotFound", f"RSE '{rse}' cannot be found")
    with store.lock:
        for f in data.get("files") or []:
            _need_scope(store, f.get("scope"))
        for f in data.get("files") or []:
            rep = Replica(f["scope"], f["name"], rse, pfn=f.get("pfn") or "", bytes=int(f.get("bytes") or 0),
                          adler32=f.get("adler32"), md5=f.get("md5"), state=f.get("state") or "AVAILABLE")
            store.replicas.setdefault(f"{f['scope']}:{f['name']}", {})[rse] = rep
        store.touch()
    return created()


def _collection_files(store: Store, did: str, seen: set | None = None) -> Iterator[str]:
    """File DIDs inside a dataset/container, recursively (each once)."""
    seen = set() if seen is None else seen
    entry = store.rucio_dids.get(did)
    if entry is None or did in seen:
        return
    seen.add(did)
    if entry.get("metacat"):
        ds = store.datasets.get(entry["metacat"])
        for fid in (ds.fids if ds else ()):
            f = store.files_by_fid.get(fid)
            if f is not None and f.did in store.replicas:
                yield f.did
    for child in entry.get("content", ()):
        if child in store.rucio_dids:
            yield from _collection_files(store, child, seen)
        elif child in store.replicas:
            yield child


def _file_info(store: Store, did: str) -> dict:
    reps = store.replicas.get(did) or {}
    first = next(iter(reps.values()), None)
    scope, name = did.split(":", 1)
    f = store.files_by_did.get(did)
    return {"scope": scope, "name": name, "bytes": first.bytes if first else (f.size if f else None),
            "adler32": first.adler32 if first else None, "md5": first.md5 if first else None}


def _replica_record(store: Store, did: str, rses: set[str], schemes: list | None, all_states: bool,
                    ignore_availability: bool) -> dict:
    out = _file_info(store, did)
    out.update(pfns={}, rses={}, states={})
    for rse_name, rep in (store.replicas.get(did) or {}).items():
        rse = store.rses.get(rse_name)
        if rse is None or rse_name not in rses or (not all_states and rep.state != "AVAILABLE"):
            continue
        if not ignore_availability and not rse.is_available:
            continue
        pfn = store.pfn(rep)
        if schemes and pfn.split("://", 1)[0] not in schemes:
            continue
        out["pfns"][pfn] = {"rse": rse_name, "rse_id": rse_name.lower(), "type": rse.rse_type, "volatile": False,
                            "domain": "wan", "priority": len(out["pfns"]) + 1, "client_extract": False}
        out["rses"][rse_name] = [pfn]
        out["states"][rse_name] = rep.state
    return out


@bp.route("/replicas/list", methods=["POST"])
def list_replicas() -> Response:
    store = current_store()
    data = body()
    dids = data.get("dids") or []
    if len(dids) > MAX_DIDS:
        raise RucioError(400, "InvalidObject", f"Too many DIDs: {len(dids)} > {MAX_DIDS} per call")
    with store.lock:
        rses = set(rse_expression(store, data.get("rse_expression")))
        files: list[str] = []
        for d in dids:
            key = f"{d.get('scope')}:{d.get('name')}"
            files += list(_collection_files(store, key)) if key in store.rucio_dids else (
                [key] if key in store.replicas else [])
        records = [_replica_record(store, f, rses, data.get("schemes"), bool(data.get("all_states")),
                                   data.get("ignore_availability", True)) for f in dict.fromkeys(files)]
    return stream(records)


def _didjson_answer(store: Store, did: str) -> dict:
    scope, name = did.split(":", 1)
    entry = store.rucio_dids.get(did)
    if entry is not None:                        # Rucio 41.5.1 leaves bytes and length of a collection null
        return {"scope": scope, "name": name, "type": entry["type"], "account": entry.get("account", "poms"),
                "bytes": None, "length": None, "md5": None, "adler32": None, "open": entry.get("open", True),
                "monotonic": False}
    if did in store.replicas:
        return {**_file_info(store, did), "type": "FILE", "account": "poms", "length": None, "open": None}
    raise RucioError(404, "DataIdentifierNotFound", f"Data identifier '{did}' not found")


@bp.route("/dids/<scope>/<name>", methods=["GET"])
def get_did(scope: str, name: str) -> Response:
    store = current_store()
    with store.lock:
        return json_answer(_didjson_answer(store, f"{scope}:{name}"))


@bp.route("/dids/<scope>/<name>", methods=["POST"])
def add_did(scope: str, name: str) -> Response:
    store = current_store()
    data = body()
    did_type = str(data.get("type", "DATASET")).upper()
    if did_type not in ("DATASET", "CONTAINER"):
        raise RucioError(400, "UnsupportedOperation", f"Unsupported DID type {did_type}")
    with store.lock:
        _need_scope(store, scope)
        did = f"{scope}:{name}"
        if did in store.rucio_dids or did in store.replicas:
            raise RucioError(409, "DataIdentifierAlreadyExists", f"Data Identifier '{did}' already exists")
        store.rucio_dids[did] = {"type": did_type, "account": request.environ["testbed.rucio_account"], "content": []}
        store.touch()
    if data.get("dids"):
        _attach(store, did, data["dids"])
    return created()


def _attach(store: Store, did: str, children: list) -> None:
    with store.lock:
        entry = store.rucio_dids.get(did)
        if entry is None:
            raise RucioError(404, "DataIdentifierNotFound", f"Data identifier '{did}' not found")
        for c in children:
            key = f"{c.get('scope')}:{c.get('name')}"
            if key not in store.replicas and key not in store.rucio_dids:
                raise RucioError(404, "DataIdentifierNotFound", f"Data identifier '{key}' not found")
            if key not in entry["content"]:
                entry["content"].append(key)
        store.touch()


@bp.route("/dids/<scope>/<name>/dids", methods=["POST"])
def attach_dids(scope: str, name: str) -> Response:
    _attach(current_store(), f"{scope}:{name}", body().get("dids") or [])
    return created()


@bp.route("/dids/<scope>/<name>/dids", methods=["GET"])
def list_content(scope: str, name: str) -> Response:
    store = current_store()
    did = f"{scope}:{name}"
    with store.lock:
        entry = store.rucio_dids.get(did)
        if entry is None:
            raise RucioError(404, "DataIdentifierNotFound", f"Data identifier '{did}' not found")
        children = list(entry.get("content", ()))
        if entry.get("metacat"):
            children = list(_collection_files(store, did))
        out = []
        for c in children:
            info = _didjson_answer(store, c)
            out.append({k: info.get(k) for k in ("scope", "name", "type", "bytes", "adler32", "md5")})
    return stream(out)


@bp.route("/dids/<scope>/<name>/files")
def list_files(scope: str, name: str) -> Response:
    store = current_store()
    did = f"{scope}:{name}"
    with store.lock:
        if did in store.replicas:
            files = [did]
        elif did in store.rucio_dids:
            files = list(_collection_files(store, did))
        else:
            raise RucioError(404, "DataIdentifierNotFound", f"Data identifier '{did}' not found")
        out = [{**_file_info(store, f), "guid": None, "events": None} for f in files]
    return stream(out)


def _filters() -> list[dict]:
    raw = request.args.get("filters")
    if not raw:
        return [{}]
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        value = json.loads(raw)
    return value if isinstance(value, list) else [value]


@bp.route("/dids/<scope>/dids/search")
def list_dids(scope: str) -> Response:
    store = current_store()
    did_type = request.args.get("type", "collection").lower()
    types = {"all": ("FILE", "DATASET", "CONTAINER"), "collection": ("DATASET", "CONTAINER"),
             "dataset": ("DATASET",), "container": ("CONTAINER",), "file": ("FILE",)}.get(did_type, ())
    long = request.args.get("long", "False").lower() == "true"
    filters = _filters()
    with store.lock:
        _need_scope(store, scope)
        candidates = [(d, e["type"]) for d, e in store.rucio_dids.items() if d.startswith(scope + ":")]
        if "FILE" in types:
            candidates += [(d, "FILE") for d in store.replicas if d.startswith(scope + ":")]
        out = []
        for did, typ in candidates:
            name = did.split(":", 1)[1]
            if typ in types and any(fnmatch.fnmatchcase(name, f.get("name", "*")) for f in filters):
                out.append({"scope": scope, "name": name, "did_type": typ, "bytes": None, "length": None}
                           if long else name)
    if long:
        return stream(out)
    return Response("".join(json.dumps(n) + "\n" for n in out), headers={"Content-Type": "application/x-json-stream"})
