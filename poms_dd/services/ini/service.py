"""Campaign INI import and export (SPEC §2.13), compatible with POMS campaign files.

``CampaignIniService(session, actor)``:

* ``export_text(experiment, campaign_id)`` → ``(campaign, text)``: deterministic text (stages in
  dependency order, ties by name; every key written, in a fixed order; ``export.py``), so export → import →
  export gives the same bytes.
* ``import_text(experiment, text, replace=False)`` → :class:`ImportResult`: checks the whole file
  first and raises ``InvalidInput`` whose ``field_errors`` maps ``"[section] key"`` to every message; nothing
  is written then.  Otherwise creates the campaign (or, with ``replace``, updates the existing one of that
  name) with its stages, dependencies and launch templates in one transaction, audited.

The file format and key names are described in ``config/example_campaign.ini`` and in
``schema.py``/``plan.py``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ...errors import Conflict, InvalidInput, NotFound
from ...models import Campaign, CampaignStage, Experiment, LaunchTemplate, StageDependency, Submission
from ...permissions import Actor
from .. import audit
from ..campaigns.templates import LaunchTemplateService, stage_label
from ..scope import Scope
from .format import Problem, where
from .model import CampaignPlan
from .export import render, snapshot
from .plan import build_plan



@dataclass
class ImportResult:
    campaign: Campaign
    created: bool
    warnings: list[str] = field(default_factory=list)


def _field_errors(problems: list[Problem]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for p in problems:
        out.setdefault(p.where, []).append(p.message)
    return out


class CampaignIniService:
    """Import/export of campaign INI files; checks permissions and owns the transaction."""

    def __init__(self, session: Session, actor: Actor, scope: Scope | None = None):
        self.session = session
        self.actor = actor
        self.scope = scope or Scope(session, actor)
        self.templates = LaunchTemplateService(session, actor, self.scope)

    def authorize_import(self, experiment: str) -> Experiment:
        """The experiment, if the actor may import campaigns into it (``campaign.create``); else raises
        NotAuthenticated/NotFound/PermissionDenied."""
        return self.scope.experiment(experiment, "campaign.create")

    def campaign_id(self, experiment: str, name: str) -> int:
        """The id of campaign ``name``.  Raises NotFound, or the permission errors of ``experiment.view``."""
        exp = self.scope.experiment(experiment)
        cid = self.session.scalar(select(Campaign.id).where(Campaign.experiment_id == exp.id, Campaign.name == name))
        if cid is None:
            raise NotFound(f"Experiment {exp.name} has no campaign named {name!r}.")
        return cid

    def export_text(self, experiment: str, campaign_id: int) -> tuple[Campaign, str]:
        """Raises NotAuthenticated/NotFound/PermissionDenied (permissions), NotFound (no such campaign)."""
        campaign = self.scope.campaign_in(experiment, campaign_id)
        return campaign, render(campaign)

    def import_text(self, experiment: str, text: str, *, replace: bool = False) -> ImportResult:
        """Import a campaign file.  Raises InvalidInput (every problem, nothing saved), Conflict (a concurrent
        change), NotAuthenticated/NotFound/PermissionDenied (permissions)."""
        exp = self.authorize_import(experiment)
        plan, problems = build_plan(text, exp.name)
        existing = None
        if plan.name:
            existing = self.session.scalar(select(Campaign).where(Campaign.experiment_id == exp.id,
                                                                  Campaign.name == plan.name))
        if existing is not None and not replace:
            problems.append(Problem("[campaign] name", f"experiment {exp.name} already has a campaign named "
                                    f"{plan.name!r}; import with replace (--replace, or tick 'Replace') to update "
                                    "it, or choose another name."))
        if existing is not None and replace:
            self.scope.check("campaign.edit", exp.id)
            problems += self._removal_problems(existing, plan)
        roles = {s.values.get("role") for s in plan.stages}
        roles |= {s.role for s in existing.stages} if existing is not None and replace else set()
        for role in sorted(r for r in roles if r):
            self.scope.check("stage.edit", exp.id, stage_role=role)
        templates = self._templates(exp, plan, existing, replace, problems)
        external = self._external_providers(exp, plan, problems)
        if problems:
            raise InvalidInput(f"The campaign file has {len(problems)} problem{'s' if len(problems) > 1 else ''}; "
                               "nothing was imported.", field_errors=_field_errors(problems))
        try:
            campaign, created = self._write(exp, plan, existing, templates, external)
        except IntegrityError:
            self.session.rollback()
            raise Conflict("The campaign or one of its launch templates was changed by someone else at the same "
                           "time; import the file again.") from None
        return ImportResult(campaign, created, plan.warnings)

    def _removal_problems(self, existing: Campaign, plan: CampaignPlan) -> list[Problem]:
        keep = {s.name for s in plan.stages}
        problems = []
        for st in existing.stages:
            if st.name in keep:
                continue
            count = self.session.scalar(select(func.count()).select_from(Submission)
                                        .where(Submission.stage_id == st.id))
            if count:
                problems.append(Problem("[campaign] campaign_stage_list", f"stage {st.name!r} has {count} "
                                        "submission(s) and cannot be removed by an import; keep its section."))
        return problems

    def _external_providers(self, exp: Experiment, plan: CampaignPlan,
                            problems: list[Problem]) -> dict[str, CampaignStage]:
        """``CAMPAIGN/STAGE`` providers → the stages of other campaigns of the experiment."""
        out: dict[str, CampaignStage] = {}
        in_file = {s.name for s in plan.stages}
        for sp in plan.stages:
            for provider, _, label in sp.dependencies:
                if provider in in_file or provider in out:
                    continue
                camp_name, _, stage_name = provider.rpartition("/")
                stage = self.session.scalar(
                    select(CampaignStage).join(Campaign).where(Campaign.experiment_id == exp.id,
                                                               Campaign.name == camp_name,
                                                               Campaign.name != plan.name,
                                                               CampaignStage.name == stage_name))
                if stage is None:
                    problems.append(Problem(label, f"experiment {exp.name} has no other campaign {camp_name!r} "
                                            f"with a stage {stage_name!r}."))
                else:
                    out[provider] = stage
        return out

    def _templates(self, exp: Experiment, plan: CampaignPlan, existing: Campaign | None, replace: bool,
                   problems: list[Problem]) -> dict[str, LaunchTemplate | None]:
        """name → existing row (None: create).  Records problems for missing or conflicting templates and for
        changes that would reach stages of other campaigns; raises PermissionDenied for a change of a template
        that production stages use when the actor is not a production member."""
        out: dict[str, LaunchTemplate | None] = {}
        for name, tp in plan.templates.items():
            row = self.session.scalar(select(LaunchTemplate).where(LaunchTemplate.experiment_id == exp.id,
                                                                   LaunchTemplate.name == name))
            out[name] = row
            if not tp.defined and row is None:
                problems.append(Problem(tp.ref, f"no [login_setup]/[job_type] sections for {name!r} in the file and "
                                        f"no launch template named {name!r} in experiment {exp.name}."))
            if not tp.defined or row is None or not self.templates.differs(row, tp.values):
                continue
            self.templates.check_change(exp, row)
            outside = self.templates.outside_users(row, existing.id if existing is not None and replace else None)
            if outside:
                problems.append(Problem(where("login_setup", name), f"launch template {name!r} is also used by "
                                        f"{', '.join(stage_label(st) for st in outside)}; an import does not change "
                                        "the command of other campaigns' stages. Rename the [login_setup]/"
                                        "[job_type] sections to create a template of your own."))
            elif not replace:
                problems.append(Problem(where("login_setup", name), f"experiment {exp.name} already has a launch "
                                        f"template named {name!r} with different settings; import with replace to "
                                        "overwrite it, or rename the [login_setup]/[job_type] sections."))
        return out

    def _write(self, exp: Experiment, plan: CampaignPlan, existing: Campaign | None,
               templates: dict[str, LaunchTemplate | None],
               external: dict[str, CampaignStage]) -> tuple[Campaign, bool]:
        s = self.session
        before = snapshot(existing) if existing is not None else None
        campaign = existing or Campaign(experiment_id=exp.id, created_by_id=self.actor.user_id)
        for key, value in plan.values.items():
            setattr(campaign, key, value)
        s.add(campaign)
        rows: dict[str, LaunchTemplate] = {}
        for name, row in templates.items():
            tp = plan.templates[name]
            row = row or LaunchTemplate(experiment_id=exp.id, name=name)
            if tp.defined:
                self.templates.apply(exp, row, tp.values)
            rows[name] = row
        for st in campaign.stages:
            st.dependencies.clear()
        s.flush()
        by_name = {st.name: st for st in campaign.stages}
        kept = {p.name for p in plan.stages}
        for st in [st for st in campaign.stages if st.name not in kept]:
            campaign.stages.remove(st)
        for sp in plan.stages:
            st = by_name.get(sp.name)
            if st is None:
                st = CampaignStage(name=sp.name, owner_id=self.actor.user_id)
                campaign.stages.append(st)
            for cursor, split in (("split_cursor", "split_type"), ("test_split_cursor", "test_split_type")):
                if getattr(st, split) != sp.values.get(split):
                    setattr(st, cursor, {})
            for key, value in sp.values.items():
                setattr(st, key, value)
            st.launch_template = rows[sp.template] if sp.template else None
            by_name[sp.name] = st
        s.flush()
        for sp in plan.stages:
            for provider, pattern, _ in sp.dependencies:
                target = by_name[provider] if provider in by_name else external[provider]
                by_name[sp.name].dependencies.append(StageDependency(provider=target, file_pattern=pattern))
        s.flush()
        after = snapshot(campaign)
        audit.record(s, self.actor, "campaign.import", "campaign", campaign.id,
                     experiment_id=exp.id, before=before, after=after,
                     summary=f"{'replaced' if existing else 'imported'} campaign {campaign.name} from an INI file "
                             f"({len(plan.stages)} stage(s))")
        s.commit()
        return campaign, existing is None
