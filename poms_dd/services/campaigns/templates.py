"""Launch templates: who may change them, and changing them with an audit trail (before/after).

``LaunchTemplateService(session, actor, scope)``.  A launch template holds the command a stage runs, so:

* a template that any production stage uses is changed only by production members (or superusers, or a
  system actor) — ``check_change`` raises PermissionDenied otherwise, naming the production stages;
* a change never reaches stages the caller did not mean: ``outside_users`` lists the stages of *other*
  campaigns that use the template, and INI import refuses to change such a template (see ``ini/service.py``).

Every path that changes a template (INI import today; an API, page or CLI later) goes through
:meth:`LaunchTemplateService.apply`, which checks and audits.
"""
from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...errors import PermissionDenied
from ...models import Campaign, CampaignStage, Experiment, LaunchTemplate, StageRole
from ...permissions import Actor
from .. import audit
from ..scope import Scope

TEMPLATE_FIELDS = ("executor", "launch_host", "launch_account", "setup", "command_template")


def template_snapshot(t: LaunchTemplate) -> dict[str, Any]:
    return {"name": t.name, **{f: getattr(t, f) for f in TEMPLATE_FIELDS}}


def stage_label(stage: CampaignStage) -> str:
    """``campaign/stage``, as people and INI files name a stage of another campaign."""
    return f"{stage.campaign.name}/{stage.name}"


class LaunchTemplateService:
    """Permission-checked, audited changes of launch templates."""

    def __init__(self, session: Session, actor: Actor, scope: Scope | None = None):
        self.session = session
        self.actor = actor
        self.scope = scope or Scope(session, actor)

    def users(self, template: LaunchTemplate) -> list[CampaignStage]:
        """The stages that use ``template``, by campaign and stage name."""
        if template.id is None:
            return []
        return list(self.session.scalars(
            select(CampaignStage).join(Campaign).where(CampaignStage.launch_template_id == template.id)
            .order_by(Campaign.name, CampaignStage.name)))

    def outside_users(self, template: LaunchTemplate, campaign_id: int | None) -> list[CampaignStage]:
        """The stages of campaigns other than ``campaign_id`` (None: any campaign) that use ``template``."""
        return [s for s in self.users(template) if s.campaign_id != campaign_id]

    def check_change(self, exp: Experiment, template: LaunchTemplate) -> None:
        """Raise PermissionDenied unless the actor may change ``template`` (production stages use it → the
        production role).  NotAuthenticated when nobody is signed in."""
        production = [s for s in self.users(template) if s.role == StageRole.PRODUCTION]
        if production and not self.scope.allowed("launch_template.edit_production", exp.id):
            names = ", ".join(stage_label(s) for s in production)
            raise PermissionDenied(f"Launch template {template.name!r} is used by production stages ({names}); "
                                   "only production members may change it. Use a template of another name for "
                                   "your stages.")

    @staticmethod
    def differs(template: LaunchTemplate, values: Mapping[str, Any]) -> bool:
        return any(getattr(template, f) != values[f] for f in TEMPLATE_FIELDS if f in values)

    def apply(self, exp: Experiment, template: LaunchTemplate, values: Mapping[str, Any]) -> None:
        """Set the template's fields from ``values`` (new templates are added), checked and audited; flushes,
        the caller commits.  Raises PermissionDenied (see :meth:`check_change`)."""
        created = template.id is None
        if not created and not self.differs(template, values):
            return
        if not created:
            self.check_change(exp, template)
        before = None if created else template_snapshot(template)
        for f in TEMPLATE_FIELDS:
            if f in values:
                setattr(template, f, values[f])
        self.session.add(template)
        self.session.flush()
        users = ", ".join(stage_label(s) for s in self.users(template)) or "no stage yet"
        audit.record(self.session, self.actor, "launch_template.create" if created else "launch_template.update",
                     "launch_template", template.id, experiment_id=exp.id, before=before,
                     after=template_snapshot(template),
                     summary=f"{'created' if created else 'changed'} launch template {template.name} "
                             f"(used by {users})")
