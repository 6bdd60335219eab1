"""CampaignService: permissions, validation before storage, audit before/after, dependencies, cloning."""
import pytest
from sqlalchemy import func, select

from poms_dd.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from poms_dd.models import AuditEvent, Campaign, CampaignStage, StageDependency, Submission
from poms_dd.permissions import Actor
from poms_dd.services.factory import Services
from factories import make_campaign, make_experiment, make_stage, make_user


@pytest.fixture
def world(session):
    exp = make_experiment(session, "hypot")
    other = make_experiment(session, "dune")
    ana = make_user(session, "ana", roles={exp: "analysis"})
    prod = make_user(session, "prod", roles={exp: "production"})
    outsider = make_user(session, "bob", roles={other: "production"})
    return {"exp": exp, "other": other, "ana": ana, "prod": prod, "outsider": outsider}


def count(session, model):
    return session.scalar(select(func.count()).select_from(model))


def audits(session, action):
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def dd_campaign(session, world, name="reco2026", **kw):
    return Services(session, Actor.person(world["prod"]), settings=None).campaigns.create_campaign(
        "hypot", {"name": name, "data_handling_service": "data_dispatcher", **kw})


def test_create_campaign_and_stage_audited(session, world):
    svc = Services(session, Actor.person(world["ana"]), settings=None)
    camp = svc.campaigns.create_campaign("hypot", {"name": "reco2026", "data_handling_service": "data_dispatcher",
                                         "keywords": "ns = hypot\ntier = raw", "dd_load_limit": "4"})
    assert camp.keywords == {"ns": "hypot", "tier": "raw"} and camp.dd_load_limit == 4
    stage = svc.campaigns.create_stage("hypot", camp.id, {"name": "reco",
                                                "data_dispatcher_dataset_query": "files from %(ns)s:%(tier)s",
                                                "split_type": "DRAININGN( 5 )"})
    assert stage.split_type == "drainingn(5)" and stage.owner_id == world["ana"].id
    ev = audits(session, "stage.create")[-1]
    assert ev.actor == "ana" and ev.before is None and ev.after["split_type"] == "drainingn(5)"
    assert [p.text for p in svc.campaigns.stage_preview(stage) if p.field == "data_dispatcher_dataset_query"] == \
        ["files from hypot:raw"]
    assert [c.name for c in svc.campaigns.list_campaigns("hypot")] == ["reco2026"]


def test_query_and_project_id_both_given_stores_nothing(session, world):
    camp = dd_campaign(session, world)
    before = (count(session, CampaignStage), count(session, AuditEvent))
    with pytest.raises(InvalidInput) as exc:
        Services(session, Actor.person(world["prod"]), settings=None).campaigns.create_stage("hypot", camp.id, {
            "name": "reco", "data_dispatcher_dataset_query": "files from hypot:raw",
            "data_dispatcher_project_id": "12"})
    assert set(exc.value.field_errors) == {"data_dispatcher_dataset_query", "data_dispatcher_project_id"}
    assert (count(session, CampaignStage), count(session, AuditEvent)) == before


def test_update_stage_records_before_and_after_and_invalid_update_changes_nothing(session, world):
    camp = dd_campaign(session, world)
    svc = Services(session, Actor.person(world["prod"]), settings=None)
    stage = svc.campaigns.create_stage("hypot", camp.id, {"name": "reco", "data_dispatcher_dataset_query": "files from a:b"})
    svc.campaigns.update_stage("hypot", camp.id, stage.id, {"split_type": "nfiles(10)", "dd_worker_timeout": "600"})
    ev = audits(session, "stage.update")[-1]
    assert ev.before == {"split_type": None, "dd_worker_timeout": None}
    assert ev.after == {"split_type": "nfiles(10)", "dd_worker_timeout": 600}
    with pytest.raises(InvalidInput) as exc:
        svc.campaigns.update_stage("hypot", camp.id, stage.id, {"split_type": "mod(x)", "dd_worker_timeout": "5"})
    assert exc.value.field_errors == {"split_type": ["mod(m): m must be a positive integer, got 'x'."]}
    session.expire_all()
    assert session.get(CampaignStage, stage.id).dd_worker_timeout == 600
    assert len(audits(session, "stage.update")) == 1


