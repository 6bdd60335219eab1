"""Split journey in a real browser: a production member types a split type on the stage form and sees the
parser's verdict while typing (``split_form.js``), previews the stage's next slices from the campaign page, copies
a slice's MQL (``split_preview.js``), and resets the split after the confirmation page said what it resets."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from factories import make_campaign, make_stage, make_user
from poms_dd.models import CampaignStage, Experiment
from poms_dd.permissions import Actor

QUERY = "files from hypot:raw where core.runs[any] = 1001"


@pytest.fixture(scope="module")
def world(live_server, live_db, testbed):
    _, app = live_server
    ext = app.extensions["poms_dd"]
    with live_db.session() as s:
        ext.services(s, Actor.system_actor("test")).onboarding.create({
            "name": "hypot", "metacat_url": testbed.mc_url, "metacat_auth_url": testbed.mc_url + "/auth",
            "dd_url": testbed.dd_url, "dd_auth_url": testbed.dd_url + "/auth", "rucio_host": testbed.rucio_url,
            "rucio_account": "poms", "default_namespace": "hypot",
            "credentials": {svc: {"method": "password", "username": "poms", "secret": "poms"}
                            for svc in ("metacat", "data_dispatcher", "rucio")}})
        exp = s.scalar(select(Experiment).where(Experiment.name == "hypot"))
        make_user(s, "paula", "paula-pw", roles={exp: "production"})
        camp = make_campaign(s, exp, "reco2026")
        stage = make_stage(s, camp, "raw", role="production", split_type="nfiles(40)",
                           data_dispatcher_dataset_query=QUERY, split_cursor={"k": 1})
        s.commit()
        return {"campaign_id": camp.id, "stage_id": stage.id}


def test_split_check_preview_copy_and_reset(live_server, live_db, page, sign_in, world):
    base, _ = live_server
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    sign_in(page, "paula", "paula-pw")
    campaign = f"{base}/experiments/hypot/campaigns/{world['campaign_id']}"
    page.goto(f"{campaign}/stages/{world['stage_id']}/edit")
    check = page.locator("#split_type-check")
    expect(check).to_contain_text("nfiles(40)")                       # the stored value is checked on load
    split = page.get_by_label("Split type", exact=True)
    split.fill("nfiles(0)")
    expect(check.locator(".field-error")).to_contain_text("nfiles")
    split.fill("  NFiles( 25 ) ")
    expect(check.locator(".split-ok")).to_have_text("\u2713 nfiles(25) (as it will be saved)")
    expect(check).to_contain_text("When the query changes:")

    page.goto(campaign)
    page.locator(f"#stage-{world['stage_id']}").get_by_role("link", name="Preview").click()
    rows = page.locator("#preview-slices tbody tr")
    expect(rows).to_have_count(2)                                      # slices 1 and 2 of 100 files in 40s
    expect(rows.nth(1)).to_contain_text("last slice")
    expect(rows.nth(1)).to_contain_text("20")
    expect(page.locator("#preview-end")).to_contain_text("No more slices after these")
    copy = rows.nth(0).locator("button.copy")             # its name changes to "Copied" for a moment
    expect(copy).to_be_visible()
    expect(copy).to_have_text("Copy")
    copy.click()
    expect(copy).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == f"({QUERY}) ordered skip 40 limit 40"

    page.get_by_role("link", name="Reset the split").click()
    expect(page.locator("#reset-what")).to_contain_text("takes the first slice again")
    page.get_by_role("button", name="Reset the split").click()
    expect(page.locator(".flash-success")).to_contain_text("was reset")
    with live_db.session() as s:
        assert s.get(CampaignStage, world["stage_id"]).split_cursor == {"epoch": 1}
