"""`eventsapi invoke` runs every sample event in events/ against the local stack, as sam local invoke would."""

import json
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT

FUNCTION_OF_EVENT = {
    "authorizer": "AuthorizerFunction",
    "create_webhook": "CreateWebhookFunction",
    "list_webhooks": "ListWebhooksFunction",
    "delete_webhook": "DeleteWebhookFunction",
    "list_event_types": "ListEventTypesFunction",
    "get_event_type": "GetEventTypeFunction",
    "validate_event_data": "ValidateEventDataFunction",
    "list_logs": "ListLogsFunction",
    "fanout": "FanoutFunction",
    "deliver": "DeliverFunction",
    "get_webhook": "GetWebhookFunction",
    "update_webhook": "UpdateWebhookFunction",
    "test_webhook": "TestWebhookFunction",
    "rotate_secret": "RotateSecretFunction",
    "list_deliveries": "ListDeliveriesFunction",
    "get_delivery": "GetDeliveryFunction",
    "redeliver": "RedeliverFunction",
    "recover": "RecoverFunction",
    "console": "ConsoleFunction",
    "ingest_api_logs": "IngestApiLogsFunction",
}


def _function_for(event_file: Path) -> str:
    return FUNCTION_OF_EVENT[event_file.stem.split(".")[0]]


@pytest.mark.parametrize("event_file", sorted((ROOT / "events").glob("*.json")), ids=lambda p: p.name)
def test_every_sample_event_runs(running_stack, event_file):
    if event_file.stem.startswith("authorizer"):
        # The authorizer's sample carries a fixed key: unknown here, so it must answer Unauthorized.
        done = running_stack.eventsapi("invoke", _function_for(event_file), "-e", str(event_file))
        assert done.returncode == 1
        assert json.loads(done.stdout)["errorMessage"] == "Unauthorized"
        return
    done = running_stack.eventsapi("invoke", _function_for(event_file), "-e", str(event_file))
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    if "awslogs" in json.loads(event_file.read_text()):
        # A CloudWatch Logs subscription's batch: one line written, one without a developer skipped.
        assert result == {"written": 1, "noDeveloper": 1, "malformed": 0}
    elif "Records" in json.loads(event_file.read_text()):
        assert result == {"batchItemFailures": []}
    else:
        assert result["statusCode"] < 500
        if not event_file.stem.startswith("console"):
            json.loads(result["body"])


def test_unknown_function_is_refused(running_stack):
    done = running_stack.eventsapi("invoke", "NoSuchFunction", "-e", str(ROOT / "events" / "list_logs.json"))
    assert done.returncode != 0
    assert "NoSuchFunction" in done.stderr
