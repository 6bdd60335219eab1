"""What a launch processes (SPEC §4.1): the project-id override, else the split's next slice, else the stage
query — with the campaign keywords substituted.  Read-only: nothing is created here."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...errors import InvalidInput
from ...models import CampaignStage, DataDispatcherSubmission, LaunchKind, Submission, SubmissionStatus
from ..campaigns.keywords import substitute
from ..splits import NotLaunchable, Slice, parse_optional

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


class _Source:
    """MetaCat and our record of earlier slices, as a split reads them."""

    def __init__(self, session: Session, metacat, stage: CampaignStage, test: bool, epoch: int):
        self.session, self.metacat, self.stage, self.test, self.epoch = session, metacat, stage, test, epoch

    def fids(self, mql: str) -> Iterator[str]:
        return (f.fid for f in self.metacat.iter_files(mql))

    def delivered(self) -> set[str]:
        kinds = [LaunchKind.TEST] if self.test else [k for k in LaunchKind if k != LaunchKind.TEST]
        rows = self.session.scalars(
            select(DataDispatcherSubmission.split_slice).join(Submission)
            .where(DataDispatcherSubmission.stage_id == self.stage.id, Submission.launch_kind.in_(kinds),
                   Submission.status.in_(DELIVERING)))
        return {fid for s in rows if (s or {}).get("epoch", 0) == self.epoch for fid in (s or {}).get("fids", ())}


def resolve(session: Session, stage: CampaignStage, kind: str, metacat) -> Resolution | None:
    """The next thing the stage's launch of ``kind`` processes (None: the split is exhausted).

    Raises InvalidInput (a keyword or split problem, or a split type that cannot launch yet).
    """
    keywords = stage.campaign.keywords or {}
    test = kind == LaunchKind.TEST
    if stage.data_dispatcher_project_id:
        pid = int(stage.data_dispatcher_project_id)
        return Resolution(Slice(key=f"project={pid}", mql=f"project {pid}"), None, test, project_id=pid)
    query = _substituted(stage.data_dispatcher_dataset_query, keywords, "Data Dispatcher query")
    split_text = _substituted((stage.test_split_type if test else None) or stage.split_type, keywords, "split type")
    spec = parse_optional(split_text)
    if spec is None:
        return Resolution(Slice(key="query", mql=query), None, test)
    cursor: Mapping[str, Any] = dict((stage.test_split_cursor if test else stage.split_cursor) or {})
    source = _Source(session, metacat, stage, test, int(cursor.get("epoch", 0)))
    try:
        chosen = spec.split_type.next_slice(spec.params, query, cursor, source)
    except NotLaunchable as err:
        raise InvalidInput(str(err)) from None
    return Resolution(chosen, spec.text, test) if chosen is not None else None


def _substituted(text: str | None, keywords: Mapping[str, Any], label: str) -> str | None:
    if not text:
        return text
    try:
        return substitute(text, keywords)
    except InvalidInput as err:
        raise InvalidInput(f"The stage's {label} cannot be used: {err.message}") from None
