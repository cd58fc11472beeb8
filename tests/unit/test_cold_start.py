"""Each function imports only what it uses: the heavy modules a cold start must not pay for, per
handler (the figures are in `make bench`; this keeps them from creeping back)."""

import json
import subprocess
import sys

import pytest

from eventsapi.local.template import Template
from eventsapi.local.wiring import REGION, STACK_NAME, TEMPLATE

TEMPLATE_ = Template(TEMPLATE, stack_name=STACK_NAME, region=REGION)
NOBODY = {
    "aws_xray_sdk",  # not shipped at all: spans are OpenTelemetry's (events_core.tracing)
    "opentelemetry",  # the API and SDK: only when the stack exports spans (TRACE_EXPORT_ENDPOINT)
    "aws_lambda_powertools.event_handler",  # ~40 ms to route one route: events_core.http instead
    "aws_lambda_powertools.utilities.batch",  # ~30 ms for a try/except per record
    "requests",
    "asyncio",
    "fastjsonschema",  # compiled at the first event of a type that needs it (events_core.catalogue.validation)
}
DELIVERY_CODE = {
    "events_core.delivery.sender",
    "events_core.delivery.worker",
    "events_core.delivery.fanout",
    "events_core.delivery.signing",
    "standardwebhooks",
}
NOT_FOR = {
    **{name: NOBODY | DELIVERY_CODE for name in TEMPLATE_.function_logical_ids()},
    "TestWebhookFunction": NOBODY | {"events_core.delivery.worker", "events_core.delivery.fanout"},
    "DeliverFunction": NOBODY | {"events_core.delivery.fanout", "events_core.api_logs"},
    "FanoutFunction": NOBODY | (DELIVERY_CODE - {"events_core.delivery.fanout"}) | {"events_core.records.store"},
    "AuthorizerFunction": NOBODY | DELIVERY_CODE | {"events_core.webhooks", "events_core.history"},
    # Hands deliveries out signed with the session's secret.
    "NextListenDeliveriesFunction": NOBODY | (DELIVERY_CODE - {"events_core.delivery.signing", "standardwebhooks"}),
}
PROBE = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("handler", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(json.dumps(sorted(sys.modules)))
"""


def loaded_by(logical_id: str) -> set[str]:
    path = str(TEMPLATE_.function(logical_id).module_path)
    done = subprocess.run([sys.executable, "-c", PROBE, path], capture_output=True, text=True, check=True)
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("logical_id", TEMPLATE_.function_logical_ids())
def test_a_handler_does_not_load_what_it_does_not_use(logical_id):
    loaded = loaded_by(logical_id)
    unwanted = {name for name in NOT_FOR[logical_id] if name in loaded}
    assert unwanted == set(), f"{logical_id} imports {sorted(unwanted)}"


def test_the_check_notices_a_heavy_import():
    assert "events_core.delivery.sender" in loaded_by("TestWebhookFunction")
