"""``stagedfiles(n)``: the stage query is a DD project id; each launch takes up to n of its done files not yet
delivered."""
from __future__ import annotations

from .base import QUERY_DD_PROJECT_ID, OneCount


class StagedFiles(OneCount):
    kind = "stagedfiles"
    syntax = "stagedfiles(n)"
    query_form = QUERY_DD_PROJECT_ID
    description = ("The stage query is a DD project id; each launch takes up to n of its done files not yet "
                   "delivered.")
