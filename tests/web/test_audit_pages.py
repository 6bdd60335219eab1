"""The audit trail page: experiment superusers read who changed what; others are refused."""
from factories import login, make_campaign, make_experiment, make_user

from poms_dd.permissions import Actor
from poms_dd.services import audit


def _world(session):
    exp, other = make_experiment(session, "hypot"), make_experiment(session, "other")
    make_user(session, "boss", roles={exp: "superuser"})
    make_user(session, "ana", roles={exp: "analysis"})
    camp = make_campaign(session, exp)
    audit.record(session, Actor.system_actor("ana"), "campaign.update", "campaign", camp.id, experiment_id=exp.id,
                 before={"name": "old <b>name</b>", "tags": []}, after={"name": "reco2026", "tags": []},
                 summary="renamed")
    audit.record(session, Actor.system_actor("x"), "campaign.update", "campaign", 999, experiment_id=other.id,
                 before={"name": "secret-other"}, after={"name": "y"})
    session.commit()
    return exp


def test_superuser_sees_changes_with_before_and_after(client, session):
    _world(session)
    login(client, "boss")
    page = client.get("/experiments/hypot/audit")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "campaign.update" in body and "renamed" in body and "reco2026" in body
    assert "old &lt;b&gt;name&lt;/b&gt;" in body            # escaped, not rendered
    assert "tags" not in body                              # unchanged keys are not recorded
    assert "secret-other" not in body                      # another experiment's events stay hidden
    assert "Audit trail" in client.get("/experiments/hypot").get_data(as_text=True)
    doc = client.get("/api/experiments/hypot/audit?object_type=campaign").get_json()
    assert [e["after"] for e in doc["events"]] == [{"name": "reco2026"}] and doc["has_more"] is False
    assert client.get("/api/experiments/hypot/audit?object_type=experiment").get_json()["events"] == []


def test_analysis_member_and_outsider_are_refused(client, session):
    _world(session)
    login(client, "ana")
    assert client.get("/experiments/hypot/audit").status_code == 403
    assert "Audit trail" not in client.get("/experiments/hypot").get_data(as_text=True)
    assert client.get("/experiments/other/audit").status_code == 404
