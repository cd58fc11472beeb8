"""API keys: `claw_` + 43 URL-safe random chars, stored only as SHA-256, with read/write scopes.

Table: keyHash (hash key); index ByDeveloper (developerId, keyId) for listing a developer's keys.
"""

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from events_core.aws import LazyTable, conditional_check_failed
from events_core.clock import iso_ms, now_ms

PREFIX = "claw_"
SCOPES = ("read", "write")
BY_DEVELOPER_INDEX = "ByDeveloper"


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def usage_key_for(developer_id: str) -> str:
    """The developer's API Gateway usage-plan key (usageIdentifierKey): one per developer, shared by
    all of their API keys, so the per-developer rate limit counts them together. It identifies a
    throttling bucket only; it grants nothing (authorization is this store's API key)."""
    return "usage-" + hashlib.sha256(f"events-api usage plan\n{developer_id}".encode()).hexdigest()[:40]


def looks_like_key(text: str) -> bool:
    return text.startswith(PREFIX) and 32 + len(PREFIX) <= len(text) <= 128


@dataclass(frozen=True)
class Caller:
    developer_id: str
    scopes: frozenset[str]
    usage_key: str | None = None


@dataclass(frozen=True)
class IssuedKey:
    key: str
    key_id: str
    developer_id: str
    scopes: tuple[str, ...]
    created_at: str


class ApiKeyStore:
    table = LazyTable("api_keys_table")

    def __init__(self, table: Any = None):
        if table is not None:
            self.table = table

    def create(self, developer_id: str, scopes: tuple[str, ...], key: str | None = None) -> IssuedKey:
        unknown = set(scopes) - set(SCOPES)
        if unknown or not scopes:
            raise ValueError(
                f"scopes: one or more of {', '.join(SCOPES)}; unknown: {', '.join(sorted(unknown)) or '(none given)'}"
            )
        if not developer_id.strip():
            raise ValueError("developer id must not be empty")
        key = key or PREFIX + secrets.token_urlsafe(32)
        if not looks_like_key(key):
            raise ValueError(f"a key is {PREFIX} followed by at least 32 characters")
        digest = hash_key(key)
        issued = IssuedKey(
            key=key,
            key_id=f"key_{digest[:12]}",
            developer_id=developer_id,
            scopes=tuple(s for s in SCOPES if s in scopes),
            created_at=iso_ms(now_ms()),
        )
        self.table.put_item(
            Item={
                "keyHash": digest,
                "keyId": issued.key_id,
                "keyPrefix": key[:9],
                "developerId": developer_id,
                "scopes": list(issued.scopes),
                "createdAt": issued.created_at,
            }
        )
        return issued

    def authenticate(self, api_key: str) -> Caller | None:
        if not looks_like_key(api_key):
            return None
        item = self.table.get_item(Key={"keyHash": hash_key(api_key)}).get("Item")
        if not item:
            return None
        return Caller(
            developer_id=item["developerId"],
            scopes=frozenset(item.get("scopes", [])),
            usage_key=usage_key_for(item["developerId"]),
        )

    def list_for(self, developer_id: str) -> list[dict[str, Any]]:
        page = self.table.query(
            IndexName=BY_DEVELOPER_INDEX, KeyConditionExpression=Key("developerId").eq(developer_id)
        )
        return page.get("Items", [])

    def revoke(self, developer_id: str, key_or_id: str) -> bool:
        """Revoke by the key itself or by its key id; False when the developer has no such key."""
        if key_or_id.startswith(PREFIX):
            digest = hash_key(key_or_id)
        else:
            found = [item for item in self.list_for(developer_id) if item["keyId"] == key_or_id]
            if not found:
                return False
            digest = found[0]["keyHash"]
        try:
            self.table.delete_item(
                Key={"keyHash": digest},
                ConditionExpression="developerId = :developer",
                ExpressionAttributeValues={":developer": developer_id},
            )
        except ClientError as error:
            if conditional_check_failed(error):
                return False
            raise
        return True
