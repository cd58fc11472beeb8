"""What schemathesis found after issue 21 merged: the server and openapi.yaml agree on these bodies."""

import pytest

from events_core.errors import BadRequest
from events_core.listen.requests import parse_answer, parse_opening
from events_core.webhooks.controls import parse_rate_limit


def test_a_rate_limit_written_with_a_fraction_part_is_the_same_integer():
    assert parse_rate_limit({"count": 300.0, "periodSeconds": 1115.0}) == {"count": 300, "periodSeconds": 1115}
    with pytest.raises(BadRequest):
        parse_rate_limit({"count": 1.5, "periodSeconds": 1})
    with pytest.raises(BadRequest):
        parse_rate_limit({"count": True, "periodSeconds": 1})


def test_a_listen_opening_takes_null_but_not_an_object_for_its_events():
    assert parse_opening({"events": None, "filter": None}).events == ()
    with pytest.raises(BadRequest):
        parse_opening({"events": {}, "filter": {}})


def test_a_listen_result_needs_a_status_or_an_error():
    with pytest.raises(BadRequest):
        parse_answer({"status": None, "error": None, "body": "ok"})
    assert parse_answer({"status": None, "error": "connection refused"}).error == "connection refused"


def test_custom_headers_too_large_to_seal_are_a_400_not_a_500():
    from events_core.webhooks.controls import parse_headers

    with pytest.raises(BadRequest, match="4096 bytes in all"):
        parse_headers({"0": "0" * 4096})
    assert parse_headers({"X-Tenant": "a" * 1000}) == {"X-Tenant": "a" * 1000}
