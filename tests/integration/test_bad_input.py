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


def test_misspelled_query_parameters_are_named_on_every_listing(stack):
    key = stack.key()
    webhook_id = stack.call("POST", WEBHOOKS, key=key, body=webhook_body()).json["id"]
    for path in ("/v1/events/logs?stauts=5xx&limit=2", f"{WEBHOOKS}/{webhook_id}/deliveries?stauts=dead"):
        answer = stack.call("GET", path, key=key)
        assert answer.status == 400, path
        assert answer.error["message"] == "unknown parameter(s): stauts"
        assert answer.error["field"] == "stauts"
    assert stack.call("GET", "/v1/events/logs?status=5xx&method=GET&endpoint=/v1&limit=2", key=key).status == 200


def test_unknown_routes_are_json_404(stack):
    answer = stack.call("GET", "/v1/events/nothing", key=stack.key())
    assert answer.status == 404
    assert answer.error["code"] == "not_found"
    assert stack.call("PUT", WEBHOOKS, key=stack.key()).status == 404


HOSTILE_BODIES = {
    "deep body": (b"[" * 30000 + b"]" * 30000, "deeper than"),
    "deep filter": (
        b'{"event":"tool.executed","url":"https://example.com/h","filter":{"a":' + b"[" * 30000 + b"]" * 30000 + b"}}",
        "deeper than",
    ),
    "huge integer": (b'{"event":' + b"1" * 5000 + b',"url":"https://example.com/h"}', "digits"),
    "huge integer in filter": (
        b'{"event":"tool.executed","url":"https://example.com/h","filter":{"n":' + b"9" * 5000 + b"}}",
        "digits",
    ),
    "lone surrogate in url": (b'{"event":"tool.executed","url":"https://example.com/\\ud800"}', "surrogate"),
    "lone surrogate in secret": (
        b'{"event":"tool.executed","url":"https://example.com/h","secret":"\\udfff"}',
        "surrogate",
    ),
    "lone surrogate as a field name": (
        b'{"event":"tool.executed","url":"https://example.com/h","\\ud800":1}',
        "surrogate",
    ),
    "NaN in filter": (b'{"event":"tool.executed","url":"https://example.com/h","filter":{"n":NaN}}', "NaN"),
    "Infinity in filter": (
        b'{"event":"tool.executed","url":"https://example.com/h","filter":{"n":[{"numeric":[">",Infinity]}]}}',
        "Infinity",
    ),
    "overflowing float": (b'{"event":"tool.executed","url":"https://example.com/h","filter":{"n":1e999}}', "range"),
}


@pytest.mark.parametrize("shape", list(HOSTILE_BODIES))
def test_hostile_json_is_a_clear_400_that_changes_nothing(stack, shape):
    raw, says = HOSTILE_BODIES[shape]
    answer = _refused(stack, stack.key(), raw=raw)
    assert answer.status == 400 and answer.error["code"] == "invalid_request"
    assert says in answer.error["message"] and answer.error["message"].startswith("body: ")


@pytest.mark.parametrize("limit", ["9" * 5000, "1" * 5, "0x10"])
def test_absurd_limits_are_400(stack, limit):
    answer = stack.call("GET", f"/v1/events/logs?limit={limit}", key=stack.key())
    assert answer.status == 400 and answer.error["field"] == "limit"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("https://metadata/latest", "not a public host name"),
        ("https://kubernetes/", "not a public host name"),
        ("https://example.com:22/", "port 22 is not allowed"),
        ("https://93.184.216.34/hook", "literal address"),
        ("https://[::ffff:0:7f00:1]/", "ipv4-mapped loopback"),
        ("https://[3fff::1]/", "documentation"),
        ("https://[5f00::1]/", "segment-routing"),
        ("https://example.com/a\x7fb", "printable ASCII"),
        ("https://example.com/caf\u00e9", "printable ASCII"),
        ("https://example.123/", "not a public host name"),
    ],
)
def test_more_urls_that_must_not_be_reached(stack, url, says):
    answer = _refused(stack, stack.key(), body=webhook_body(url=url))
    assert answer.status == 400 and answer.error["field"] == "url" and says in answer.error["message"]


def test_high_ports_are_allowed_and_low_service_ports_are_not(stack):
    key = stack.key()
    assert stack.call("POST", WEBHOOKS, key=key, body=webhook_body(url="https://example.com:8443/h")).status == 201
    assert stack.call("POST", WEBHOOKS, key=key, body=webhook_body(url="https://example.com:25/h")).status == 400


def test_an_answer_names_the_keys_own_scopes_so_the_console_can_disable_writes(stack):
    read_only = stack.call("GET", WEBHOOKS, key=stack.key(scopes=("read",)))
    assert read_only.status == 200 and read_only.headers["X-API-Key-Scopes"] == "read"
    both = stack.call("GET", WEBHOOKS, key=stack.key())
    assert both.headers["X-API-Key-Scopes"] == "read,write"
