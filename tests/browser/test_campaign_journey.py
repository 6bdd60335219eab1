"""Campaign journey in a real browser: an analysis member of hypot creates a Data Dispatcher campaign and a stage
(field messages for a query *and* a project id, for a bad split type), then exports the campaign as INI,
imports an edited copy, and sees every problem of a broken file."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from factories import make_campaign, make_experiment, make_stage, make_user
from poms_dd.models import Campaign, CampaignStage, Experiment

QUERY = "files from hypot:raw where core.runs[any] >= 1000"


@pytest.fixture(scope="module")
def hypot(live_db):
    with live_db.session() as s:
        exp = make_experiment(s, "hypot", description="Hypothetical neutrino experiment")
        make_user(s, "alice", "alice-pw", roles={exp: "analysis"})
        s.commit()
        return exp.id


def field(page, label):
    """The form row (label, input, messages) of the field labelled exactly ``label``."""
    return page.locator(".form-field", has=page.get_by_label(label, exact=True))


def stage_rows(live_db, campaign_id):
    with live_db.session() as s:
        return s.scalars(select(CampaignStage).where(CampaignStage.campaign_id == campaign_id)).all()


def test_create_dd_campaign_and_stage_with_field_messages(live_server, live_db, page, sign_in, hypot):
    base, _ = live_server
    sign_in(page, "alice", "alice-pw")
    page.get_by_role("link", name="hypot", exact=True).click()
    expect(page.get_by_role("heading", name="Experiment hypot")).to_be_visible()
    page.get_by_role("link", name="New campaign").click()

    # The campaign form shows the chosen service's fields and disables the others, without a reload.
    service = page.get_by_label("Data handling service")
    worker_timeout = page.get_by_label("DD worker timeout (s)")
    expect(service).to_have_value("data_dispatcher")
    expect(worker_timeout).to_be_visible()
    expect(worker_timeout).to_be_enabled()
    service.select_option("sam")
    expect(worker_timeout).to_be_hidden()
    expect(worker_timeout).to_be_disabled()
    expect(page.locator('fieldset[data-service="sam"]')).to_be_visible()
    service.select_option("data_dispatcher")
    expect(worker_timeout).to_be_visible()
    expect(worker_timeout).to_be_enabled()
    expect(page.locator('fieldset[data-service="sam"]')).to_be_hidden()

    page.get_by_label("Campaign name").fill("reco2026")
    worker_timeout.fill("3600")
    page.get_by_role("button", name="Create campaign").click()
    expect(page.get_by_role("heading", name="Campaign reco2026")).to_be_visible()
    expect(page.get_by_text("Campaign reco2026 created.")).to_be_visible()
    expect(page.locator("dl.facts")).to_contain_text("Data Dispatcher")
    expect(page.locator("dl.facts")).to_contain_text("worker timeout 3600")
    campaign_id = int(re.search(r"/campaigns/(\d+)$", page.url).group(1))

    # A stage with both a query and a project id: messages next to both fields, nothing stored.
    page.get_by_role("link", name="Add stage").click()
    expect(page.get_by_role("heading", name="New stage")).to_be_visible()
    expect(page.get_by_label("SAM dataset", exact=True)).to_be_disabled()
    page.get_by_label("Stage name").fill("reco")
    query = page.get_by_label("Data Dispatcher query")
    project = page.get_by_label("Data Dispatcher project id", exact=True)
    query.fill(QUERY)
    project.fill("17")
    page.get_by_role("button", name="Create stage").click()
    both = "Give either an MQL query or a DD project id, not both"
    expect(field(page, "Data Dispatcher query").locator(".field-error")).to_contain_text(both)
    expect(field(page, "Data Dispatcher project id").locator(".field-error")).to_contain_text(both)
    expect(field(page, "Stage name").locator(".field-error")).to_have_count(0)
    expect(query).to_have_value(QUERY)                    # what was typed is kept
    assert stage_rows(live_db, campaign_id) == []

    # A bad split type: its own field message, still nothing stored.
    project.fill("")
    split = page.get_by_label("Split type", exact=True)
    split.fill("drainingm(5)")
    page.get_by_role("button", name="Create stage").click()
    expect(field(page, "Split type").locator(".field-error")).to_contain_text("Unknown split type 'drainingm'")
    expect(field(page, "Data Dispatcher project id").locator(".field-error")).to_have_count(0)
    assert stage_rows(live_db, campaign_id) == []

    # Fixed: query only, drainingn(5).
    split.fill("drainingn(5)")
    page.get_by_role("button", name="Create stage").click()
    expect(page.get_by_role("heading", name="Campaign reco2026")).to_be_visible()
    expect(page.get_by_text("Stage reco created.")).to_be_visible()
    row = page.locator("#stages tbody tr", has_text="reco")
    expect(row).to_contain_text(QUERY)
    expect(row).to_contain_text("drainingn(5)")
    [stage] = stage_rows(live_db, campaign_id)
    assert (stage.data_dispatcher_dataset_query, stage.data_dispatcher_project_id, stage.split_type,
            stage.sam_dataset) == (QUERY, None, "drainingn(5)", None)

    # Editing it with a bad split type shows the message and keeps the stored one.
    row.get_by_role("link", name="Edit").click()
    expect(page.get_by_role("heading", name="Edit stage reco")).to_be_visible()
    page.get_by_label("Split type", exact=True).fill("nfiles(0)")
    page.get_by_role("button", name="Save stage").click()
    expect(field(page, "Split type").locator(".field-error")).to_be_visible()
    assert stage_rows(live_db, campaign_id)[0].split_type == "drainingn(5)"


BROKEN_INI = """\
[campaign]
name=broken_campaign
state=Sleeping
data_handling_service=data_dispatcher
campaign_stage_list=reco
colour=blue

