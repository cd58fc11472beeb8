"""API keys for operators: create, list, revoke (and flush the stage's authorizer cache, so a
revoked key stops at once). A developer owns no AWS resource: their rate is counted in a table
(events_core.rate_limit), so there is nothing to attach or sync when a stack is rebuilt."""

import urllib.error
import urllib.request
from typing import Any

from events_core.api_keys import ApiKeyStore, IssuedKey
from eventsapi.admin.target import Target
from eventsapi.local.gateway import FLUSH_AUTHORIZER_CACHE_PATH


def store(target: Target) -> ApiKeyStore:
    return ApiKeyStore(target.table("ApiKeysTableName"))


def create(target: Target, developer_id: str, scopes: tuple[str, ...]) -> IssuedKey:
    return store(target).create(developer_id, scopes)


def list_keys(target: Target, developer_id: str) -> list[dict[str, Any]]:
    return store(target).list_for(developer_id)


def revoke(target: Target, developer_id: str, key_or_id: str) -> tuple[bool, bool]:
    """(revoked, cache flushed). API Gateway keeps a key's authorization for AuthorizerCacheSeconds;
    flushing the stage's authorizer cache (locally: the local gateway's) ends that at once."""
    if not store(target).revoke(developer_id, key_or_id):
        return False, False
    if not target.deployed:
        return True, _flush_local(target.api_url)
    flush_authorizer_cache(target)
    return True, True


def flush_authorizer_cache(target: Target) -> bool:
    """The stage's authorizer cache (locally: the local gateway's); False when none answered."""
    if not target.deployed:
        return _flush_local(target.api_url)
    target.client("apigateway").flush_stage_authorizers_cache(
        restApiId=target.outputs["ApiId"], stageName=target.outputs["StageName"]
    )
    return True


def _flush_local(api_url: str | None) -> bool:
    """Flush the local gateway's authorizer cache; False when no local API answers there."""
    if not api_url:
        return False
    request = urllib.request.Request(f"{api_url}{FLUSH_AUTHORIZER_CACHE_PATH}", method="DELETE")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 - the local API, http on loopback
            return bool(answer.status == 204)
    except (urllib.error.URLError, OSError):
        return False


# Releases before the per-developer counter gave each developer an API Gateway key in the stack's
# usage plan, named "<usage plan id>:<developer id>"; removing the plan left the keys behind.
LEGACY_KEY_DESCRIPTION = "Events API developer"


def legacy_gateway_keys(target: Target) -> list[dict[str, Any]]:
    """The API Gateway keys older `eventsapi keys create` made (they still count toward the account's
    10,000 keys and authorize nothing now)."""
    apigateway = target.client("apigateway")
    found = []
    for page in apigateway.get_paginator("get_api_keys").paginate(includeValues=False):
        for key in page.get("items", []):
            if key.get("description") == LEGACY_KEY_DESCRIPTION and ":" in key.get("name", ""):
                found.append(key)
    return found


def purge_legacy(target: Target, *, delete: bool) -> list[dict[str, Any]]:
    """The legacy keys, deleted when asked (a dry run lists them)."""
    found = legacy_gateway_keys(target)
    if delete:
        apigateway = target.client("apigateway")
        for key in found:
            apigateway.delete_api_key(apiKey=key["id"])
    return found
