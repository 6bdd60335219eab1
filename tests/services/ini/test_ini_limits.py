"""The cost of an INI import grows with the file, not with its square (issue "Hardening", item 9).

Before the fix, checking ``campaign_stage_list`` counted every name in the whole list once per name (and
looked names up in lists), so a 100k-name list took 85 s of CPU; these files are big enough that the old
code would take many seconds.  The tests assert behaviour only; ``benchmarks/ini_import_cost.py`` prints
timings.
"""
from __future__ import annotations

from sqlalchemy import func, select

from factories import make_experiment, make_user
from poms_dd.models import AuditEvent, Campaign, CampaignStage
from poms_dd.permissions import Actor
from poms_dd.services.accounts.users import UserService

API = "/api/experiments/hypot/campaigns/import"


def big_file(listed: int, sections: int, query: str = "files from hypot:raw") -> str:
    names = [f"s{i}" for i in range(listed)]
    head = ("[campaign]\nname=big\ndata_handling_service=data_dispatcher\n"
            f"campaign_stage_list={','.join(names)}\n")
    return head + "".join(f"[campaign_stage {n}]\ndata_dispatcher_dataset_query={query}\n" for n in names[:sections])


def token_headers(session):
    hypot = make_experiment(session, "hypot")
    paula = make_user(session, "paula", roles={hypot: "production"})
    _, token = UserService(session, Actor.person(paula)).create_token(paula, "ini")
    return {"Authorization": f"Bearer {token}"}


def counts(session):
    return [session.scalar(select(func.count()).select_from(m)) for m in (Campaign, CampaignStage, AuditEvent)]


def test_a_huge_stage_list_without_sections_is_refused_with_a_summary(client, session):
    headers = token_headers(session)
    before = counts(session)
    r = client.post(API, data=big_file(100_000, 0).encode(), content_type="text/plain", headers=headers)
    assert r.status_code == 400
    messages = r.get_json()["field_errors"]["[campaign] campaign_stage_list"]
    assert messages[0] == "lists stage 's0' but the file has no [campaign_stage s0] section."
    assert len(messages) == 21 and messages[-1] == "... and 99980 more stage(s) like these."
    assert counts(session) == before


def test_many_listed_stages_with_sections_import(client, session):
    headers = token_headers(session)
    r = client.post(API, data=big_file(600, 600).encode(), content_type="text/plain", headers=headers)
    assert r.status_code == 201, r.get_data(as_text=True)[:500]
    assert len(r.get_json()["stages"]) == 600


def test_unlisted_sections_and_duplicates_are_summarised(client, session):
    headers = token_headers(session)
    text = big_file(2, 0) + "".join(f"[campaign_stage x{i}]\ndata_dispatcher_dataset_query=files from a:b\n"
                                    for i in range(30))
    text = text.replace("campaign_stage_list=s0,s1", "campaign_stage_list=s0,s1,s0,s1")
    r = client.post(API, data=text.encode(), content_type="text/plain", headers=headers)
    messages = r.get_json()["field_errors"]["[campaign] campaign_stage_list"]
    assert "lists stage 's0' more than once." in messages and "lists stage 's1' more than once." in messages
    assert "does not list stage 'x0' although [campaign_stage x0] is in the file; add it or remove the section." \
        in messages
    assert "... and 10 more stage(s) like these." in messages
