"""The five endpoints through the template's gateway, authorizer and handlers, on moto."""

import socket

import pytest

from events_core.clock import is_id
from events_core.event_types import EVENT_TYPES
from tests.builders import REFERENCE_WEBHOOK, webhook_body

WEBHOOKS = "/v1/events/webhooks"


def test_create_answers_the_reference_shape(stack):
    key = stack.key()
    created = stack.call("POST", WEBHOOKS, key=key, body=REFERENCE_WEBHOOK)
    assert created.status == 201
    hook = created.json
    reference = {"id", "_id", "developerId", "event", "url", "filter", "enabled", "createdAt", "lastTriggered"}
    ours = {"failCount", "description", "updatedAt", "disabledReason", "hasSecret"}
    controls = {"rateLimit", "headerNames", "circuit", "throttle", "auth", "asymmetricSignature", "ordering"}
    assert set(hook) == reference | ours | controls
    assert (hook["description"], hook["disabledReason"], hook["hasSecret"]) == ("", None, True)
    assert hook["updatedAt"] == hook["createdAt"]
    assert hook["id"] == hook["_id"] and is_id(hook["id"])
    assert hook["developerId"] == "user_123"
    assert (hook["event"], hook["url"], hook["filter"]) == ("workflow.completed", REFERENCE_WEBHOOK["url"], {})
    assert (hook["enabled"], hook["lastTriggered"], hook["failCount"]) == (True, None, 0)
    assert hook["createdAt"].endswith("Z") and len(hook["createdAt"]) == 24


def test_the_secret_never_comes_back_and_is_never_stored_in_clear(stack):
    key = stack.key()
    created = stack.call("POST", WEBHOOKS, key=key, body=REFERENCE_WEBHOOK)
    listed = stack.call("GET", WEBHOOKS, key=key)
    one = stack.call("GET", f"{WEBHOOKS}/{created.json['id']}", key=key)
    assert b"my-webhook-secret" not in created.raw + listed.raw + one.raw
    [item] = [item for item in stack.items("WebhooksTable") if item["webhookId"] == created.json["id"]]
    assert "my-webhook-secret" not in repr(item) and "secret" not in item
    assert item["secretEnc"]  # a KMS ciphertext, bound to this developer and webhook


def test_list_returns_own_webhooks_and_the_event_types(stack):
    key = stack.key()
    created = stack.call("POST", WEBHOOKS, key=key, body=REFERENCE_WEBHOOK).json
    listed = stack.call("GET", WEBHOOKS, key=key)
    assert listed.status == 200
    assert listed.json["eventTypes"] == list(EVENT_TYPES)
    assert [hook["_id"] for hook in listed.json["webhooks"]] == [created["id"]]


def test_delete_then_it_is_gone(stack):
    key = stack.key()
    created = stack.call("POST", WEBHOOKS, key=key, body=REFERENCE_WEBHOOK).json
    deleted = stack.call("DELETE", f"{WEBHOOKS}/{created['id']}", key=key)
    assert (deleted.status, deleted.json) == (200, {"success": True})
    assert stack.call("GET", WEBHOOKS, key=key).json["webhooks"] == []
    again = stack.call("DELETE", f"{WEBHOOKS}/{created['id']}", key=key)
    assert again.status == 404 and again.error["code"] == "not_found"


@pytest.mark.parametrize("bad_id", ["665f...", "not-an-id", "665F1A2B3C4D5E6F7A8B9C0D", "a" * 300])
def test_malformed_ids_are_not_found(stack, bad_id):
    assert stack.call("DELETE", f"{WEBHOOKS}/{bad_id}", key=stack.key()).status == 404


def test_types_are_the_ten_in_the_reference_order(stack):
    answer = stack.call("GET", "/v1/events/types", key=stack.key())
    assert answer.json == {"eventTypes": list(EVENT_TYPES)}
    assert len(EVENT_TYPES) == 10


def test_registration_needs_no_network(stack, monkeypatch):
    key = stack.key()

    def no_dns(*_args, **_kwargs):
        raise OSError("no DNS at registration")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    assert stack.call("POST", WEBHOOKS, key=key, body=REFERENCE_WEBHOOK).status == 201


def test_every_event_type_can_be_subscribed_with_a_filter(stack):
    key = stack.key()
    for event in EVENT_TYPES:
        body = webhook_body(event=event, filter={"status": ["ok", {"prefix": "done"}]}, secret=None)
        created = stack.call("POST", WEBHOOKS, key=key, body=body)
        assert created.status == 201, created.json
        assert created.json["filter"] == body["filter"]
    assert len(stack.call("GET", WEBHOOKS, key=key).json["webhooks"]) == 10