def test_unique_names_are_field_messages(session, world):
    camp = dd_campaign(session, world)
    with pytest.raises(InvalidInput) as exc:
        dd_campaign(session, world)
    assert "already used" in exc.value.field_errors["name"][0]
    svc = Services(session, Actor.person(world["prod"]), settings=None)
    svc.campaigns.create_stage("hypot", camp.id, {"name": "reco", "data_dispatcher_dataset_query": "files from a:b"})
    with pytest.raises(InvalidInput) as exc:
        svc.campaigns.create_stage("hypot", camp.id, {"name": "reco", "data_dispatcher_dataset_query": "files from a:c"})
    assert list(exc.value.field_errors) == ["name"]


def test_other_experiment_is_hidden(session, world):
    camp = dd_campaign(session, world)
    svc = Services(session, Actor.person(world["outsider"]), settings=None)
    with pytest.raises(NotFound):
        svc.campaigns.get_campaign("hypot", camp.id)
    with pytest.raises(NotFound):
        svc.campaigns.update_campaign("hypot", camp.id, {"name": "x"})
    # the campaign id under the outsider's own experiment is not found either
    with pytest.raises(NotFound):
        svc.campaigns.get_campaign("dune", camp.id)
    with pytest.raises(NotFound):
        svc.campaigns.list_campaigns("no-such-experiment")


def test_analysis_user_cannot_create_or_edit_production_stage(session, world):
    camp = dd_campaign(session, world)
    svc = Services(session, Actor.person(world["ana"]), settings=None)
    with pytest.raises(PermissionDenied):
        svc.campaigns.create_stage("hypot", camp.id, {"name": "p", "role": "production",
                                            "data_dispatcher_dataset_query": "files from a:b"})
    stage = Services(session, Actor.person(world["prod"]), settings=None).campaigns.create_stage(
        "hypot", camp.id, {"name": "p", "role": "production", "data_dispatcher_dataset_query": "files from a:b"})
    with pytest.raises(PermissionDenied):
        svc.campaigns.update_stage("hypot", camp.id, stage.id, {"role": "analysis"})
    mine = svc.campaigns.create_stage("hypot", camp.id, {"name": "a", "data_dispatcher_dataset_query": "files from a:b"})
    with pytest.raises(PermissionDenied):
        svc.campaigns.update_stage("hypot", camp.id, mine.id, {"role": "production"})


def test_switching_service_must_suit_every_stage(session, world):
    camp = dd_campaign(session, world)
    svc = Services(session, Actor.person(world["prod"]), settings=None)
    svc.campaigns.create_stage("hypot", camp.id, {"name": "reco", "data_dispatcher_dataset_query": "files from a:b"})
    with pytest.raises(InvalidInput) as exc:
        svc.campaigns.update_campaign("hypot", camp.id, {"data_handling_service": "sam"})
    assert "Stage 'reco', Data Dispatcher query" in exc.value.field_errors["data_handling_service"][0]
    svc.campaigns.update_campaign("hypot", camp.id, {"name": "reco2026b", "tags": "nightly, test"})
    ev = audits(session, "campaign.update")[-1]
    assert ev.before == {"name": "reco2026", "tags": []} and ev.after == {"name": "reco2026b",
                                                                          "tags": ["nightly", "test"]}


def test_keyword_removal_blocked_when_a_stage_uses_it(session, world):
    camp = dd_campaign(session, world, keywords={"ns": "hypot"})
    svc = Services(session, Actor.person(world["prod"]), settings=None)
    svc.campaigns.create_stage("hypot", camp.id, {"name": "reco", "data_dispatcher_dataset_query": "files from %(ns)s:raw"})
    with pytest.raises(InvalidInput) as exc:
        svc.campaigns.update_campaign("hypot", camp.id, {"keywords": {}})
    assert "%(ns)s" in exc.value.field_errors["keywords"][0]


