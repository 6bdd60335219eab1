"""``nfiles(n)``: launch k takes files k·n … k·n+n−1 of the ordered stage query."""
from __future__ import annotations

from .base import OneCount


class NFiles(OneCount):
    kind = "nfiles"
    syntax = "nfiles(n)"
    description = "Launch k takes files k·n … k·n+n−1 of the ordered query."
