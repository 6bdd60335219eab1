"""The composition root: every service for one database session and one actor, and the adapters.

Views, the CLI, the demo and the worker build services only here::

    services = Services(session, actor, settings=settings, registry=ext.adapters)
    services.campaigns.create_campaign("hypot", {...})

Each service is built on first use and then reused for this session and actor.  ``registry`` is the
per-process adapter cache (``AdapterRegistry``, held by the app's extension object or the worker), so logins
and tokens are reused across requests and jobs.
"""
from __future__ import annotations

import datetime as dt
from functools import cached_property
from typing import Callable

from sqlalchemy.orm import Session

from ..adapters import ExperimentAdapters
from ..db import utcnow
from ..errors import ConfigurationError
from ..models import Experiment
from ..permissions import Actor
from ..settings import Settings
from .accounts.signin import SignInService
from .accounts.throttle import Limits, SignInThrottle
from .accounts.users import UserService
from .audit import AuditService
from .campaigns.campaigns import CampaignService
from .campaigns.cloning import CloneService
from .campaigns.dependencies import DependencyService
from .campaigns.templates import LaunchTemplateService
from .ini.service import CampaignIniService
from .launch.command import CommandStep
from .launch.requests import LaunchQueue, LaunchRequestService
from .launch.runner import LaunchRunner
from .launch.split_control import SplitService
from .launch.submissions import SubmissionService
from .onboarding.connections import AdapterRegistry, ConnectionService
from .onboarding.service import OnboardingService
from .scope import Scope


class Services:
    """Hands out the services of one session and one actor (people and system actors alike)."""

    def __init__(self, session: Session, actor: Actor, *, settings: Settings | None,
                 registry: AdapterRegistry | None = None, queue: LaunchQueue | None = None,
                 clock: Callable[[], dt.datetime] = utcnow):
        self.session = session
        self.actor = actor
        self.settings = settings
        self.registry = registry if registry is not None else AdapterRegistry()
        self.queue = queue
        self.clock = clock

    def acting_as(self, actor: Actor) -> "Services":
        """The same session, settings, adapter cache and queue for another actor."""
        return Services(self.session, actor, settings=self.settings, registry=self.registry, queue=self.queue,
                        clock=self.clock)

    @cached_property
    def scope(self) -> Scope:
        return Scope(self.session, self.actor)

    @cached_property
    def connections(self) -> ConnectionService:
        """Raises ConfigurationError when built without settings (the encryption key and instance path)."""
        if self.settings is None:
            raise ConfigurationError("reaching the experiments' services needs the settings "
                                     "(POMS_DD_ENCRYPTION_KEY, POMS_DD_INSTANCE_PATH)")
        return ConnectionService.from_settings(self.settings, self.registry)

    def adapters(self, experiment: Experiment) -> ExperimentAdapters:
        """The experiment's MetaCat / DD / Rucio adapters.  Callers check permissions first."""
        return self.connections.adapters(experiment)

    @cached_property
    def signin(self) -> SignInService:
        return SignInService(self.session, self.clock)

    @cached_property
    def signin_throttle(self) -> SignInThrottle:
        return SignInThrottle(self.session, self.clock, Limits.from_settings(self.settings))

    @cached_property
    def users(self) -> UserService:
        return UserService(self.session, self.actor, self.clock)

    @cached_property
    def campaigns(self) -> CampaignService:
        return CampaignService(self.session, self.actor, self.scope,
                               adapters=self.adapters if self.settings is not None else None)

    @cached_property
    def dependencies(self) -> DependencyService:
        return DependencyService(self.session, self.actor, self.scope)

    @cached_property
    def cloning(self) -> CloneService:
        return CloneService(self.session, self.actor, self.scope)

    @cached_property
    def launch_templates(self) -> LaunchTemplateService:
        return LaunchTemplateService(self.session, self.actor, self.scope)

    @cached_property
    def ini(self) -> CampaignIniService:
        return CampaignIniService(self.session, self.actor, self.scope)

    @cached_property
    def onboarding(self) -> OnboardingService:
        return OnboardingService(self.session, self.actor, self.connections)

    @cached_property
    def audit(self) -> AuditService:
        return AuditService(self.session, self.actor)

    @cached_property
    def launches(self) -> LaunchRequestService:
        return LaunchRequestService(self.session, self.actor, self.scope, self.queue, self.adapters,
                                    hold_all=bool(self.settings and self.settings.global_hold))

    @cached_property
    def split_control(self) -> SplitService:
        """Preview, reset and cursor edits of stages' splits."""
        return SplitService(self.session, self.actor, self.scope, self.adapters, self.clock)

    @cached_property
    def submissions(self) -> SubmissionService:
        return SubmissionService(self.session, self.actor, self.scope, self.adapters, self.clock)

    def launch_runner(self) -> LaunchRunner:
        """The worker's side of launches (acting as this actor, normally the ``worker`` system actor)."""
        return LaunchRunner(self.session, self.actor, self.adapters,
                            CommandStep(self.session, self.actor, self.settings, self.clock))
