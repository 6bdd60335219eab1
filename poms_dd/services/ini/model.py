"""The import plan: what a campaign INI file says the campaign, its stages, dependencies and launch
templates should look like (no database).  Built by ``plan.build_plan``, written by the import service."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_TEMPLATE_NAME = 100


@dataclass
class TemplatePlan:
    name: str
    values: dict[str, Any]          # executor, launch_host, launch_account, setup, command_template
    defined: bool = True            # False: not in the file; must already exist in the experiment
    ref: str = ""                   # where it is referenced (for problem reports)


@dataclass
class StagePlan:
    name: str
    values: dict[str, Any]          # CampaignStage attributes (not the launch template)
    template: str | None
    dependencies: list[tuple[str, str, str]] = field(default_factory=list)   # (provider, pattern, where)


@dataclass
class CampaignPlan:
    values: dict[str, Any] = field(default_factory=dict)
    stages: list[StagePlan] = field(default_factory=list)
    templates: dict[str, TemplatePlan] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.values.get("name", "")

    def stage(self, name: str) -> StagePlan | None:
        return next((s for s in self.stages if s.name == name), None)


def template_name(login_setup: str, job_type: str) -> str:
    return login_setup if login_setup == job_type else f"{job_type}@{login_setup}"