def test_dependencies_no_cycles_no_other_experiment(session, world):
    camp = dd_campaign(session, world)
    svc = Services(session, Actor.person(world["prod"]), settings=None)
    a, b, c = (svc.campaigns.create_stage("hypot", camp.id, {"name": n, "data_dispatcher_dataset_query": "files from x:y"})
               for n in "abc")
    svc.dependencies.add("hypot", camp.id, b.id, {"provider_stage_id": a.id, "file_pattern": "%.root"})
    svc.dependencies.add("hypot", camp.id, c.id, {"provider_stage_id": b.id})
    with pytest.raises(InvalidInput) as exc:
        svc.dependencies.add("hypot", camp.id, a.id, {"provider_stage_id": c.id})
    assert "cycle: a → c → b → a" in exc.value.field_errors["provider_stage_id"][0]
    with pytest.raises(InvalidInput, match="itself"):
        svc.dependencies.add("hypot", camp.id, a.id, {"provider_stage_id": a.id})
    with pytest.raises(InvalidInput, match="already depends"):
        svc.dependencies.add("hypot", camp.id, b.id, {"provider_stage_id": a.id})
    foreign = make_stage(session, make_campaign(session, world["other"], "theirs"), "x")
    with pytest.raises(InvalidInput, match="has no stage"):
        svc.dependencies.add("hypot", camp.id, a.id, {"provider_stage_id": foreign.id})
    other_camp = dd_campaign(session, world, name="ana2026")
    d = svc.campaigns.create_stage("hypot", other_camp.id, {"name": "d", "data_dispatcher_dataset_query": "files from x:y"})
    dep = svc.dependencies.add("hypot", other_camp.id, d.id, {"provider_stage_id": c.id})
    assert count(session, StageDependency) == 3
    svc.dependencies.remove("hypot", other_camp.id, d.id, dep.id)
    assert count(session, StageDependency) == 2
    assert audits(session, "stage.dependency.remove")[-1].before["provider"] == "c"


def test_clone_replaces_names_queries_keywords_and_copies_dependencies(session, world):
    camp = dd_campaign(session, world, keywords={"era": "run2026"})
    svc = Services(session, Actor.person(world["prod"]), settings=None)
    a = svc.campaigns.create_stage("hypot", camp.id, {"name": "reco-2026",
                                            "data_dispatcher_dataset_query": "files from hypot:raw-2026",
                                            "split_type": "nfiles(5)"})
    b = svc.campaigns.create_stage("hypot", camp.id, {"name": "ana-2026", "role": "production",
                                            "data_dispatcher_dataset_query": "files from %(era)s:x"})
    svc.dependencies.add("hypot", camp.id, b.id, {"provider_stage_id": a.id})
    session.get(CampaignStage, a.id).split_cursor = {"k": 3}
    copy = svc.cloning.clone("hypot", camp.id, {"replace_from": "2026", "replace_to": "2027"})
    assert copy.name == "reco2027" and copy.keywords == {"era": "run2027"}
    stages = {s.name: s for s in copy.stages}
    assert set(stages) == {"reco-2027", "ana-2027"}
    assert stages["reco-2027"].data_dispatcher_dataset_query == "files from hypot:raw-2027"
    assert stages["reco-2027"].split_cursor == {} and stages["ana-2027"].role == "production"
    assert [d.provider_stage_id for d in stages["ana-2027"].dependencies] == [stages["reco-2027"].id]
    assert audits(session, "campaign.clone")[-1].after["stages"] == ["reco-2027", "ana-2027"]
    with pytest.raises(PermissionDenied):
        Services(session, Actor.person(world["ana"]), settings=None).cloning.clone("hypot", camp.id, {"name": "mine"})
    with pytest.raises(InvalidInput) as exc:
        svc.cloning.clone("hypot", camp.id, {"replace_from": "2026", "replace_to": "2027"})
    assert "name" in exc.value.field_errors


def test_delete_stage_refused_when_it_has_submissions(session, world):
    camp = dd_campaign(session, world)
    svc = Services(session, Actor.person(world["prod"]), settings=None)
    a = svc.campaigns.create_stage("hypot", camp.id, {"name": "a", "data_dispatcher_dataset_query": "files from x:y"})
    b = svc.campaigns.create_stage("hypot", camp.id, {"name": "b", "data_dispatcher_dataset_query": "files from x:y"})
    session.add(Submission(stage_id=a.id))
    session.flush()
    with pytest.raises(Conflict):
        svc.campaigns.delete_stage("hypot", camp.id, a.id)
    svc.campaigns.delete_stage("hypot", camp.id, b.id)
    assert session.get(CampaignStage, b.id) is None
    assert audits(session, "stage.delete")[-1].before["name"] == "b"
    assert svc.campaigns.submission_counts("hypot") == {"queued": 1}


def test_unknown_fields_and_system_actor(session, world):
    svc = Services(session, Actor.system_actor("cli:op"), settings=None)
    camp = svc.campaigns.create_campaign("hypot", {"name": "c1"})
    assert camp.data_handling_service == "sam" and count(session, Campaign) == 1
    with pytest.raises(InvalidInput) as exc:
        svc.campaigns.create_stage("hypot", camp.id, {"name": "s", "colour": "red"})
    assert exc.value.field_errors == {"colour": ["Unknown stage field 'colour'."]}
    assert audits(session, "campaign.create")[-1].actor == "cli:op"
