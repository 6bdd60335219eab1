"""The permission table: membership hides other experiments, roles gate production stages, admins administer."""
import pytest

from poms_dd import permissions
from poms_dd.permissions import Actor
from poms_dd.errors import NotAuthenticated, NotFound, PermissionDenied
from factories import make_experiment, make_user


@pytest.fixture
def world(session):
    a, b = make_experiment(session, "expa"), make_experiment(session, "expb")
    return {
        "a": a, "b": b,
        "ana": make_user(session, "ana", roles={a: "analysis"}),
        "prod": make_user(session, "prod", roles={a: "production"}),
        "boss": make_user(session, "boss", roles={a: "superuser"}),
        "root": make_user(session, "root", superuser=True),
    }


def test_non_member_sees_nothing(world):
    with pytest.raises(NotFound):
        permissions.check(Actor.person(world["ana"]), "experiment.view", world["b"].id)


def test_analysis_member_cannot_touch_production_stage(world):
    permissions.check(Actor.person(world["ana"]), "stage.edit", world["a"].id, stage_role="analysis")
    with pytest.raises(PermissionDenied, match="production role"):
        permissions.check(Actor.person(world["ana"]), "stage.launch", world["a"].id, stage_role="production")
    permissions.check(Actor.person(world["prod"]), "stage.launch", world["a"].id, stage_role="production")


def test_onboarding_is_for_global_superusers_only(world):
    with pytest.raises(PermissionDenied):
        permissions.check(Actor.person(world["boss"]), "experiment.onboard")
    permissions.check(Actor.person(world["root"]), "experiment.onboard")
    permissions.check(Actor.person(world["boss"]), "experiment.members", world["a"].id)
    with pytest.raises(PermissionDenied):
        permissions.check(Actor.person(world["prod"]), "experiment.members", world["a"].id)


def test_anonymous_and_inactive_users_are_refused(world, session):
    with pytest.raises(NotAuthenticated):
        permissions.check(Actor.anonymous(), "experiment.view", world["a"].id)
    world["prod"].active = False
    assert not permissions.allowed(Actor.person(world["prod"]), "experiment.view", world["a"].id)
    assert permissions.allowed(Actor.person(world["root"]), "experiment.view", world["b"].id)
