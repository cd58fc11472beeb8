"""v1a (Ed25519) signing keys for operators: list them, rotate one developer's or all.

A developer's keys live in the webhooks table under their own partition (webhookId
`~signing-key#<kid>`); the stack-wide key of before under `~signing-keys`, co-signing until its
expiresAt, which `rotate --all` sets.
"""

from collections.abc import Iterator
from typing import Any

from events_core import signing_keys
from events_core.secrets import DataKeys, SecretBox
from eventsapi.admin.target import Target


def store(target: Target) -> signing_keys.SigningKeyStore:
    return signing_keys.SigningKeyStore(target.table("WebhooksTableName"))


def box(target: Target) -> SecretBox:
    return SecretBox(
        target.outputs["SecretsKeyArn"],
        client=target.client("kms"),
        data_keys=DataKeys(target.table("ControlTableName")),
    )


def _scan(table: Any, **scan: Any) -> Iterator[dict[str, Any]]:
    """An operator's one-off pass over the table (never deployed code, which cannot Scan)."""
    while True:
        page = table.scan(**scan)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        scan["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def developers_with_v1a(target: Target) -> list[str]:
    """Every developer with a signing key or a webhook that asks for v1a."""
    from boto3.dynamodb.conditions import Attr

    found = set()
    condition = Attr("webhookId").begins_with(signing_keys.KEY_PREFIX) | Attr("asymmetricSignature").eq(True)
    for item in _scan(
        target.table("WebhooksTableName"), FilterExpression=condition, ProjectionExpression="developerId"
    ):
        if not str(item["developerId"]).startswith("~"):
            found.add(str(item["developerId"]))
    return sorted(found)


def rotate(target: Target, developer_id: str, overlap_seconds: int) -> signing_keys.SigningKey:
    return signing_keys.rotate(box(target), store(target), developer_id, overlap_seconds)


def rotate_all(
    target: Target, overlap_seconds: int
) -> tuple[list[tuple[str, signing_keys.SigningKey]], list[signing_keys.SigningKey]]:
    """A new key for every developer who signs v1a, and an expiry for the stack-wide key."""
    sealer, keys = box(target), store(target)
    rotated = [(d, signing_keys.rotate(sealer, keys, d, overlap_seconds)) for d in developers_with_v1a(target)]
    return rotated, signing_keys.retire_stack_keys(keys, overlap_seconds)


def listed(target: Target, developer_id: str | None) -> list[signing_keys.SigningKey]:
    keys = store(target)
    return keys.keys_of(developer_id) if developer_id else keys.stack_keys()
