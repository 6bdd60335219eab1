"""``limitn(n)``: every launch takes the first n files of the stage query."""
from __future__ import annotations

from .base import OneCount


class LimitN(OneCount):
    kind = "limitn"
    syntax = "limitn(n)"
    description = "Every launch takes the first n files of the query."
