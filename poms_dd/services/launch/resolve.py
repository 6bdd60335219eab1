"""What a launch processes (SPEC §4.1): the project-id override, else the split's next slice, else the stage
query — with the campaign keywords substituted.  Read-only: nothing is created here."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...errors import InvalidInput
from ...models import CampaignStage, HandleState, LaunchKind, SliceDelivery, Submission, SubmissionStatus
from ..campaigns.keywords import substitute
from ..splits import NotLaunchable, Slice, parse_optional

LOOKUP_CHUNK = 5000
# Cursor keys that are notes for people (when the split was found exhausted), not split state.
EXHAUSTED_AT = "exhausted_at"
STAGE_NOTES = (EXHAUSTED_AT,)

# Submissions whose slice counts as delivered (a failed launch gave its files back).
DELIVERING = tuple(s.value for s in SubmissionStatus if s not in (SubmissionStatus.LAUNCH_FAILED,
                                                                  SubmissionStatus.QUEUED, SubmissionStatus.HELD))


@dataclass(frozen=True)
class Resolution:
    """The launch's input: ``slice`` (exact MQL, key, cursor after), the split type text and whether the test
    cursor is used; ``project_id`` for the override."""

    slice: Slice
    split_type: str | None
    test: bool
    project_id: int | None = None

    @property
    def cursor_field(self) -> str:
        return cursor_field(self.test)


def cursor_field(test: bool) -> str:
    """The stage column that holds the cursor of test or of production launches."""
    return "test_split_cursor" if test else "split_cursor"


class LaunchSource:
    """MetaCat, Data Dispatcher, the clock and our record of earlier slices, as a split reads them
    (``splits.base.SliceSource``).  ``extra`` holds fids a dry run counts as delivered (earlier preview slices)."""

    def __init__(self, session: Session, adapters, stage: CampaignStage, test: bool, epoch: int,
                 clock: Callable[[], dt.datetime] | None = None, extra: frozenset[str] = frozenset()):
        self.session, self.adapters, self.stage, self.test, self.epoch = session, adapters, stage, test, epoch
        self.clock = clock or (lambda: dt.datetime.now(dt.timezone.utc))
        self.extra = extra

    def fids(self, mql: str) -> Iterator[str]:
        return (f.fid for f in self.adapters.metacat.iter_files(mql))

    def files(self, mql: str, metadata: Sequence[str] = ()) -> Iterator[Any]:
        return self.adapters.metacat.iter_files(mql, metadata=tuple(metadata))

    def count(self, mql: str) -> int:
        return self.adapters.metacat.count(mql).count

    def delivered_among(self, fids: Iterable[str]) -> set[str]:
        wanted = list(dict.fromkeys(str(f) for f in fids))
        found = {f for f in wanted if f in self.extra}
        rest = [f for f in wanted if f not in found]
        for start in range(0, len(rest), LOOKUP_CHUNK):
            found.update(self.session.scalars(
                select(SliceDelivery.fid).join(Submission, Submission.id == SliceDelivery.submission_id)
                .where(SliceDelivery.stage_id == self.stage.id, SliceDelivery.test.is_(self.test),
                       SliceDelivery.epoch == self.epoch, SliceDelivery.fid.in_(rest[start:start + LOOKUP_CHUNK]),
                       Submission.status.in_(DELIVERING))))
        return found

    def project_done_files(self, project_id: int) -> list[tuple[str, str]]:
        project = self.adapters.data_dispatcher.get_project(int(project_id), with_handles=True)
        if project is None:
            raise InvalidInput(f"Data Dispatcher has no project {project_id} (the stage's query).")
        return sorted((h.namespace, h.name) for h in (project.handles or ()) if h.state == HandleState.DONE)

    def did_fids(self, dids: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
        found = self.adapters.metacat.get_files(dids=[f"{ns}:{name}" for ns, name in dids])
        return {(f.namespace, f.name): f.fid for f in found}

    def now(self) -> dt.datetime:
        return self.clock()

    def with_delivered(self, fids: Iterable[str]) -> "LaunchSource":
        return LaunchSource(self.session, self.adapters, self.stage, self.test, self.epoch, self.clock,
                            self.extra | frozenset(str(f) for f in fids))


@dataclass(frozen=True)
class SplitContext:
    """A stage's split, ready to execute: the parsed spec, the keyword-substituted query, the cursor in use and
    the source to read through."""

    spec: Any
    query: str | None
    cursor: Mapping[str, Any]
    source: LaunchSource
    test: bool


def split_context(session: Session, stage: CampaignStage, test: bool, adapters,
                  clock: Callable[[], dt.datetime] | None = None) -> SplitContext | None:
    """The stage's split (test split type and cursor for test launches), or None when it has no split type.
    Raises InvalidInput (a keyword or split problem)."""
    keywords = stage.campaign.keywords or {}
    split_text = _substituted((stage.test_split_type if test else None) or stage.split_type, keywords, "split type")
    spec = parse_optional(split_text)
    if spec is None:
        return None
    query = _substituted(stage.data_dispatcher_dataset_query, keywords, "Data Dispatcher query")
    cursor: Mapping[str, Any] = {k: v for k, v in ((stage.test_split_cursor if test else stage.split_cursor) or {})
                                 .items() if k not in STAGE_NOTES}
    source = LaunchSource(session, adapters, stage, test, int(cursor.get("epoch", 0)), clock)
    return SplitContext(spec, query, cursor, source, test)


def resolve(session: Session, stage: CampaignStage, kind: str, adapters,
            clock: Callable[[], dt.datetime] | None = None) -> Resolution | None:
    """The next thing the stage's launch of ``kind`` processes (None: the split is exhausted).

    Raises InvalidInput (a keyword or split problem, or a stage its split type cannot launch).
    """
    test = kind == LaunchKind.TEST
    if stage.data_dispatcher_project_id:
        pid = int(stage.data_dispatcher_project_id)
        return Resolution(Slice(key=f"project={pid}", mql=f"project {pid}"), None, test, project_id=pid)
    ctx = split_context(session, stage, test, adapters, clock)
    if ctx is None:
        query = _substituted(stage.data_dispatcher_dataset_query, stage.campaign.keywords or {},
                             "Data Dispatcher query")
        return Resolution(Slice(key="query", mql=query), None, test)
    try:
        chosen = ctx.spec.split_type.next_slice(ctx.spec.params, ctx.query, ctx.cursor, ctx.source)
    except NotLaunchable as err:
        raise InvalidInput(str(err)) from None
    if chosen is None:
        return None
    return Resolution(chosen, ctx.spec.text, test, project_id=chosen.project_id)


def _substituted(text: str | None, keywords: Mapping[str, Any], label: str) -> str | None:
    if not text:
        return text
    try:
        return substitute(text, keywords)
    except InvalidInput as err:
        raise InvalidInput(f"The stage's {label} cannot be used: {err.message}") from None
