"""Shared pieces of the testbed's MetaCat face: the store of the request, the caller and permission checks,
MetaCat's JSON shapes (``DBFile/DBDataset/DBNamespace/DBNamedQuery.to_jsonable``), its response conventions and
``MCError`` (an expected error answer: plain text with MetaCat's status)."""
from __future__ import annotations

import json
from typing import Any, Iterable, Iterator

from flask import Response, current_app, request

from . import tokens
from .errors import TextError
from .store import Dataset, File, NamedQuery, Namespace, Store

RS = "\x1e"


class MCError(TextError):
    """An expected MetaCat error answer: ``status`` with a plain-text ``message``."""


def store() -> Store:
    """The store of the running testbed app (``config["TESTBED_STORE"]``, else ``extensions["testbed_store"]``)."""
    s = current_app.config.get("TESTBED_STORE")
    return s if s is not None else current_app.extensions["testbed_store"]


def touch(s: Store) -> None:
    """Tell persistence (if the store has it) that something changed."""
    getattr(s, "touch", lambda: None)()


def text(message: str, status: int = 200) -> Response:
    return Response(message, status=status, content_type="text/plain")


def js(obj: Any, status: int = 200) -> Response:
    return Response(json.dumps(obj), status=status, content_type="application/json")


def json_seq(records: Iterable[dict], chunk: int = 500) -> Response:
    """An ``application/json-seq`` stream (``\\x1e{json}\\n`` per record) produced lazily, in chunks."""
    def gen() -> Iterator[str]:
        dumps = json.dumps
        buf = []
        for rec in records:
            buf.append(RS + dumps(rec) + "\n")
            if len(buf) >= chunk:
                yield "".join(buf)
                buf = []
        if buf:
            yield "".join(buf)
    return Response(gen(), status=200, content_type="application/json-seq")


def yes(name: str, default: str = "no") -> bool:
    return request.args.get(name, default) == "yes"


def body_json() -> Any:
    """The request body parsed as JSON whatever its Content-Type (MetaCat posts ``text/json``).
    Raises ValueError on malformed JSON."""
    raw = request.get_data(as_text=True)
    return json.loads(raw) if raw else None


def request_json() -> Any:
    """``body_json()``, or MCError 400 ``Invalid JSON: ...``."""
    try:
        return body_json()
    except ValueError as exc:
        raise MCError(400, f"Invalid JSON: {exc}") from None


def caller(s: Store) -> str | None:
    return tokens.caller(s)


def authenticated(s: Store, status: int = 401, message: str = "Authentication required") -> str:
    """The caller, or MCError (MetaCat answers 401 on most writes, 403 on a few)."""
    user = caller(s)
    if user is None:
        raise MCError(status, message)
    return user


def authorize_namespace(s: Store, namespace: str | None, user: str, denied: str) -> None:
    """MCError 404 when the namespace does not exist, 403 ``denied`` unless the user is admin or owner."""
    try:
        allowed = namespace_authorized(s, namespace, user)
    except KeyError:
        raise MCError(404, f"Namespace {namespace} does not exist") from None
    if not allowed:
        raise MCError(403, denied)


def is_admin(s: Store, user: str | None) -> bool:
    acc = s.accounts.get(user) if user else None
    return bool(acc and acc.admin)


def owns_namespace(s: Store, ns: Namespace, user: str) -> bool:
    """``DBNamespace.owned_by_user``: the owner user, or a member of the owner role."""
    if ns.owner_user == user:
        return True
    acc = s.accounts.get(user)
    return bool(ns.owner_role and acc and ns.owner_role in acc.roles)


def namespace_authorized(s: Store, namespace: str, user: str) -> bool:
    """``_namespace_authorized``: admin or owner.  Raises KeyError for a missing namespace."""
    ns = s.namespaces[namespace]
    return is_admin(s, user) or owns_namespace(s, ns, user)


def parse_name(name: str | None, default_namespace: str | None = None) -> tuple[str | None, str]:
    words = (name or "").split(":", 1)
    if len(words) < 2:
        return default_namespace, words[0]
    return words[0], words[1]


def file_json(f: File, with_metadata: bool = False, with_provenance: bool = False,
              datasets: list[Dataset] | None = None) -> dict:
    d = {
        "fid": f.fid, "namespace": f.namespace, "name": f.name, "retired": f.retired,
        "retired_by": f.retired_by, "updated_by": f.updated_by,
        "retired_timestamp": f.retired_timestamp, "updated_timestamp": f.updated_timestamp,
        "created_timestamp": f.created_timestamp,
        "checksums": f.checksums if f.checksums is not None else {}, "size": f.size,
    }
    if f.creator is not None:
        d["creator"] = f.creator
    if with_metadata:
        d["metadata"] = f.metadata
    if with_provenance:
        d["parents"] = [{"fid": p} for p in f.parents]
        d["children"] = [{"fid": c} for c in f.children]
    if datasets is not None:
        d["datasets"] = [{"namespace": ds.namespace, "name": ds.name} for ds in datasets]
    return d


def datasets_of(s: Store, fid: str) -> list[Dataset]:
    return [d for d in s.datasets.values() if fid in d.fid_set]


def dataset_parents(s: Store, ds: Dataset) -> list[Dataset]:
    return [d for d in s.datasets.values() if ds.did in d.subsets]


def dataset_json(s: Store, ds: Dataset, with_relatives: bool = False) -> dict:
    out = {
        "namespace": ds.namespace, "name": ds.name, "frozen": ds.frozen, "monotonic": ds.monotonic,
        "metadata": ds.metadata or {}, "creator": ds.creator, "created_timestamp": ds.created_timestamp,
        "file_meta_requirements": ds.file_meta_requirements, "description": ds.description,
        "file_count": len(ds.fids), "updated_timestamp": ds.updated_timestamp, "updated_by": ds.updated_by,
    }
    if with_relatives:
        out["parents"] = [p.did for p in dataset_parents(s, ds)]
        out["children"] = list(ds.subsets)
    return out


def namespace_json(ns: Namespace) -> dict:
    return {"name": ns.name, "owner_user": ns.owner_user, "owner_role": ns.owner_role, "creator": ns.creator,
            "description": ns.description, "created_timestamp": ns.created_timestamp}


def named_query_json(q: NamedQuery) -> dict:
    return {"namespace": q.namespace, "name": q.name, "source": q.source, "creator": q.creator,
            "created_timestamp": q.created_timestamp, "description": q.description, "metadata": q.metadata}


def find_file(s: Store, spec: dict, default_namespace: str | None = None) -> File | None:
    """A file by ``{"fid"}``, ``{"did"}`` or ``{"namespace","name"}`` (``ObjectSpec``), or None."""
    if spec.get("fid"):
        return s.files_by_fid.get(str(spec["fid"]))
    if spec.get("did"):
        ns, name = parse_name(spec["did"], default_namespace)
    else:
        ns, name = spec.get("namespace") or default_namespace, spec.get("name")
    return s.files_by_did.get(f"{ns}:{name}")
