"""The console at 1280 px: every column of the webhooks table, in every state, fits its card (the
newcomer review found the Actions clipped once a row said "Disabled · receiver gone")."""

from playwright.sync_api import expect

from eventsapi.local.template import physical_name
from eventsapi.local.wiring import STACK_NAME, emulator_session
from tests.browser.conftest import create_webhook, sign_in

# (disabledReason, failCount) as stored: every state the State column can show.
STATES = [(None, 0), ("manual", 0), ("gone", 1), ("failures", 26)]
MEASURE = """() => {
  const wrap = document.querySelector('.webhooks-table').closest('.table-wrap');
  const box = wrap.getBoundingClientRect();
  const outside = (element) => {
    const r = element.getBoundingClientRect();
    return r.right > box.right + 0.5 || r.left < box.left - 0.5;
  };
  return {
    scrollWidth: wrap.scrollWidth,
    clientWidth: wrap.clientWidth,
    headers: [...document.querySelectorAll('.webhooks-table th')].filter(outside).map((th) => th.textContent),
    clipped: [...document.querySelectorAll('.webhooks-table .row-actions button')].filter(outside).length,
    buttons: document.querySelectorAll('.webhooks-table .row-actions button').length,
  };
}"""


def put_in_state(stack, webhook: dict, reason: str | None, fail_count: int) -> None:
    if reason is None:
        return
    table = emulator_session().resource("dynamodb", endpoint_url=stack.endpoint)
    table.Table(physical_name(STACK_NAME, "WebhooksTable")).update_item(
        Key={"developerId": webhook["developerId"], "webhookId": webhook["id"]},
        UpdateExpression="SET enabled = :false, disabledReason = :reason, failCount = :fails REMOVE activeKey",
        ExpressionAttributeValues={":false": False, ":reason": reason, ":fails": fail_count},
    )


def test_every_column_of_the_webhooks_table_fits_at_1280_px_in_every_state(open_console, stack, receiver):
    long_path = "/webhooks/" + "tool-executed-receiver-" * 3
    for reason, fails in STATES:
        webhook = create_webhook(
            stack,
            event="workflow.completed",
            url=receiver.url(f"{long_path}{reason}"),
            description="Production ERP inventory sync (EU)",
        )
        put_in_state(stack, webhook, reason, fails)
    page = open_console(viewport={"width": 1280, "height": 800})
    sign_in(page, stack)
    expect(page.get_by_text("Disabled · receiver gone").first).to_be_visible()
    expect(page.get_by_text("Disabled · failures").first).to_be_visible()
    measured = page.evaluate(MEASURE)
    assert measured["scrollWidth"] <= measured["clientWidth"], measured
    assert measured["headers"] == [] and measured["buttons"] >= 2 * len(STATES) and measured["clipped"] == 0, measured
