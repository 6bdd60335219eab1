"""Every split type, by kind, in the order the help pages list them.  A new split type is one module and
one line here."""
from __future__ import annotations

from .base import SplitType
from .byexistingruns import ByExistingRuns
from .byrun import ByRun
from .draining import Draining
from .drainingn import DrainingN
from .limitn import LimitN
from .list_split import ListSplit
from .mod import Mod
from .multiparam import MultiParam
from .new import New
from .nfiles import NFiles
from .stagedfiles import StagedFiles

SPLIT_TYPES: dict[str, SplitType] = {t.kind: t for t in (
    Draining(), DrainingN(), NFiles(), LimitN(), Mod(), ByRun(), ByExistingRuns(), ListSplit(), MultiParam(), New(),
    StagedFiles(),
)}
