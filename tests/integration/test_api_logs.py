"""Every call that reaches a handler is logged; reads follow the answer's size."""

from botocore.exceptions import ClientError

from events_core.api_logs import ApiCall, ApiLogStore
from events_core.clock import now_ms
from tests.builders import REFERENCE_WEBHOOK


def test_calls_are_logged_newest_first_with_the_reference_fields(stack):
    key = stack.key()
    stack.call("POST", "/v1/events/webhooks", key=key, body=REFERENCE_WEBHOOK)
    stack.call("POST", "/v1/events/webhooks", key=key, body={"event": "nope"})
    stack.call("GET", "/v1/events/types", key=key)
    logs = stack.call("GET", "/v1/events/logs", key=key).json["logs"]
    assert [(log["method"], log["endpoint"], log["status"]) for log in logs] == [
        ("GET", "/v1/events/types", 200),
        ("POST", "/v1/events/webhooks", 400),
        ("POST", "/v1/events/webhooks", 201),
    ]
    first = logs[0]
    assert set(first) == {"_id", "userId", "endpoint", "method", "status", "timestamp", "responseTime"}
    assert first["userId"] == "user_123"
    assert isinstance(first["responseTime"], int) and first["responseTime"] >= 0
    assert first["timestamp"].endswith("Z") and len(first["timestamp"]) == 24


def test_limit_and_default(stack):
    key = stack.key()
    # 105 earlier calls, stored as the ingest stores them (that calls are logged: the test above).
    started = now_ms() - 60_000
    ApiLogStore().write(
        [ApiCall("user_123", "/v1/events/types", "GET", 200, started + n * 10, 3, f"earlier-{n}") for n in range(105)]
    )
    assert len(stack.call("GET", "/v1/events/logs", key=key).json["logs"]) == 100
    assert len(stack.call("GET", "/v1/events/logs?limit=3", key=key).json["logs"]) == 3
    assert (
        len(stack.call("GET", "/v1/events/logs?limit=1000", key=key).json["logs"]) == 107
    )  # this call is logged after it answers


def test_logs_expire_by_ttl(stack):
    key = stack.key()
    stack.call("GET", "/v1/events/types", key=key)
    item = stack.items("ApiLogsTable")[0]
    assert int(item["expiresAt"]) - int(item["logId"][:8], 16) == 30 * 86400


def test_a_failed_log_write_never_fails_the_request(stack, monkeypatch):
    def broken(*_args, **_kwargs):
        raise ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "x"}}, "BatchWriteItem"
        )

    monkeypatch.setattr(ApiLogStore, "write", broken)
    answer = stack.call("POST", "/v1/events/webhooks", key=stack.key(), body=REFERENCE_WEBHOOK)
    assert answer.status == 201


def test_scan_guard_is_armed(stack):
    """The fixtures refuse any Scan issued by code under test; this proves the guard fires."""
    import boto3
    import pytest

    from tests.conftest import ScanIssued

    with pytest.raises(ScanIssued):
        boto3.client("dynamodb").scan(TableName=stack.template.physical["ApiLogsTable"].ref)
