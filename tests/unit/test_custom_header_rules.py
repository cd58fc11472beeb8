"""One deny-list for custom header names (review L3): `Forwarded` and `Via` were refused while
`X-Forwarded-For`, `X-Forwarded-Host`, `X-HTTP-Method-Override` and `Accept-Encoding` were not."""

import pytest

from events_core.errors import BadRequest
from events_core.webhooks.controls import parse_headers


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("X-Forwarded-For", "proxies"),
        ("x-forwarded-host", "proxies"),
        ("X-Forwarded-Proto", "proxies"),
        ("X-HTTP-Method-Override", "proxies"),
        ("X-Method-Override", "proxies"),
        ("X-Real-IP", "proxies"),
        ("Forwarded", "proxies"),
        ("Via", "proxies"),
        ("Accept-Encoding", "frames"),
        ("Content-Length", "frames"),
        ("X-Webhook-Test", "the service sets it"),
        ("traceparent", "the service sets it"),
    ],
)
def test_a_refused_header_name_is_a_400_saying_why(name, why):
    with pytest.raises(BadRequest) as refused:
        parse_headers({name: "v"})
    assert refused.value.field == f"headers.{name}" and why in refused.value.message


def test_authorization_is_the_receivers_own_unless_oauth2_sets_it():
    assert parse_headers({"Authorization": "Bearer static"}) == {"Authorization": "Bearer static"}
    with pytest.raises(BadRequest, match="from auth"):
        parse_headers({"Authorization": "Bearer static"}, oauth=True)


def test_ordinary_names_pass():
    assert parse_headers({"X-Gateway-Key": "k", "X-Tenant": "acme"}) == {"X-Gateway-Key": "k", "X-Tenant": "acme"}


def test_the_local_request_log_never_prints_a_single_use_token():
    """Review L3: the local gateway's console line showed `GET /v1/events/verify?token=…` in full."""
    from eventsapi.local.runtime import without_tokens

    assert without_tokens("/v1/events/verify?token=s3cr3t-nonce") == "/v1/events/verify?token=[redacted]"
    assert "s3cr3t" not in without_tokens("/v1/events/verify?a=1&token=s3cr3t&b=2")
