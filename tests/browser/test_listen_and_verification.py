"""The console's listen sessions page and a webhook's ownership state with "Verify now", on a stack
that requires verification (EndpointVerification=required)."""

import json

import pytest
from playwright.sync_api import expect

from eventsapi.harness.receiver import Receiver
from tests.browser.conftest import KEY, _open_page, call, create_webhook, sign_in
from tests.e2e.conftest import start_stack, stop_stack


@pytest.fixture(scope="module")
def required_stack():
    running = start_stack("EndpointVerification=required", key=KEY)
    yield running
    stop_stack(running)


@pytest.fixture
def page(browser, required_stack):
    context, opened, watch = _open_page(browser, required_stack)
    opened.watch = watch
    yield opened
    context.close()
    watch.assert_clean()


def echo(body: bytes) -> bytes:
    return json.loads(body)["data"].get("challenge", "ok").encode()


def test_listen_sessions_are_listed_and_can_be_ended(page, required_stack):
    status, session = call(required_stack, "POST", "/v1/events/listen", {"events": ["tool.executed"]})
    assert status == 201
    sign_in(page, required_stack)
    page.get_by_role("link", name="Listen").click()
    expect(page.get_by_role("heading", name="Listen sessions")).to_be_visible()
    row = page.locator(f"tr[data-session='{session['sessionId']}']")
    expect(row).to_contain_text("tool.executed")
    expect(row).to_contain_text("not yet")
    row.get_by_role("button", name="End").click()
    expect(page.get_by_text(f"Session {session['sessionId']} ended")).to_be_visible()
    expect(row).to_have_count(0)
    assert call(required_stack, "GET", "/v1/events/listen")[1]["sessions"] == []


def test_a_webhook_shows_its_ownership_and_verifies_now(page, required_stack):
    with Receiver() as receiver:
        webhook = create_webhook(required_stack, event="tool.executed", url=receiver.behave("/echo", answer=echo))
        sign_in(page, required_stack, f"#/webhooks/{webhook['id']}")
        expect(page.locator("#verification-state")).to_contain_text("Pending")
        expect(page.get_by_text("Off · unverified")).to_be_visible()
        page.get_by_role("button", name="Verify now").click()
        expect(page.get_by_text("Verified: the receiver echoed its challenge.")).to_be_visible()
        expect(page.locator("#verification-state")).to_contain_text("Verified")
        expect(page.get_by_text("Active", exact=True)).to_be_visible()
        [challenge] = receiver.at("/echo")
        assert challenge.headers["X-Webhook-Event"] == "webhook.verification"
