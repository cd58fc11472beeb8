"""API keys, scopes and tenant isolation."""

import pytest

from events_core.api_keys import ApiKeyStore, hash_key
from tests.builders import REFERENCE_WEBHOOK

WEBHOOKS = "/v1/events/webhooks"


@pytest.mark.parametrize("key", [None, "", "claw_unknown_key_0000000000000000000000000000", "Bearer x", "claw_"])
def test_missing_or_unknown_keys_are_401(stack, key):
    headers = {} if key is None else {"X-API-Key": key}
    answer = stack.call("GET", "/v1/events/types", headers=headers)
    assert answer.status == 401
    assert answer.error["code"] == "unauthorized"


def test_header_name_is_case_insensitive(stack):
    assert stack.call("GET", "/v1/events/types", headers={"x-api-key": stack.key()}).status == 200


@pytest.mark.parametrize(
    ("scopes", "method", "path", "status"),
    [
        (("read",), "POST", WEBHOOKS, 403),
        (("read",), "DELETE", f"{WEBHOOKS}/665f1a2b3c4d5e6f7a8b9c0d", 403),
        (("read",), "GET", WEBHOOKS, 200),
        (("read",), "GET", "/v1/events/logs", 200),
        (("write",), "GET", WEBHOOKS, 403),
        (("write",), "GET", "/v1/events/types", 403),
        (("write",), "GET", "/v1/events/logs", 403),
        (("write",), "POST", WEBHOOKS, 201),
    ],
)
def test_scopes(stack, scopes, method, path, status):
    answer = stack.call(
        method, path, key=stack.key(scopes=scopes), body=REFERENCE_WEBHOOK if method == "POST" else None
    )
    assert answer.status == status
    if status == 403:
        assert answer.error["code"] == "forbidden"


def test_developers_see_and_delete_only_their_own(stack):
    alice, bob = stack.key("alice"), stack.key("bob")
    hook = stack.call("POST", WEBHOOKS, key=alice, body=REFERENCE_WEBHOOK).json
    assert stack.call("GET", WEBHOOKS, key=bob).json["webhooks"] == []
    # Bob's delete of Alice's webhook looks exactly like an unknown id, and changes nothing.
    refused = stack.call("DELETE", f"{WEBHOOKS}/{hook['id']}", key=bob)
    unknown = stack.call("DELETE", f"{WEBHOOKS}/{'0' * 24}", key=bob)
    assert refused.status == unknown.status == 404
    assert refused.error["code"] == unknown.error["code"]
    assert [h["_id"] for h in stack.call("GET", WEBHOOKS, key=alice).json["webhooks"]] == [hook["id"]]
    bob_logs = stack.call("GET", "/v1/events/logs", key=bob).json["logs"]
    assert {log["userId"] for log in bob_logs} == {"bob"}


def test_keys_are_stored_only_as_hashes(stack):
    issued = ApiKeyStore().create("user_123", ("read",))
    assert issued.key.startswith("claw_") and len(issued.key) >= 37
    assert all(c.isalnum() or c in "-_" for c in issued.key[5:])
    stored = stack.items("ApiKeysTable")
    assert [item["keyHash"] for item in stored] == [hash_key(issued.key)]
    assert issued.key not in str(stored)


def test_revoked_keys_stop_working(stack):
    store = ApiKeyStore()
    issued = store.create("user_123", ("read", "write"))
    assert store.list_for("user_123")[0]["keyId"] == issued.key_id
    assert not store.revoke("someone_else", issued.key_id)
    assert store.revoke("user_123", issued.key_id)
    assert store.authenticate(issued.key) is None
    assert store.list_for("user_123") == []


def test_authorizer_passes_developer_and_scopes(stack):
    key = stack.key("dev_9", ("read",))
    event = {
        "type": "REQUEST",
        "headers": {"X-API-Key": key},
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc/prod/GET/v1/events/types",
    }
    verdict = stack.invoke("AuthorizerFunction", event)
    assert verdict["principalId"] == "dev_9"
    assert verdict["context"] == {"developerId": "dev_9", "scopes": "read"}
    assert verdict["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        stack.invoke(
            "AuthorizerFunction", {**event, "headers": {"X-API-Key": "claw_nope_0000000000000000000000000000000"}}
        )
