"""The Data Dispatcher 2.0.3 JSON shapes (``DBProject/DBFileHandle/DBReplica/DBRSE.as_jsonable``, PROTOCOLS
§1.3) built from the testbed store."""
from __future__ import annotations

from urllib.parse import urlparse

from .store import RSE, Handle, Project, Replica, Store


def rse_json(r: RSE) -> dict:
    return {"name": r.name, "description": r.description, "is_available": r.is_available, "is_tape": r.is_tape,
            "pin_url": r.pin_url, "poll_url": r.poll_url, "remove_prefix": r.remove_prefix,
            "add_prefix": r.add_prefix, "pin_prefix": r.pin_prefix, "preference": r.preference,
            "is_enabled": r.is_enabled, "type": r.rse_type.lower()}


def replica_json(store: Store, rep: Replica, rse: RSE, namespace: str) -> dict:
    url = store.pfn(rep)
    return {"name": rep.name, "namespace": namespace, "path": urlparse(url).path, "rse": rep.rse, "url": url,
            "urls": [url], "preference": rse.preference,
            "available": rep.state == "AVAILABLE" and not rse.is_tape,   # tape: unavailable until pinned
            "rse_available": rse.is_available}


def replicas_of(store: Store, h: Handle) -> dict[str, dict]:
    """The handle's replicas on enabled RSEs, by RSE name."""
    out = {}
    for rse_name, rep in store.replicas.get(h.did, {}).items():
        rse = store.rses.get(rse_name)
        if rse is not None and rse.is_enabled:
            out[rse_name] = replica_json(store, rep, rse, h.namespace)
    return out


def handle_json(store: Store, pid: int, h: Handle, with_replicas: bool = False) -> dict:
    d = {"project_id": pid, "namespace": h.namespace, "name": h.name, "state": h.state, "worker_id": h.worker_id,
         "attempts": h.attempts, "attributes": h.attributes, "reserved_since": h.reserved_since}
    if with_replicas:
        d["replicas"] = replicas_of(store, h)
    return d


def project_json(store: Store, p: Project, with_handles: bool = False, with_replicas: bool = False) -> dict:
    d = {"project_id": p.project_id, "owner": p.owner, "state": p.state, "retry_count": None,
         "attributes": p.attributes, "created_timestamp": p.created_timestamp, "ended_timestamp": p.ended_timestamp,
         "active": p.state == "active" and not p.all_final(), "query": p.query,
         "worker_timeout": p.worker_timeout, "idle_timeout": p.idle_timeout, "users": p.users, "roles": p.roles}
    if with_handles or with_replicas:
        d["file_handles"] = [handle_json(store, p.project_id, h, with_replicas) for h in p.handles]
    return d
