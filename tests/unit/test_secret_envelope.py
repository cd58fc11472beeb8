"""Secrets at rest by envelope encryption (deploy review H1, security review L3): one KMS request
per execution environment instead of one per cache miss, values bound to their encryption context
however they are cached, and values sealed by KMS before still open."""

import base64
import json
import os

import pytest
from botocore.exceptions import ClientError
from cryptography.exceptions import InvalidTag

from events_core.secrets import DATA_KEY_ITEM, DataKeys, KmsThrottled, SecretBox


class FakeKms:
    """KMS as far as the box uses it: the context is part of the ciphertext and must match."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.throttle = False

    def _check(self, name: str) -> None:
        self.calls.append(name)
        if self.throttle:
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "rate"}}, name)

    def encrypt(self, KeyId: str, Plaintext: bytes, EncryptionContext: dict) -> dict:
        self._check("Encrypt")
        blob = json.dumps({"c": EncryptionContext, "p": base64.b64encode(Plaintext).decode()}).encode()
        return {"CiphertextBlob": blob}

    def decrypt(self, KeyId: str, CiphertextBlob: bytes, EncryptionContext: dict) -> dict:
        self._check("Decrypt")
        blob = json.loads(CiphertextBlob)
        if blob["c"] != EncryptionContext:
            raise ClientError({"Error": {"Code": "InvalidCiphertextException", "Message": "context"}}, "Decrypt")
        return {"Plaintext": base64.b64decode(blob["p"])}

    def generate_data_key(self, KeyId: str, KeySpec: str, EncryptionContext: dict) -> dict:
        self._check("GenerateDataKey")
        plain = os.urandom(32)
        blob = json.dumps({"c": EncryptionContext, "p": base64.b64encode(plain).decode()}).encode()
        return {"Plaintext": plain, "CiphertextBlob": blob}


class FakeTable:
    def __init__(self) -> None:
        self.items: dict[str, dict] = {}

    def get_item(self, Key: dict, ConsistentRead: bool = False) -> dict:
        item = self.items.get(Key["controlKey"])
        return {"Item": dict(item)} if item else {}

    def put_item(self, Item: dict, ConditionExpression: str | None = None) -> None:
        if ConditionExpression and Item["controlKey"] in self.items:
            raise ClientError({"Error": {"Code": "ConditionalCheckFailedException", "Message": "x"}}, "PutItem")
        self.items[Item["controlKey"]] = dict(Item)


def box(kms: FakeKms, table: FakeTable, **kwargs: object) -> SecretBox:
    return SecretBox("key", client=kms, data_keys=DataKeys(table), **kwargs)  # type: ignore[arg-type]


def test_a_new_environment_opens_every_secret_with_one_kms_request():
    kms, table = FakeKms(), FakeTable()
    sealer = box(kms, table)
    sealed = [sealer.seal(f"secret-{n}", "dev", f"wh{n}") for n in range(500)]
    assert kms.calls == ["GenerateDataKey"]  # sealing is local once the data key exists
    assert all(value.startswith("v2:") for value in sealed)
    assert table.items[DATA_KEY_ITEM]["wrapped"]  # only the wrapped key is stored

    kms.calls.clear()
    fresh = box(kms, table)  # another execution environment
    assert [fresh.open(value, "dev", f"wh{n}") for n, value in enumerate(sealed)] == [f"secret-{n}" for n in range(500)]
    assert kms.calls == ["Decrypt"]


def test_a_v2_value_opens_only_under_its_own_context():
    kms, table = FakeKms(), FakeTable()
    sealer = box(kms, table)
    sealed = sealer.seal("s3cret", "dev_a", "wh1", purpose="headers")
    assert sealer.open(sealed, "dev_a", "wh1", purpose="headers") == "s3cret"
    for other in (("dev_b", "wh1", "headers"), ("dev_a", "wh2", "headers"), ("dev_a", "wh1", "oauth2")):
        with pytest.raises(InvalidTag):
            sealer.open(sealed, other[0], other[1], purpose=other[2])
    with pytest.raises(InvalidTag):
        sealer.open(sealed, "dev_a", "wh1")


def test_values_sealed_by_kms_before_still_open_and_the_cache_is_keyed_by_their_context():
    kms, table = FakeKms(), FakeTable()
    legacy = base64.b64encode(
        kms.encrypt(KeyId="key", Plaintext=b"old", EncryptionContext={"developerId": "dev_a", "webhookId": "wh1"})[
            "CiphertextBlob"
        ]
    ).decode()
    opener = box(kms, table)
    assert opener.open(legacy, "dev_a", "wh1") == "old"
    assert opener.open(legacy, "dev_a", "wh1") == "old"  # cached
    assert kms.calls.count("Decrypt") == 1
    # The same ciphertext copied onto another webhook must not come out of the cache.
    with pytest.raises(ClientError):
        opener.open(legacy, "dev_b", "wh9")
    with pytest.raises(ClientError):
        opener.open(legacy, "dev_a", "wh1", purpose="headers")


def test_the_legacy_cache_is_bounded_and_expires():
    kms, table = FakeKms(), FakeTable()
    now = [0.0]
    opener = box(kms, table, cache_seconds=300, clock=lambda: now[0])
    context = {"developerId": "d", "webhookId": "w"}
    legacy = base64.b64encode(kms.encrypt(KeyId="k", Plaintext=b"x", EncryptionContext=context)["CiphertextBlob"])
    kms.calls.clear()
    opener.open(legacy.decode(), "d", "w")
    now[0] = 299
    opener.open(legacy.decode(), "d", "w")
    now[0] = 301
    opener.open(legacy.decode(), "d", "w")
    assert kms.calls == ["Decrypt", "Decrypt"]


def test_a_kms_throttle_is_a_typed_error_and_counted():
    from events_core.observability import metrics

    kms, table = FakeKms(), FakeTable()
    kms.throttle = True
    metrics.clear_metrics()
    with pytest.raises(KmsThrottled):
        box(kms, table).seal("s", "d", "w")
    assert "KmsThrottled" in metrics.metric_set
    metrics.clear_metrics()


def test_two_racing_makers_keep_one_data_key():
    kms, table = FakeKms(), FakeTable()
    first, second = box(kms, table), box(kms, table)
    sealed = first.seal("a", "d", "w")
    # second read no pointer before first wrote it: simulate by making its own, which loses the race
    made = second.data_keys._make(second)
    assert made["dataKeyId"] == table.items[DATA_KEY_ITEM]["dataKeyId"]
    assert second.open(sealed, "d", "w") == "a"
    assert second.open(second.seal("b", "d", "w"), "d", "w") == "b"
