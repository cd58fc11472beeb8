"""The console's settings page (the retention a developer chooses, a 400 next to its field) and the
"Expunge payload" action on a delivery."""

import re

from playwright.sync_api import expect

from tests.browser.conftest import call, create_webhook, sign_in
from tests.e2e.test_delivery_walkthrough import put_event


def test_retention_is_shown_with_its_defaults_saved_and_refused_next_to_its_field(console, stack):
    call(stack, "PATCH", "/v1/events/settings", {"retention": None})
    sign_in(console, stack, "#/settings")
    expect(console.get_by_role("heading", name="Settings")).to_be_visible()
    payload_days = console.get_by_label("Payloads (days)")
    expect(payload_days).to_have_value("30")
    expect(console.get_by_label("Delivery records (days)")).to_have_value("30")
    console.watch.expected.add(400)  # provoked on purpose: announced before the page logs it
    payload_days.fill("999")
    console.get_by_role("button", name="Save retention").click()
    expect(console.get_by_text(re.compile("retention.payloadDays: an integer from 0 to 30"))).to_be_visible()
    payload_days.fill("0")
    console.get_by_role("button", name="Save retention").click()
    expect(console.get_by_text(re.compile("^Saved."))).to_be_visible()
    assert call(stack, "GET", "/v1/events/settings")[1]["retention"]["payloadDays"] == 0
    call(stack, "PATCH", "/v1/events/settings", {"retention": None})


def test_a_delivered_payload_is_expunged_from_its_details(console, stack, receiver):
    call(stack, "PATCH", "/v1/events/settings", {"retention": None})
    url = receiver.behave("/expunge-me", status=200, body=b"thanks")
    webhook = create_webhook(stack, event="tool.executed", url=url, filter={"case": ["expunge"]})
    put_event(stack, {"developerId": "user_123", "data": {"case": "expunge", "toolName": "erp_secret"}})
    sign_in(console, stack, f"#/webhooks/{webhook['id']}")
    deliveries = console.locator("tr.delivery-row")
    expect(deliveries.first).to_contain_text("succeeded", timeout=20_000)
    deliveries.first.get_by_role("button", name="Details").click()
    detail = console.locator("tr.delivery-detail:not([hidden])")
    expect(detail.locator(".payload")).to_contain_text("erp_secret")
    detail.get_by_role("button", name="Expunge payload").click()
    console.get_by_role("dialog").get_by_role("button", name="Expunge").click()
    expect(detail.get_by_text("Expunged: the payload and answers were removed.")).to_be_visible(timeout=10_000)
    expect(detail.locator(".payload")).to_have_count(0)
    expect(detail.get_by_role("button", name="Expunge payload")).to_be_hidden()
    _, shown = call(stack, "GET", f"/v1/events/webhooks/{webhook['id']}/deliveries")
    assert shown["deliveries"][0]["expunged"] is True
