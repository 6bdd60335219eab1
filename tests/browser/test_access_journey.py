"""Access journey in a real browser: an experimenter cannot see another experiment's campaign (404 that names
nothing of it) nor the admin pages (403); a signed-out visitor is sent to /login and back afterwards."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from factories import make_campaign, make_experiment, make_stage, make_user

HIDDEN_QUERY = "files from secretexp:blinded_box"


@pytest.fixture(scope="module")
def data(live_db):
    with live_db.session() as s:
        hypot = make_experiment(s, "hypot")
        other = make_experiment(s, "secretexp", description="Blinded analysis")
        make_user(s, "eve", "eve-pw", roles={hypot: "production"})
        mine = make_campaign(s, hypot, "eve_reco")
        make_stage(s, mine, "reco", data_dispatcher_dataset_query="files from hypot:raw")
        hidden = make_campaign(s, other, "blinded_campaign")
        make_stage(s, hidden, "box_opening", data_dispatcher_dataset_query=HIDDEN_QUERY)
        s.commit()
        return {"mine": mine.id, "hidden": hidden.id}


def test_experimenter_cannot_see_another_experiments_campaign_or_admin(live_server, page, sign_in, data):
    base, _ = live_server
    sign_in(page, "eve", "eve-pw")
    expect(page.get_by_role("link", name="hypot")).to_be_visible()
    expect(page.get_by_role("link", name="secretexp")).to_have_count(0)

    response = page.goto(f"{base}/experiments/secretexp/campaigns/{data['hidden']}")
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_contain_text("404")
    html = page.content()
    for leaked in ("blinded_campaign", "box_opening", HIDDEN_QUERY, "Blinded analysis"):
        assert leaked not in html
    # The same campaign id under her own experiment's name is not found either.
    response = page.goto(f"{base}/experiments/hypot/campaigns/{data['hidden']}")
    assert response.status == 404
    assert "blinded_campaign" not in page.content()

    response = page.goto(f"{base}/admin")
    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_contain_text("403")
    expect(page.get_by_role("link", name="Admin", exact=True)).to_have_count(0)      # no admin link in her navigation

    # Her own campaign opens normally.
    page.goto(f"{base}/experiments/hypot/campaigns/{data['mine']}")
    expect(page.get_by_role("heading", name="Campaign eve_reco")).to_be_visible()


def test_signed_out_visitor_is_sent_to_login_and_back(live_server, page, sign_in, data):
    base, _ = live_server
    target = f"/experiments/hypot/campaigns/{data['mine']}"
    page.goto(base + target)
    expect(page).to_have_url(re.compile(r"/login\?next="))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert "eve_reco" not in page.content()

    page.get_by_label("Username").fill("eve")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Unknown user or wrong password.")).to_be_visible()

    sign_in(page, "eve", "eve-pw", path=None)
    expect(page).to_have_url(base + target)
    expect(page.get_by_role("heading", name="Campaign eve_reco")).to_be_visible()
    expect(page.locator("#stages")).to_contain_text("files from hypot:raw")
