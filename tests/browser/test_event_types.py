"""The console's event types: each type's description, the fields of its data and an example, all
read from the API's catalogue, and "send this example" as a test to one of the developer's webhooks."""

import json

from playwright.sync_api import expect

from tests.browser.conftest import call, create_webhook, sign_in
from tests.client import wait_for


def test_the_catalogue_and_sending_an_example_to_a_webhook(console, stack, receiver, shots):
    webhook = create_webhook(stack, event="graph.synced", url=receiver.url("/catalogue"))
    _, declared = call(stack, "GET", "/v1/events/types/graph.synced")
    sign_in(console, stack)
    console.get_by_role("link", name="Event types").click()
    expect(console.get_by_role("heading", name="Event types", exact=True)).to_be_visible()
    cards = console.locator(".type-card")
    expect(cards).to_have_count(10)

    tool = console.locator("#type-tool\\.executed")
    expect(tool.get_by_role("heading", name="tool.executed v1")).to_be_visible()
    expect(tool).to_contain_text("A tool ran and succeeded")
    fields = tool.locator("table.type-fields tbody tr")
    expect(fields).to_have_count(4)
    expect(fields.first).to_contain_text("toolName")
    expect(fields.first).to_contain_text("string")
    expect(tool.locator(".type-example")).to_contain_text('"toolName": "erp_get_inventory"')

    graph = console.locator("#type-graph\\.synced")
    graph.get_by_label("Send as a test to").select_option(webhook["id"])
    graph.get_by_role("button", name="Send this example").click()
    expect(graph.locator(".notice")).to_contain_text("Test delivered")
    [post] = wait_for(lambda: receiver.at("/catalogue"))
    body = json.loads(post.body)
    assert body["event"] == "graph.synced" and body["data"] == {**declared["example"], "test": True}

    shots(console, "console-event-types.png")
    widths = console.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"the page is {widths[0]} px wide in a {widths[1]} px viewport"
    console.watch.assert_clean()
