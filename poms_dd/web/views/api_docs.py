"""The JSON API's description: GET /api/openapi.json (the OpenAPI document) and GET /api/docs (a short
human page listing every route).  Both are public: they describe the API and hold no data.

The document is ``poms_dd/openapi.yaml`` (shipped in the wheel); ``info.version`` is set from
``poms_dd.__version__`` when it is served.  tests/test_openapi.py keeps it in step with the app's routes.
"""
from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import yaml
from flask import Blueprint, jsonify, render_template, request

from ...version import __version__
from ..auth import public

bp = Blueprint("api_docs", __name__, url_prefix="/api")

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi.yaml"
HTTP_METHODS = ("get", "post", "put", "patch", "delete")


@functools.lru_cache(maxsize=1)
def _load(path: Path = SPEC_PATH) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        spec = yaml.safe_load(fh)
    spec["info"]["version"] = __version__
    return spec


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document as a new dict (callers may change it).  Raises OSError / yaml.YAMLError if the
    packaged ``openapi.yaml`` is missing or broken (a packaging fault, caught by the tests)."""
    return copy.deepcopy(_load())


def operations(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Every documented operation as ``{method, path, summary, tag, public}``, in document order."""
    default_security = spec.get("security") or []
    ops = []
    for path, item in spec["paths"].items():
        for method in HTTP_METHODS:
            op = item.get(method)
            if op is None:
                continue
            ops.append({"method": method.upper(), "path": path, "summary": op.get("summary", ""),
                        "tag": (op.get("tags") or ["other"])[0],
                        "public": op.get("security", default_security) == []})
    return ops


@bp.get("/openapi.json")
@public
def openapi_json():
    return jsonify(openapi_document())


@bp.get("/docs")
@public
def docs():
    spec = _load()
    tags = [t["name"] for t in spec.get("tags", [])]
    ops = operations(spec)
    groups = [(t, [o for o in ops if o["tag"] == t]) for t in tags]
    return render_template("poms_dd/api_docs.html", info=spec["info"], groups=[g for g in groups if g[1]],
                           base_url=request.host_url.rstrip("/"))
