"""``mod(m)``: launch k takes every m-th file of the ordered stage query from position k (a stride)."""
from __future__ import annotations

from .base import OneCount


class Mod(OneCount):
    kind = "mod"
    syntax = "mod(m)"
    param = "m"
    description = "Launch k takes every m-th file of the ordered query starting at position k (k = 0…m−1)."
