"""Reseal every secret still sealed by KMS itself (format 1) with the stack's data key (format v2),
so the delivery path stops paying a KMS request per cache miss for them. Run once after upgrading
(`eventsapi secrets reseal`); safe to repeat and to run while the stack serves: each value is
replaced only if it is still the one read (a conditional update), and both formats open meanwhile.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from events_core.aws import conditional_check_failed
from events_core.secrets import V2, SecretBox
from eventsapi.admin.signing_keys import box as stack_box
from eventsapi.admin.target import Target

# Sealed attributes of the webhooks table and their purpose; the context is always the item's own
# key (developerId, webhookId): webhooks, their secrets, headers and OAuth2 client secrets, and the
# v1a signing keys (a developer's `~signing-key#<kid>`, the stack's `~signing-keys` + kid).
WEBHOOK_SEALED = {
    "secretEnc": None,
    "previousSecretEnc": None,
    "headersEnc": "headers",
    "authSecretEnc": "oauth2",
    "privateKeyEnc": "signing-key",
}


@dataclass
class Resealed:
    resealed: int = 0
    already: int = 0
    changed_meanwhile: int = 0


def _scan(table: Any) -> Iterator[dict[str, Any]]:
    """An operator's one-off pass (never deployed code, which cannot Scan)."""
    scan: dict[str, Any] = {}
    while True:
        page = table.scan(**scan)
        yield from page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return
        scan["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _replace(table: Any, key: dict[str, Any], name: str, old: str, new: str) -> bool:
    try:
        table.update_item(
            Key=key,
            UpdateExpression="SET #sealed = :new",
            ConditionExpression="#sealed = :old",
            ExpressionAttributeNames={"#sealed": name},
            ExpressionAttributeValues={":new": new, ":old": old},
        )
    except ClientError as error:
        if conditional_check_failed(error):
            return False
        raise
    return True


def _reseal_one(
    box: SecretBox, table: Any, key: dict[str, Any], name: str, sealed: Any, context: tuple[str, str, str | None]
) -> str:
    if not isinstance(sealed, str) or not sealed:
        return "none"
    if sealed.startswith(V2 + ":"):
        return "already"
    developer, owner, purpose = context
    plain = box.open(sealed, developer, owner, purpose=purpose)
    fresh = box.seal(plain, developer, owner, purpose=purpose)
    return "resealed" if _replace(table, key, name, sealed, fresh) else "changed_meanwhile"


def reseal(target: Target) -> Resealed:
    box, counted = stack_box(target), Resealed()

    def count(outcome: str) -> None:
        if outcome != "none":
            setattr(counted, outcome, getattr(counted, outcome) + 1)

    webhooks = target.table("WebhooksTableName")
    for item in _scan(webhooks):
        key = {"developerId": item["developerId"], "webhookId": item["webhookId"]}
        for name, purpose in WEBHOOK_SEALED.items():
            context = (str(item["developerId"]), str(item["webhookId"]), purpose)
            count(_reseal_one(box, webhooks, key, name, item.get(name), context))
    listen = target.table("ListenTableName")
    for item in _scan(listen):
        if "sessionId" in item and str(item.get("sk", "")).startswith("session#"):
            context = (str(item["pk"]), str(item["sessionId"]), None)
            count(
                _reseal_one(
                    box, listen, {"pk": item["pk"], "sk": item["sk"]}, "secretEnc", item.get("secretEnc"), context
                )
            )
    return counted
