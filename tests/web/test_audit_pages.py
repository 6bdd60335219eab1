"""The audit trail page: experiment superusers read who changed what; others are refused."""
import re

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


def _many(session, exp, n):
    for i in range(n):
        audit.record(session, Actor.system_actor("ana"), "campaign.update", "campaign", i + 1, experiment_id=exp.id,
                     before={"n": i}, after={"n": i + 1}, summary=f"change number {i:03d}")
    session.commit()


def _summaries(body):
    return re.findall(r"change number (\d{3})", body)


def test_the_audit_trail_is_paged_with_page_links(client, session):
    exp = _world(session)
    _many(session, exp, 120)                              # 121 events with the one of _world: 3 pages of 50
    login(client, "boss")
    first = client.get("/experiments/hypot/audit").get_data(as_text=True)
    assert _summaries(first)[:2] == ["119", "118"] and len(_summaries(first)) == 50
    for n in (2, 3):
        assert f'href="?page={n}"' in first
    assert "page 1 of 3" in first
    third = client.get("/experiments/hypot/audit?page=3").get_data(as_text=True)
    assert _summaries(third) == ["019", "018", "017", "016", "015", "014", "013", "012", "011", "010", "009", "008",
                                 "007", "006", "005", "004", "003", "002", "001", "000"]
    assert "renamed" in third and 'rel="next"' not in third and 'href="?page=2"' in third
    page = client.get("/experiments/hypot/audit?page=4")                   # past the end: the last page
    assert page.status_code == 200 and "page 3 of 3" in page.get_data(as_text=True)
    assert "page 1 of 3" in client.get("/experiments/hypot/audit?page=").get_data(as_text=True)
    for wild in ("99999999999999999999", "1" * 5000, "0", "-1", "abc", "²"):  # a clear 400, never a 500
        page = client.get(f"/experiments/hypot/audit?page={wild}")
        assert page.status_code == 400 and "page must be a whole number" in page.get_data(as_text=True), wild
    doc = client.get("/api/experiments/hypot/audit?page=3").get_json()
    assert doc["has_more"] is False and [e["summary"] for e in doc["events"]][-1] == "renamed"
    filtered = client.get("/experiments/hypot/audit?object_type=campaign&page=2").get_data(as_text=True)
    assert 'href="?page=3&amp;object_type=campaign"' in filtered


def test_recorded_values_are_shown_as_json(client, session):
    exp = _world(session)
    audit.record(session, Actor.system_actor("boss"), "experiment.update", "experiment", exp.id,
                 experiment_id=exp.id, before={"ca_path": None, "verify_tls": True, "service_timeout": 60},
                 after={"ca_path": "/etc/ca", "verify_tls": False, "service_timeout": None})
    session.commit()
    login(client, "boss")
    body = client.get("/experiments/hypot/audit?object_type=experiment").get_data(as_text=True)
    rows = re.findall(r'<tr><th>(\w+)</th><td class="before">([^<]*)</td><td>→</td>\s*'
                      r'<td class="after">([^<]*)</td></tr>', body)
    cells = {key: (before, after) for key, before, after in rows}
    assert cells == {"ca_path": ("null", "&#34;/etc/ca&#34;"), "verify_tls": ("true", "false"),
                     "service_timeout": ("60", "null")}, cells
    assert "None" not in body and "False" not in body