[campaign_stage reco]
data_dispatcher_dataset_query=files from hypot:raw
data_dispatcher_project_id=12
test_cs_split_type=drainingn(x)
"""


def test_export_import_and_broken_ini(live_server, live_db, page, sign_in, hypot):
    base, _ = live_server
    with live_db.session() as s:
        camp = make_campaign(s, s.get(Experiment, hypot), "ana2026", dd_worker_timeout=7200)
        make_stage(s, camp, "ana", data_dispatcher_dataset_query=QUERY, split_type="drainingn(5)")
        s.commit()
        campaign_id = camp.id
    sign_in(page, "alice", "alice-pw", path=f"/experiments/hypot/campaigns/{campaign_id}")
    expect(page.get_by_role("heading", name="Campaign ana2026")).to_be_visible()

    with page.expect_download() as info:
        page.get_by_role("link", name="Export INI").click()
    download = info.value
    assert download.suggested_filename == "ana2026.ini"
    exported = open(download.path(), encoding="utf-8").read()
    assert re.search(r"(?m)^data_handling_service\s*=\s*data_dispatcher$", exported)
    assert re.search(r"(?m)^cs_split_type\s*=\s*drainingn\(5\)$", exported)
    assert "[campaign_stage ana]" in exported

    edited, n = re.subn(r"(?m)^name\s*=\s*ana2026$", "name=ana2026_copy", exported)
    assert n == 1, exported
    page.get_by_role("link", name="hypot", exact=True).first.click()
    page.get_by_role("link", name="Import a campaign INI file").click()
    expect(page.get_by_role("heading", name="Import a campaign into hypot")).to_be_visible()
    page.get_by_label("Campaign INI file").set_input_files(
        {"name": "ana2026_copy.ini", "mimeType": "text/plain", "buffer": edited.encode()})
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_role("heading", name="Campaign ana2026_copy")).to_be_visible()
    expect(page.get_by_text("Imported campaign ana2026_copy with 1 stage(s).")).to_be_visible()
    expect(page.locator("#stages")).to_contain_text(QUERY)
    expect(page.locator("#stages")).to_contain_text("drainingn(5)")
    page.get_by_role("link", name="hypot", exact=True).first.click()
    listing = page.locator("#campaigns")
    expect(listing.get_by_role("link", name="ana2026", exact=True)).to_be_visible()
    expect(listing.get_by_role("link", name="ana2026_copy", exact=True)).to_be_visible()

    # A broken file: every problem with its section and key; nothing saved.
    with live_db.session() as s:
        before = s.scalar(select(func.count()).select_from(Campaign))
    page.get_by_role("link", name="Import a campaign INI file").click()
    page.get_by_label("Campaign INI file").set_input_files(
        {"name": "broken.ini", "mimeType": "text/plain", "buffer": BROKEN_INI.encode()})
    page.get_by_role("button", name="Import").click()
    problems = page.get_by_role("alert")
    expect(problems).to_be_visible()
    for where in ("[campaign] state", "[campaign] colour", "[campaign_stage reco] test_cs_split_type",
                  "[campaign_stage reco] data_dispatcher_project_id"):
        expect(problems.locator("li", has_text=where)).to_have_count(1)
    expect(problems.locator("li", has_text="[campaign] colour")).to_contain_text("unknown key")
    with live_db.session() as s:
        assert s.scalar(select(func.count()).select_from(Campaign)) == before


def test_production_stage_is_read_only_and_deleting_a_stage_asks_first(live_server, live_db, page, sign_in, hypot):
    base, _ = live_server
    with live_db.session() as s:
        camp = make_campaign(s, s.get(Experiment, hypot), "mixed2026")
        prod = make_stage(s, camp, "prodreco", role="production", data_dispatcher_dataset_query=QUERY)
        mine = make_stage(s, camp, "mine", data_dispatcher_dataset_query=QUERY)
        s.commit()
        campaign_id, prod_id, mine_id = camp.id, prod.id, mine.id
    sign_in(page, "alice", "alice-pw", path=f"/experiments/hypot/campaigns/{campaign_id}")

    # The production stage opens read-only, with the reason, and offers nothing to submit.
    page.locator("#stages tbody tr", has_text="prodreco").get_by_role("link", name="View").click()
    expect(page.get_by_role("heading", name="Stage prodreco")).to_be_visible()
    expect(page.locator("#read-only-reason")).to_contain_text("You need the production role in this experiment "
                                                              "to change production stages (you have analysis).")
    expect(page.get_by_label("Data Dispatcher query")).to_be_disabled()
    expect(page.get_by_role("button", name="Save stage")).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("Delete stage"))).to_have_count(0)

    # Her own stage: the role menu offers analysis only; deleting asks first, and "Cancel" keeps the stage.
    page.goto(f"{base}/experiments/hypot/campaigns/{campaign_id}/stages/{mine_id}/edit")
    expect(page.get_by_label("Role", exact=True).locator("option")).to_have_text(["analysis"])
    questions = []

    def answer(dialog, accept):
        questions.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda d: answer(d, False))
    page.get_by_role("button", name="Delete stage mine").click()
    expect(page.get_by_role("heading", name="Edit stage mine")).to_be_visible()
    assert questions == ["Delete stage mine of campaign mixed2026? This cannot be undone."]
    assert {s.name for s in stage_rows(live_db, campaign_id)} == {"prodreco", "mine"}
    page.once("dialog", lambda d: answer(d, True))
    page.get_by_role("button", name="Delete stage mine").click()
    expect(page.get_by_text("Stage deleted.")).to_be_visible()
    assert {s.name for s in stage_rows(live_db, campaign_id)} == {"prodreco"}
    assert prod_id
