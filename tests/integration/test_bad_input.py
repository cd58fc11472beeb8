"""Bad input always gets a clear 4xx JSON error that names the problem, and changes nothing."""

import json

import pytest

from tests.builders import webhook_body

WEBHOOKS = "/v1/events/webhooks"


def _refused(stack, key, **kwargs):
    answer = stack.call("POST", WEBHOOKS, key=key, **kwargs)
    assert stack.items("WebhooksTable") == [], "a refused request must change nothing"
    return answer


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b"{bad", "malformed JSON"),
        (b"", "JSON object is required"),
        (b"[]", "must be a JSON object"),
        (b'"text"', "must be a JSON object"),
        (b"42", "must be a JSON object"),
        (b"null", "must be a JSON object"),
        (b"\xff\xfe", "UTF-8"),
    ],
)
def test_unparseable_bodies(stack, raw, says):
    answer = _refused(stack, stack.key(), raw=raw)
    assert answer.status == 400
    assert says in answer.error["message"]


@pytest.mark.parametrize(
    ("fields", "field", "says"),
    [
        ({"event": None}, "event", "event: is required"),
        ({"url": None}, "url", "url: is required"),
        ({"event": ""}, "event", "must not be empty"),
        ({"event": 7}, "event", "must be a string"),
        ({"url": ["https://x.com"]}, "url", "must be a string"),
        ({"secret": 5}, "secret", "must be a string"),
        ({"secret": "x" * 257}, "secret", "1 to 256"),
        ({"filter": "x"}, "filter", "must be an object"),
        ({"filter": {"a": [{"regex": "x"}]}}, "filter", "unknown operator"),
        ({"event": "workflow.started"}, "event", "unknown event type 'workflow.started'"),
        ({"url": "http://my-server.com/hook"}, "url", "https://"),
        ({"url": "https://127.0.0.1/hook"}, "url", "loopback"),
        ({"url": "https://169.254.169.254/latest"}, "url", "metadata"),
        ({"url": "https://[fe80::1]/"}, "url", "link-local"),
        ({"url": "https://192.168.0.10/"}, "url", "private"),
        ({"url": "javascript:alert(1)"}, "url", "https://"),
    ],
)
def test_invalid_fields_are_named(stack, fields, field, says):
    answer = _refused(stack, stack.key(), body=webhook_body(**fields))
    assert answer.status == 400
    assert answer.error["code"] == "invalid_request"
    assert answer.error["field"] == field
    assert says in answer.error["message"]


def test_unknown_fields_are_named(stack):
    answer = _refused(stack, stack.key(), body={**webhook_body(), "enabled": False, "callback": "x"})
    assert answer.status == 400
    assert "unknown field(s): callback, enabled" in answer.error["message"]


def test_a_body_over_the_documented_size_is_413(stack):
    body = webhook_body(filter={"a": "x" * 70_000})
    answer = _refused(stack, stack.key(), raw=json.dumps(body).encode())
    assert answer.status == 413
    assert answer.error["code"] == "payload_too_large"


@pytest.mark.parametrize("limit", ["0", "1001", "abc", "-1", "1.5", "", "%20", "١٠"])
def test_bad_limits(stack, limit):
    answer = stack.call("GET", f"/v1/events/logs?limit={limit}", key=stack.key())
    assert answer.status == 400
    assert answer.error["field"] == "limit"


def test_unknown_routes_are_json_404(stack):
    answer = stack.call("GET", "/v1/events/nothing", key=stack.key())
    assert answer.status == 404
    assert answer.error["code"] == "not_found"
    assert stack.call("PUT", WEBHOOKS, key=stack.key()).status == 404
