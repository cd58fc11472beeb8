"""Against a real stack (make deployed STACK=…): a key made with eventsapi, every route, API
Gateway's own answers (401, 403, 404, 413) in our error shape, a developer past their burst
answered 429 with Retry-After through API Gateway, one platform event received signed, and a
revoked key refused at once."""

import pytest

from events_core.delivery.signing import reference_signature
from tests.client import wait_for
from tests.deployed.conftest import Deployment, json_body

pytestmark = pytest.mark.deployed
SECRET = "deployed-tier-secret"


@pytest.fixture(scope="module")
def keys(deployment: Deployment) -> dict[str, str]:
    return {"rw": deployment.new_key("read,write"), "read": deployment.new_key("read")}


@pytest.fixture(scope="module")
def hook(deployment: Deployment, keys: dict[str, str]):
    api = deployment.api(keys["rw"])
    created = api.create(
        {
            "event": "tool.executed",
            "url": deployment.receiver.url("/deployed"),
            "secret": SECRET,
            "description": "deployed tier",
        }
    )
    yield created
    api("DELETE", f"/v1/events/webhooks/{created['id']}")


def test_the_gateways_own_answers_are_our_error_shape(deployment: Deployment, keys: dict[str, str]):
    anonymous, unknown = deployment.api(None), deployment.api("claw_" + "0" * 43)
    assert anonymous.raw("GET", "/v1/events/types").status_code == 401
    assert unknown.raw("GET", "/v1/events/types").json()["error"]["code"] == "unauthorized"
    reader = deployment.api(keys["read"])
    refused = reader.raw("POST", "/v1/events/webhooks", {"event": "tool.executed", "url": "https://example.com/h"})
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "forbidden")
    missing = reader.raw("GET", "/v1/events/nothing")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")
    large = deployment.api(keys["rw"]).raw("POST", "/v1/events/webhooks", data=b'{"x":"' + b"x" * 70_000 + b'"}')
    assert (large.status_code, large.json()["error"]["code"]) == (413, "payload_too_large")


def test_every_route_answers(deployment: Deployment, keys: dict[str, str], hook: dict):
    api = deployment.api(keys["rw"])
    assert len(api("GET", "/v1/events/types", expect=200)["eventTypes"]) == 10
    assert hook["id"] in {h["id"] for h in api("GET", "/v1/events/webhooks", expect=200)["webhooks"]}
    assert api.webhook(hook["id"])["description"] == "deployed tier"
    assert api.change(hook["id"], {"description": "changed"})["description"] == "changed"
    tested = api("POST", f"/v1/events/webhooks/{hook['id']}/test", {}, expect=200)
    assert tested["delivered"] is True, tested
    wait_for(lambda: api.deliveries(hook["id"]), seconds=30)
    api.delivery(hook["id"], tested["deliveryId"])
    api("POST", f"/v1/events/webhooks/{hook['id']}/deliveries/{tested['deliveryId']}/redeliver", expect=202)
    api("POST", f"/v1/events/webhooks/{hook['id']}/recover", {"since": "2026-01-01T00:00:00Z"}, expect=202)
    rotated = api(
        "POST", f"/v1/events/webhooks/{hook['id']}/secret/rotate", {"secret": SECRET, "overlapSeconds": 0}, expect=200
    )
    assert "secret" not in rotated
    assert api("GET", "/v1/events/logs?limit=5", expect=200)["logs"]
    assert deployment.api(None).raw("GET", "/console").status_code == 200  # the console needs no key


def test_a_platform_event_arrives_signed(deployment: Deployment, keys: dict[str, str], hook: dict):
    api = deployment.api(keys["rw"])
    event_id = deployment.publish("tool.executed", {"toolName": "deployed_tier", "elapsed_ms": 1})
    delivered = wait_for(
        lambda: [d for d in api.deliveries(hook["id"]) if d["eventId"] == event_id and d["status"] == "succeeded"],
        seconds=120,
        every=2,
    )
    posts = deployment.receiver.posts("/deployed")
    if posts is None:  # a third-party receiver: its delivery record is the evidence
        assert delivered
        return
    [post] = [p for p in posts if json_body(p)["data"].get("toolName") == "deployed_tier"]
    assert post.headers["x-webhook-signature"] == reference_signature(SECRET, post.body)
    assert post.headers["x-webhook-id"] == delivered[0]["deliveryId"]


def test_a_revoked_key_is_refused_at_once(deployment: Deployment):
    key = deployment.new_key("read")
    api = deployment.api(key)
    assert api.raw("GET", "/v1/events/types").status_code == 200  # its authorization is now cached
    listed = deployment.eventsapi("keys", "list", "--developer", deployment.developer).stdout
    key_id = next(line.split()[0] for line in listed.splitlines() if line.startswith("key_") and key[:9] in line)
    done = deployment.eventsapi("keys", "revoke", "--developer", deployment.developer, key_id)
    assert done.returncode == 0, done.stderr
    if "flushed" in done.stdout:  # a deployed stack: the cache is flushed, the key stops now
        wait_for(lambda: api.raw("GET", "/v1/events/types").status_code == 401, seconds=30, every=1)


def test_past_the_burst_a_developer_gets_429_with_retry_after_through_the_gateway(deployment: Deployment):
    """Our per-developer counter (events_core.rate_limit), as API Gateway passes its answer on."""
    from concurrent.futures import ThreadPoolExecutor

    api = deployment.api(deployment.new_key("read", developer=f"{deployment.developer}_burst"))
    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(lambda _: api.raw("GET", "/v1/events/types"), range(60)))
    refused = [a for a in answers if a.status_code == 429]
    assert refused, [a.status_code for a in answers]
    assert all(a.json()["error"]["code"] == "throttled" for a in refused)
    ours = [a for a in refused if "retry-after" in {k.lower() for k in a.headers}]
    assert ours and all(1 <= int(a.headers["Retry-After"]) <= 60 for a in ours)


def test_an_unknown_key_is_refused_by_the_gateway_in_our_shape(deployment: Deployment):
    answer = deployment.api("claw_" + "x" * 43).raw("GET", "/v1/events/webhooks")
    assert (answer.status_code, answer.json()["error"]["code"]) == (401, "unauthorized")
