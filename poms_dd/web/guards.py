"""Request-level input guards, run before authentication and before any view (``register(app)``).

What no field rule can get right one field at a time is refused here, once, with a message naming where it
was found (every case is an ``InvalidInput``, so the shared handler answers 400 as JSON or as a page):

* a lone surrogate (``"\\ud800"``) in a JSON string: it cannot be encoded for the database;
* a NUL character (PostgreSQL text cannot hold it) in the path, a query argument, a form field, an uploaded
  file, a text body or any string of a JSON body (keys too);
* a JSON body larger than :data:`MAX_JSON_BYTES`, nested deeper than :data:`MAX_JSON_DEPTH` (checked on the
  raw text, before the parser can recurse) or holding a non-finite number (``NaN``/``Infinity`` are not JSON);
* a ``page`` query argument that is not a whole number from 1 to :data:`MAX_PAGE`.

The whole-request size limit is Flask's ``MAX_CONTENT_LENGTH`` (413).
"""
from __future__ import annotations

import math
import re
from typing import Any, Iterator, Mapping

from flask import Flask, request

from ..errors import InvalidInput
from ..services.campaigns.values import check_int, invalid_input, kind

MAX_JSON_BYTES = 1024 * 1024
MAX_JSON_DEPTH = 32
MAX_PAGE = 1_000_000
_SURROGATE = re.compile("[\ud800-\udfff]")
_BRACKETS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _label(where: str) -> str:
    """A location as a person can read it: NUL shown as ``\\x00``, at most 80 characters."""
    shown = where.replace("\x00", "\\x00")
    return shown if len(shown) <= 80 else shown[:77] + "..."


def _refuse(where: str, message: str) -> InvalidInput:
    return InvalidInput(message, field_errors={_label(where): [message]})


def _nul(where: str) -> InvalidInput:
    return _refuse(where, f"{_label(where)} contains a NUL character (\\x00), which poms_dd cannot store; remove it.")


def json_depth(raw: bytes) -> int:
    """The deepest nesting of ``[``/``{`` in JSON text (brackets inside strings do not count)."""
    depth = deepest = 0
    for m in _BRACKETS.finditer(raw):
        c = m.group()
        if c in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        elif c in (b"]", b"}"):
            depth -= 1
    return deepest


def _walk(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    """Every (path, scalar or key) of a parsed JSON document, iteratively (the depth is already bounded)."""
    stack = [(path, value)]
    while stack:
        where, v = stack.pop()
        if isinstance(v, dict):
            for k, item in v.items():
                yield f"{where}.{k}" if where else str(k), k
                stack.append((f"{where}.{k}" if where else str(k), item))
        elif isinstance(v, list):
            stack.extend((f"{where}[{i}]", item) for i, item in enumerate(v))
        else:
            yield where or "the JSON body", v


def check_json() -> None:
    """Size, depth, NUL characters and non-finite numbers of a JSON body."""
    if request.content_length is not None and request.content_length > MAX_JSON_BYTES:
        raise _refuse("body", f"The JSON body is {request.content_length} bytes; at most {MAX_JSON_BYTES} bytes "
                              "are accepted.")
    raw = request.get_data(cache=True)
    if len(raw) > MAX_JSON_BYTES:
        raise _refuse("body", f"The JSON body is {len(raw)} bytes; at most {MAX_JSON_BYTES} bytes are accepted.")
    if json_depth(raw) > MAX_JSON_DEPTH:
        raise _refuse("body", f"The JSON body is nested more than {MAX_JSON_DEPTH} levels deep; send a flatter "
                              "document.")
    data = request.get_json(silent=True)
    for where, v in _walk(data, ""):
        if isinstance(v, str) and "\x00" in v:
            raise _nul(where)
        if isinstance(v, str) and _SURROGATE.search(v):
            raise _refuse(where, f"{_label(where)} holds a lone UTF-16 surrogate (a \\ud800-\\udfff escape "
                                 "that is not half of a pair), which is not text; send valid Unicode.")
        if isinstance(v, float) and not math.isfinite(v):
            raise _refuse(where, f"{_label(where)} is {v!r}, which is not a number JSON allows; send a finite number.")


def check_shape(data: dict[str, Any], *, objects: tuple[str, ...] = (),
                ints: Mapping[str, tuple[int, int]] | None = None) -> None:
    """For a JSON API body: each of ``objects`` is an object whose values are objects (or null), each of
    ``ints`` a whole number in its (lowest, highest) range.  Raises InvalidInput naming every such field."""
    errors: dict[str, list[str]] = {}
    for name in objects:
        value = data.get(name)
        if value is not None and not isinstance(value, dict):
            errors[name] = [f"{name} must be an object, e.g. {{\"rucio\": {{\"username\": \"poms\"}}}}; "
                            f"got {kind(value)}."]
        for key, item in (value.items() if isinstance(value, dict) else ()):
            if item is not None and not isinstance(item, dict):
                errors.setdefault(name, []).append(f"{name}.{_label(str(key))} must be an object of settings, "
                                                   f"e.g. {{\"username\": \"poms\"}}; got {kind(item)}.")
    for name, (lowest, highest) in (ints or {}).items():
        value = data.get(name)       # beyond the column (or true/false); the rest is the service's to explain
        digits = isinstance(value, str) and value.strip().isascii() and value.strip().isdigit()
        if isinstance(value, bool) or (isinstance(value, (int, float)) or digits) and float(value) > highest:
            check_int(errors, data, name, lowest, name, highest)
    if errors:
        raise invalid_input(errors)


def check_request() -> None:
    """before_request: refuse what no view can store or should parse (see the module docstring)."""
    if "\x00" in request.path:
        raise _nul("the URL path")
    for key, values in request.args.lists():
        if "\x00" in key or any("\x00" in v for v in values):
            raise _nul(f"query parameter {key!r}")
    page = (request.args.get("page") or "").strip()
    # ASCII digits only ("²".isdigit() is true), and short: int() of thousands of digits is refused by Python itself.
    if page and not (page.isascii() and page.isdecimal() and len(page) <= 7 and 1 <= int(page) <= MAX_PAGE):
        raise _refuse("page", f"page must be a whole number from 1 to {MAX_PAGE}, got {page[:40]!r}.")
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    if request.is_json:
        check_json()
        return
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        for key, values in request.form.lists():
            if "\x00" in key or any("\x00" in v for v in values):
                raise _nul(f"form field {key!r}")
        for key, upload in request.files.items():
            data = upload.stream.read()
            upload.stream.seek(0)
            if b"\x00" in data:
                raise _nul(f"the uploaded file ({key})")
    elif b"\x00" in request.get_data(cache=True):
        raise _nul("the request body")


def register(app: Flask) -> None:
    """Run :func:`check_request` before every other before-request hook registered after it."""
    app.before_request(check_request)
