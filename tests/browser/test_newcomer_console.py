"""What a newcomer hit in the console: a dialog left open over the next page (its confirm acting
for a page that is gone), the event-type cards (padding, an index, "send as a test to" offering
only webhooks of that type), raw backticks shown as text, and times without their zone."""

import re

from playwright.sync_api import expect

from tests.browser.conftest import call, create_webhook, sign_in
from tests.browser.test_console import row_of

PAGES = ("#/webhooks", "#/types", "#/logs", "#/listen", "#/settings")


def test_a_page_change_closes_the_dialog_and_nothing_is_rotated(console, stack, receiver):
    url = receiver.behave("/back-button", status=200)
    webhook = create_webhook(stack, event="tool.failed", url=url)
    sign_in(console, stack)
    row_of(console, url).get_by_role("link", name="Open").click()
    console.get_by_role("button", name="Rotate secret").click()
    expect(console.get_by_role("dialog", name="Rotate the signing secret?")).to_be_visible()
    before = call(stack, "GET", f"/v1/events/webhooks/{webhook['id']}")[1]["updatedAt"]

    console.go_back()
    expect(console.get_by_role("heading", name=re.compile("^Webhooks"))).to_be_visible()
    expect(console.locator("dialog")).to_have_count(0)
    console.wait_for_timeout(500)
    assert call(stack, "GET", f"/v1/events/webhooks/{webhook['id']}")[1]["updatedAt"] == before


def test_event_type_cards_are_padded_indexed_and_offer_only_their_own_webhooks(console, stack, receiver):
    create_webhook(stack, event="tool.executed", url=receiver.url("/types-tool"))
    create_webhook(stack, event="app.installed", url=receiver.url("/types-app"))
    sign_in(console, stack, "#/types")
    expect(console.locator(".type-card")).to_have_count(10)

    index = console.get_by_role("navigation", name="Event types").get_by_role("link")
    expect(index).to_have_count(10)
    index.filter(has_text="app.installed").click()
    card = console.locator("#type-app\\.installed")
    expect(card).to_be_in_viewport()
    expect(console.get_by_role("heading", name="Event types", exact=True)).to_be_visible()  # still this page
    padding = card.evaluate("c => parseFloat(getComputedStyle(c).paddingLeft)")
    assert padding >= 12, f"the card's text sits {padding} px from its border"

    listed = call(stack, "GET", "/v1/events/webhooks")[1]["webhooks"]
    own = {hook["id"] for hook in listed if hook["event"] == "app.installed"}
    offered = card.get_by_label("Send as a test to").locator("option")
    assert set(offered.evaluate_all("options => options.map(o => o.value)")) == own


def test_no_raw_backticks_and_every_time_says_its_zone(console, stack):
    sign_in(console, stack)
    for page in PAGES:
        console.goto(f"{stack.api_url}/console{page}")
        console.wait_for_load_state("networkidle")
        console.wait_for_timeout(300)
        assert "`" not in console.locator("main").inner_text(), f"raw backticks on {page}"
    console.goto(f"{stack.api_url}/console#/logs")
    first = console.locator("td[data-label='Time'] time").first
    expect(first).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC([+-]\d+(:\d\d)?)?$"))


def test_a_read_only_key_sees_the_write_buttons_disabled(console, stack, receiver):
    url = receiver.behave("/read-only", status=200)
    webhook = create_webhook(stack, event="graph.synced", url=url)
    made = stack.eventsapi("--local", "keys", "create", "--developer", "user_123", "--scopes", "read")
    assert made.returncode == 0, made.stderr
    read_only = made.stdout.strip().splitlines()[-1]
    console.goto(f"{stack.api_url}/console#/webhooks/{webhook['id']}")
    console.get_by_label("API key").fill(read_only)
    console.get_by_role("button", name="Sign in").click()
    for name in ("Pause", "Send test", "Edit", "Rotate secret", "Delete"):
        button = console.get_by_role("button", name=name, exact=True)
        expect(button).to_be_disabled()
        assert "read-only" in (button.get_attribute("title") or "")
    console.goto(f"{stack.api_url}/console#/types")
    expect(console.locator(".send-example").first).to_be_disabled()
    assert call(stack, "GET", f"/v1/events/webhooks/{webhook['id']}")[1]["enabled"] is True
