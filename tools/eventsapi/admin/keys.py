"""API keys for operators: create, list, revoke (and flush the stage's authorizer cache, so a
revoked key stops at once). A developer owns no AWS resource: their rate is counted in a table
(events_core.rate_limit), so there is nothing to attach or sync when a stack is rebuilt."""

from typing import Any

from events_core.api_keys import ApiKeyStore, IssuedKey
from eventsapi.admin.target import Target


def store(target: Target) -> ApiKeyStore:
    return ApiKeyStore(target.table("ApiKeysTableName"))


def create(target: Target, developer_id: str, scopes: tuple[str, ...]) -> IssuedKey:
    return store(target).create(developer_id, scopes)


def list_keys(target: Target, developer_id: str) -> list[dict[str, Any]]:
    return store(target).list_for(developer_id)


def revoke(target: Target, developer_id: str, key_or_id: str) -> tuple[bool, bool]:
    """(revoked, cache flushed). On a deployed stack API Gateway keeps a key's authorization for
    AuthorizerCacheSeconds; flushing the stage's authorizer cache ends that at once."""
    if not store(target).revoke(developer_id, key_or_id):
        return False, False
    if not target.deployed:
        return True, False
    flush_authorizer_cache(target)
    return True, True


def flush_authorizer_cache(target: Target) -> None:
    target.client("apigateway").flush_stage_authorizers_cache(
        restApiId=target.outputs["ApiId"], stageName=target.outputs["StageName"]
    )
