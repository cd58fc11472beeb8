"""v1a keys per developer (security review M2): a post captured by one developer does not verify
at another's receiver, checked with the receivers' guide's own verifier; the stack-wide key of before keeps
co-signing through its documented overlap, then stops."""

import re
from pathlib import Path
from typing import Any

from events_core.clock import now_ms
from events_core.config import settings
from events_core.secrets import secret_box
from events_core.signing_keys import SigningKeyStore, generate, retire_stack_keys, rotate

RECEIVERS_GUIDE = Path(__file__).resolve().parents[2] / "docs" / "receivers.md"
TOOL_DATA = {"toolName": "erp_get_inventory", "input": {}, "result": {"total": 42}, "elapsed_ms": 230}


def readme_verifier() -> Any:
    """`verify_v1a` exactly as docs/receivers.md's "Asymmetric signatures" prints it."""
    text = RECEIVERS_GUIDE.read_text()
    section = text[text.index("**Asymmetric signatures**") :]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None
    namespace: dict[str, Any] = {}
    exec(compile(re.sub(r"(?m)^  ", "", code.group(1)), "docs/receivers.md", "exec"), namespace)  # noqa: S102 - our docs
    return namespace["verify_v1a"]


def keys_of(pipeline: Any, key: str) -> list[dict]:
    answer = pipeline.stack.call("GET", "/v1/events/signing-keys", key=key)
    assert answer.status == 200, answer.json
    return answer.json["keys"]


def test_a_post_for_one_developer_fails_every_other_developers_verifier(pipeline, receiver):
    verify = readme_verifier()
    key_a, key_b = pipeline.stack.key("user_a"), pipeline.stack.key("user_b")
    pipeline.webhook(key_a, receiver.url("/a"), asymmetricSignature=True)
    pipeline.webhook(key_b, receiver.url("/b"), asymmetricSignature=True)
    pipeline.publish("user_a", "tool.executed", TOOL_DATA)
    pipeline.publish("user_b", "tool.executed", TOOL_DATA)
    pipeline.pump()
    [post_a], [post_b] = receiver.at("/a"), receiver.at("/b")
    keys_a, keys_b = keys_of(pipeline, key_a), keys_of(pipeline, key_b)
    assert len(keys_a) == 1 and len(keys_b) == 1 and keys_a[0]["kid"] != keys_b[0]["kid"]

    assert verify(post_a.body, post_a.headers, keys_a) and verify(post_b.body, post_b.headers, keys_b)
    # A replays its captured post, headers and body, at B's receiver: B's verifier refuses it.
    assert not verify(post_a.body, post_a.headers, keys_b)
    assert not verify(post_b.body, post_b.headers, keys_a)

    # Stored once, in each developer's own partition, the private key sealed.
    stored = [i for i in pipeline.stack.items("WebhooksTable") if str(i["webhookId"]).startswith("~signing-key#")]
    assert sorted(i["developerId"] for i in stored) == ["user_a", "user_b"]
    assert all(i["privateKeyEnc"].startswith("v2:") and "privateKey" not in i for i in stored)
    # Never listed as a webhook.
    assert [h["id"] for h in pipeline.stack.call("GET", "/v1/events/webhooks", key=key_a).json["webhooks"]]


