"""Submissions, their status history, and the DD task linking a submission to a DD project (SPEC §3)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (BigInteger, Boolean, CheckConstraint, DateTime, Float, ForeignKey, Index, Integer, String,
                        Text, UniqueConstraint)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, utcnow
from .campaign import CampaignStage
from .experiment import User
from .vocab import DataHandlingService, LaunchKind, ParentKind, SubmissionStatus, one_of



class Submission(Base):
    """One launch of a stage."""

    __tablename__ = "submission"

    id: Mapped[int] = mapped_column(primary_key=True)
    stage_id: Mapped[int] = mapped_column(ForeignKey("campaign_stage.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(32), default=SubmissionStatus.QUEUED)
    data_handling_service: Mapped[str] = mapped_column(String(32), default=DataHandlingService.DATA_DISPATCHER)
    launcher_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("submission.id", ondelete="SET NULL"))
    parent_kind: Mapped[str | None] = mapped_column(String(16))
    launch_kind: Mapped[str] = mapped_column(String(16), default=LaunchKind.STANDARD,
                                             server_default=LaunchKind.STANDARD.value)
    # The client's Idempotency-Key (API) or the launch form's one-time key: the same key → the same submission.
    request_key: Mapped[str | None] = mapped_column(String(200))
    launch_log: Mapped[str] = mapped_column(Text, default="")
    settings_snapshot: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    stage: Mapped[CampaignStage] = relationship()
    launcher: Mapped[User | None] = relationship()
    parent: Mapped["Submission | None"] = relationship(remote_side=[id])
    history: Mapped[list["SubmissionStatusEvent"]] = relationship(
        back_populates="submission", cascade="all, delete-orphan", order_by="SubmissionStatusEvent.id")
    dd_task: Mapped["DataDispatcherSubmission | None"] = relationship(
        back_populates="submission", uselist=False, cascade="all, delete-orphan")

    __table_args__ = (
        one_of("status", SubmissionStatus, name="status"),
        one_of("parent_kind", ParentKind, name="parent_kind", nullable=True),
        one_of("data_handling_service", DataHandlingService, name="data_handling_service"),
        one_of("launch_kind", LaunchKind, name="launch_kind"),
        UniqueConstraint("stage_id", "request_key"),
    )


class SubmissionStatusEvent(Base):
    """One status change of a submission: who, when, why."""

    __tablename__ = "submission_status_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(32))
    changed_by: Mapped[str] = mapped_column(String(100), default="system")
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    submission: Mapped[Submission] = relationship(back_populates="history")


class DataDispatcherSubmission(Base):
    """The DD task: one submission's link to one DD project, with the exact inputs used and cached progress.

    ``idempotency_key`` is unique: one slice of one stage can be recorded once (SPEC §4.4); it is
    ``<stage>:<launch kind>:<slice key>:<attempt>``.  Its ``id`` is the DD task id (``poms_task_id``).
    ``project_id`` is null until DD answered (a crash in between is reconciled through ``poms_task_id``).
    """

    __tablename__ = "data_dispatcher_submission"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id", ondelete="CASCADE"), unique=True)
    stage_id: Mapped[int] = mapped_column(ForeignKey("campaign_stage.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(300), unique=True)
    mql: Mapped[str] = mapped_column(Text, default="")
    split_type: Mapped[str | None] = mapped_column(String(500))
    split_slice: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    parameter: Mapped[str | None] = mapped_column(Text)
    worker_timeout: Mapped[int | None] = mapped_column(Integer)
    idle_timeout: Mapped[int | None] = mapped_column(Integer)
    virtual: Mapped[bool] = mapped_column(Boolean, default=False)
    load_limit: Mapped[int | None] = mapped_column(Integer)
    file_count: Mapped[int | None] = mapped_column(Integer)
    counts: Mapped[dict[str, int]] = mapped_column(JSONB, default=dict)
    pct_complete: Mapped[float] = mapped_column(Float, default=0.0)
    last_refreshed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    project_state: Mapped[str | None] = mapped_column(String(32))
    final_state: Mapped[str | None] = mapped_column(String(32))
    env: Mapped[dict[str, str]] = mapped_column(JSONB, default=dict, server_default="{}")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    submission: Mapped[Submission] = relationship(back_populates="dd_task")

    __table_args__ = (
        CheckConstraint("project_id IS NULL OR project_id > 0", name="project_id"),
        CheckConstraint("pct_complete BETWEEN 0 AND 100", name="pct_complete"),
    )


class SliceDelivery(Base):
    """One file of a frozen split slice (``drainingn``, ``stagedfiles``): the record that lets the next slice
    leave it out by looking up only the fids it considers (an index probe), whatever the stage's history.

    ``test`` and ``epoch`` say which cursor delivered it (the test cursor, and how many resets ago); a file
    counts as delivered while its submission is not a failed (or never started) launch.
    """

    __tablename__ = "slice_delivery"

    submission_id: Mapped[int] = mapped_column(ForeignKey("submission.id", ondelete="CASCADE"), primary_key=True)
    fid: Mapped[str] = mapped_column(String(64), primary_key=True)
    stage_id: Mapped[int] = mapped_column(ForeignKey("campaign_stage.id", ondelete="CASCADE"))
    test: Mapped[bool] = mapped_column(Boolean, default=False)
    epoch: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index("ix_slice_delivery_lookup", "stage_id", "test", "epoch", "fid"),)
