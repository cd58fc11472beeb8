"""The service's v1a (Ed25519) signing keys for operators: list them, rotate with an overlap."""

from events_core import signing_keys
from events_core.secrets import SecretBox
from eventsapi.admin.target import Target


def store(target: Target) -> signing_keys.SigningKeyStore:
    return signing_keys.SigningKeyStore(target.table("WebhooksTableName"))


def rotate(target: Target, overlap_seconds: int) -> signing_keys.SigningKey:
    box = SecretBox(target.outputs["SecretsKeyArn"], client=target.client("kms"))
    return signing_keys.rotate(box, store(target), overlap_seconds)


def listed(target: Target) -> list[signing_keys.SigningKey]:
    return store(target).all_keys()
