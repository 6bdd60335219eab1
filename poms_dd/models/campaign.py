"""Campaigns, stages, stage dependencies and launch templates (SPEC §2, §3)."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (BigInteger, Boolean, CheckConstraint, DateTime, ForeignKey, Integer, String, Text,
                        UniqueConstraint)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, utcnow
from .experiment import Experiment, User
from .vocab import (AutoRecovery, CampaignState, CompletionType, DataHandlingService, Executor, StageRole,
                    one_of)


def dd_limits() -> tuple[CheckConstraint, ...]:
    """The DD settings' ranges, shared by campaigns (defaults) and stages (overrides)."""
    return (CheckConstraint("dd_worker_timeout IS NULL OR dd_worker_timeout >= 0", name="worker_timeout"),
            CheckConstraint("dd_idle_timeout IS NULL OR dd_idle_timeout >= 0", name="idle_timeout"),
            CheckConstraint("dd_load_limit IS NULL OR dd_load_limit > 0", name="load_limit"))


class LaunchTemplate(Base):
    """How to run a launch: a command template and where (local subprocess or ssh to a launch host)."""

    __tablename__ = "launch_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiment.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    executor: Mapped[str] = mapped_column(String(16), default=Executor.LOCAL)
    launch_host: Mapped[str | None] = mapped_column(String(200))
    launch_account: Mapped[str | None] = mapped_column(String(100))
    setup: Mapped[str] = mapped_column(Text, default="")
    command_template: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    experiment: Mapped[Experiment] = relationship()

    __table_args__ = (
        UniqueConstraint("experiment_id", "name"),
        one_of("executor", Executor, name="executor"),
    )


class Campaign(Base):
    """A processing campaign of one experiment."""

    __tablename__ = "campaign"

    id: Mapped[int] = mapped_column(primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiment.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    data_handling_service: Mapped[str] = mapped_column(String(32), default=DataHandlingService.SAM)
    keywords: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    tags: Mapped[list[str]] = mapped_column(JSONB, default=list)
    dd_worker_timeout: Mapped[int | None] = mapped_column(Integer)
    dd_idle_timeout: Mapped[int | None] = mapped_column(Integer)
    dd_virtual: Mapped[bool] = mapped_column(Boolean, default=False)
    dd_load_limit: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default=CampaignState.ACTIVE)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    experiment: Mapped[Experiment] = relationship()
    created_by: Mapped[User | None] = relationship()
    stages: Mapped[list["CampaignStage"]] = relationship(
        back_populates="campaign", cascade="all, delete-orphan", order_by="CampaignStage.id")

    __table_args__ = (
        UniqueConstraint("experiment_id", "name"),
        one_of("data_handling_service", DataHandlingService, name="data_handling_service"),
        one_of("state", CampaignState, name="state"),
        *dd_limits(),
    )


class CampaignStage(Base):
    """A stage of a campaign.  DD stages use a query XOR a project id (SPEC §2.2–§2.4)."""

    __tablename__ = "campaign_stage"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), default=StageRole.ANALYSIS)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    sam_dataset: Mapped[str | None] = mapped_column(String(500))
    data_dispatcher_dataset_query: Mapped[str | None] = mapped_column(Text)
    data_dispatcher_project_id: Mapped[int | None] = mapped_column(BigInteger)
    split_type: Mapped[str | None] = mapped_column(String(500))
    split_cursor: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    test_split_type: Mapped[str | None] = mapped_column(String(500))
    test_split_cursor: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    dd_worker_timeout: Mapped[int | None] = mapped_column(Integer)
    dd_idle_timeout: Mapped[int | None] = mapped_column(Integer)
    dd_virtual: Mapped[bool | None] = mapped_column(Boolean)
    dd_load_limit: Mapped[int | None] = mapped_column(Integer)
    completion_type: Mapped[str] = mapped_column(String(16), default=CompletionType.COMPLETE)
    completion_pct: Mapped[int] = mapped_column(Integer, default=95)
    output_file_patterns: Mapped[str] = mapped_column(String(500), default="%")
    output_ancestor_depth: Mapped[int] = mapped_column(Integer, default=1)
    software_version: Mapped[str] = mapped_column(String(100), default="")
    job_config: Mapped[str] = mapped_column(String(500), default="")
    param_overrides: Mapped[list[Any]] = mapped_column(JSONB, default=list)
    test_param_overrides: Mapped[list[Any]] = mapped_column(JSONB, default=list)
    auto_recovery: Mapped[str] = mapped_column(String(16), default=AutoRecovery.NONE)
    launch_template_id: Mapped[int | None] = mapped_column(ForeignKey("launch_template.id", ondelete="SET NULL"))
    hold: Mapped[bool] = mapped_column(Boolean, default=False)
    cron_schedule: Mapped[str | None] = mapped_column(String(100))
    # Set when a launch found every slice launched: the schedule stays configured but does not run, and the
    # stage page shows why.  Cleared by a split reset.
    schedule_disabled_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    campaign: Mapped[Campaign] = relationship(back_populates="stages")
    owner: Mapped[User | None] = relationship()
    launch_template: Mapped[LaunchTemplate | None] = relationship()
    dependencies: Mapped[list["StageDependency"]] = relationship(
        back_populates="consumer", cascade="all, delete-orphan",
        foreign_keys="StageDependency.consumer_stage_id", order_by="StageDependency.id")

    __table_args__ = (
        UniqueConstraint("campaign_id", "name"),
        one_of("role", StageRole, name="role"),
        CheckConstraint("NOT (data_dispatcher_dataset_query IS NOT NULL AND data_dispatcher_project_id IS NOT NULL)",
                        name="query_xor_project"),
        CheckConstraint("data_dispatcher_project_id IS NULL OR data_dispatcher_project_id > 0", name="project_id"),
        *dd_limits(),
        CheckConstraint("completion_pct BETWEEN 0 AND 100", name="completion_pct"),
        one_of("completion_type", CompletionType, name="completion_type"),
        CheckConstraint("output_ancestor_depth >= 1", name="ancestor_depth"),
        one_of("auto_recovery", AutoRecovery, name="auto_recovery"),
    )


class StageDependency(Base):
    """The consumer stage runs on the outputs of the provider stage matching ``file_pattern``."""

    __tablename__ = "stage_dependency"

    id: Mapped[int] = mapped_column(primary_key=True)
    consumer_stage_id: Mapped[int] = mapped_column(ForeignKey("campaign_stage.id", ondelete="CASCADE"))
    provider_stage_id: Mapped[int] = mapped_column(ForeignKey("campaign_stage.id", ondelete="CASCADE"))
    file_pattern: Mapped[str] = mapped_column(String(500), default="%")

    consumer: Mapped[CampaignStage] = relationship(foreign_keys=[consumer_stage_id], back_populates="dependencies")
    provider: Mapped[CampaignStage] = relationship(foreign_keys=[provider_stage_id])

    __table_args__ = (
        UniqueConstraint("consumer_stage_id", "provider_stage_id"),
        CheckConstraint("consumer_stage_id <> provider_stage_id", name="not_self"),
    )
