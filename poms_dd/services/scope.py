"""Finding the objects a request names, with the permission check, in one place.

Experiments are named by their name; campaigns and stages by id *within* their experiment, so an id of
another experiment is NotFound.  A non-member is told the experiment does not exist (the same message as for
a name that exists nowhere), so names of other experiments do not leak.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import permissions
from ..errors import NotFound
from ..models import Campaign, CampaignStage, Experiment
from ..permissions import Actor


def no_experiment(name: str) -> NotFound:
    return NotFound(f"No experiment {name!r}, or you are not a member of it.")


def experiment_named(session: Session, name: str) -> Experiment | None:
    return session.scalar(select(Experiment).where(Experiment.name == name))


class Scope:
    """Permission-checked lookups for one actor."""

    def __init__(self, session: Session, actor: Actor):
        self.session = session
        self.actor = actor

    def check(self, action: str, experiment_id: int | None = None, stage_role: str | None = None) -> None:
        """permissions.check for this actor."""
        permissions.check(self.actor, action, experiment_id, stage_role)

    def allowed(self, action: str, experiment_id: int | None = None, stage_role: str | None = None) -> bool:
        return permissions.allowed(self.actor, action, experiment_id, stage_role)

    def experiment(self, name: str, action: str = "experiment.view", stage_role: str | None = None) -> Experiment:
        """The experiment, if the actor may do ``action`` in it.

        Raises NotAuthenticated (nobody signed in), NotFound (no such experiment, or not a member),
        PermissionDenied (a member without the role).
        """
        exp = experiment_named(self.session, name)
        try:
            if exp is None:
                self.check("experiment.view", -1)       # nobody signed in: NotAuthenticated first
                raise no_experiment(name)
            self.check(action, exp.id, stage_role)
        except NotFound:
            raise no_experiment(name) from None
        return exp

    def campaign(self, exp: Experiment, campaign_id: int) -> Campaign:
        """Raises NotFound unless the campaign belongs to the experiment."""
        camp = self.session.get(Campaign, campaign_id)
        if camp is None or camp.experiment_id != exp.id:
            raise NotFound(f"Experiment {exp.name} has no campaign {campaign_id}.")
        return camp

    def stage(self, camp: Campaign, stage_id: int) -> CampaignStage:
        """Raises NotFound unless the stage belongs to the campaign."""
        stage = self.session.get(CampaignStage, stage_id)
        if stage is None or stage.campaign_id != camp.id:
            raise NotFound(f"Campaign {camp.name} has no stage {stage_id}.")
        return stage

    def campaign_in(self, experiment: str, campaign_id: int, action: str = "experiment.view") -> Campaign:
        return self.campaign(self.experiment(experiment, action), campaign_id)

    def stage_in(self, experiment: str, campaign_id: int, stage_id: int) -> CampaignStage:
        """The stage, visible to the actor (role checks on the stage are the caller's)."""
        return self.stage(self.campaign_in(experiment, campaign_id), stage_id)