def test_a_receiver_pinned_to_the_stack_key_verifies_through_the_overlap_then_not(pipeline, receiver):
    verify = readme_verifier()
    store, box = SigningKeyStore(), secret_box(settings())
    stack_key = generate(box, now_ms() - 1000, None)  # the stack-wide key a stack of before made
    store.put(stack_key)
    pinned = [stack_key.public()]
    key_a = pipeline.stack.key("user_a")
    pipeline.webhook(key_a, receiver.url("/a"), asymmetricSignature=True)
    assert [k["kid"] for k in keys_of(pipeline, key_a)] != [stack_key.kid]  # GET never answers the stack key

    pipeline.publish("user_a", "tool.executed", TOOL_DATA)
    pipeline.pump()
    [during] = receiver.at("/a")
    assert [s.split(",")[0] for s in during.headers["webhook-signature"].split()] == ["v1a", "v1a"]
    assert verify(during.body, during.headers, pinned)  # the pinned receiver keeps working
    assert verify(during.body, during.headers, keys_of(pipeline, key_a))

    [retired] = retire_stack_keys(store, overlap_seconds=0)  # the overlap is over
    assert retired.kid == stack_key.kid
    from events_core.signing_keys import signer

    signer(settings())._loaded.clear()  # another instance, or CACHE_SECONDS later
    pipeline.publish("user_a", "tool.executed", {**TOOL_DATA, "n": 2})
    pipeline.pump()
    after = receiver.at("/a")[-1]
    assert len(after.headers["webhook-signature"].split()) == 1
    assert not verify(after.body, after.headers, pinned)
    assert verify(after.body, after.headers, keys_of(pipeline, key_a))


def test_a_developers_rotation_signs_with_both_of_their_keys_during_its_overlap(pipeline, receiver):
    verify = readme_verifier()
    key_a = pipeline.stack.key("user_a")
    pipeline.webhook(key_a, receiver.url("/a"), asymmetricSignature=True)
    [old] = keys_of(pipeline, key_a)
    new = rotate(secret_box(settings()), SigningKeyStore(), "user_a", overlap_seconds=3600)
    listed = keys_of(pipeline, key_a)
    assert [k["kid"] for k in listed] == [new.kid, old["kid"]] and listed[1]["expiresAt"]
    from events_core.signing_keys import signer

    signer(settings())._loaded.clear()
    pipeline.publish("user_a", "tool.executed", TOOL_DATA)
    pipeline.pump()
    [post] = receiver.at("/a")
    assert verify(post.body, post.headers, [old]) and verify(post.body, post.headers, [listed[0]])


def test_secrets_sealed_by_kms_before_still_open_and_reseal_moves_them_to_the_data_key(pipeline, receiver):
    """A stack upgraded in place: its secrets were sealed by KMS itself (format 1). They still sign
    posts; `eventsapi secrets reseal` moves them to v2, after which a post makes no KMS request."""
    import base64

    import boto3

    from events_core import aws
    from eventsapi.admin import secrets as sealed_secrets
    from eventsapi.admin.target import Target
    from eventsapi.local.wiring import REGION
    from tests.reference.verify import verify

    key_a = pipeline.stack.key("user_a")
    hook = pipeline.webhook(key_a, receiver.url("/a"), secret="s3cret", asymmetricSignature=True)
    table = pipeline.stack.table("WebhooksTable")
    legacy = aws.client("kms").encrypt(
        KeyId=settings().secrets_key_id,
        Plaintext=b"s3cret",
        EncryptionContext={"developerId": "user_a", "webhookId": hook["id"]},
    )["CiphertextBlob"]
    table.update_item(
        Key={"developerId": "user_a", "webhookId": hook["id"]},
        UpdateExpression="SET secretEnc = :v1",
        ExpressionAttributeValues={":v1": base64.b64encode(legacy).decode()},
    )
    pipeline.publish("user_a", "tool.executed", TOOL_DATA)
    pipeline.pump()
    [post] = receiver.at("/a")
    assert verify(post.body, post.headers["X-Webhook-Signature"], "s3cret")  # v1 still opens

    done = sealed_secrets.reseal(Target.of_template(pipeline.stack.template, boto3.Session(region_name=REGION)))
    assert done.resealed == 1 and done.already >= 1  # the secret; the v1a key was v2 already
    item = table.get_item(Key={"developerId": "user_a", "webhookId": hook["id"]})["Item"]
    assert item["secretEnc"].startswith("v2:")
    assert (
        sealed_secrets.reseal(Target.of_template(pipeline.stack.template, boto3.Session(region_name=REGION))).resealed
        == 0
    )
    pipeline.publish("user_a", "tool.executed", {**TOOL_DATA, "n": 2})
    pipeline.pump()
    post = receiver.at("/a")[-1]
    assert verify(post.body, post.headers["X-Webhook-Signature"], "s3cret")
