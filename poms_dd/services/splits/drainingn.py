"""``drainingn(n)``: each launch takes up to n files of the stage query not in an earlier slice."""
from __future__ import annotations

from .base import OneCount


class DrainingN(OneCount):
    kind = "drainingn"
    syntax = "drainingn(n)"
    description = "Each launch takes up to n files of the query not in an earlier slice."
