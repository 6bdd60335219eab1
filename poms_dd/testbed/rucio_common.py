"""What the testbed's Rucio endpoints share: ``RucioError`` (answered with the ``ExceptionClass`` /
``ExceptionMessage`` headers and the same as a JSON body, from which the client raises the named exception),
the exact content types the client parses (``application/json``, ``application/x-json-stream``), request
bodies, and RSE expressions."""
from __future__ import annotations

import json
from typing import Any, Iterable

from flask import Response, request

from .store import Store


class RucioError(Exception):
    def __init__(self, status: int, cls: str, message: str) -> None:
        super().__init__(message)
        self.status, self.cls, self.message = status, cls, message


def rucio_error(err: RucioError) -> Response:
    body = json.dumps({"ExceptionClass": err.cls, "ExceptionMessage": err.message})
    return Response(body, status=err.status, headers={"Content-Type": "application/json",
                                                       "ExceptionClass": err.cls, "ExceptionMessage": err.message})


def json_answer(obj: Any, status: int = 200) -> Response:
    return Response(json.dumps(obj), status=status, headers={"Content-Type": "application/json"})


def stream(items: Iterable[dict]) -> Response:
    body = "".join(json.dumps(i) + "\n" for i in items)
    return Response(body, headers={"Content-Type": "application/x-json-stream"})


def created() -> Response:
    return Response("Created", status=201, headers={"Content-Type": "text/plain"})


def body() -> Any:
    try:
        return json.loads(request.get_data() or b"{}")
    except ValueError:
        raise RucioError(400, "InvalidValueSupplied", "cannot decode json parameter") from None


def rse_expression(store: Store, expr: str | None) -> list[str]:
    """RSE names matching ``expr``: a name, ``A|B``, ``A&B``, ``key=value`` (``rse_type``/``type``) or ``*``."""
    if not expr or expr == "*":
        return list(store.rses)
    out: list[str] = []
    for alt in expr.split("|"):
        names = None
        for term in alt.split("&"):
            term = term.strip().strip("()")
            if "=" in term:
                key, value = (x.strip() for x in term.split("=", 1))
                match = {n for n, r in store.rses.items()
                         if (key in ("rse_type", "type") and r.rse_type == value.upper()) or (key == "rse" and n == value)}
            else:
                match = {term} if term in store.rses else set()
            names = match if names is None else names & match
        out += [n for n in sorted(names or ()) if n not in out]
    if not out:
        raise RucioError(400, "InvalidRSEExpression", f"RSE Expression resulted in an empty set: {expr}")
    return out
