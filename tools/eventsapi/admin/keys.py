"""API keys for operators: create (with the developer's usage-plan key on a deployed stack), list,
revoke (and flush the stage's authorizer cache, so a revoked key stops at once)."""

import urllib.error
import urllib.request
from typing import Any

from botocore.exceptions import ClientError

from events_core.api_keys import ApiKeyStore, IssuedKey, usage_key_for
from eventsapi.admin.target import Target
from eventsapi.local.gateway import FLUSH_AUTHORIZER_CACHE_PATH


def store(target: Target) -> ApiKeyStore:
    return ApiKeyStore(target.table("ApiKeysTableName"))


def ensure_usage_key(target: Target, developer_id: str) -> str:
    """The developer's API Gateway key in the stack's usage plan (created once; all their keys share
    it). Locally the gateway meters by the same value, with no key to create."""
    value = usage_key_for(developer_id)
    if not target.deployed:
        return value
    apigateway = target.client("apigateway")
    name = f"{target.outputs['UsagePlanId']}:{developer_id}"[:1024]
    found = apigateway.get_api_keys(nameQuery=name, includeValues=True).get("items", [])
    key = next((item for item in found if item.get("name") == name), None)
    if key is None:
        key = apigateway.create_api_key(name=name, value=value, enabled=True, description="Events API developer")
    try:
        apigateway.create_usage_plan_key(usagePlanId=target.outputs["UsagePlanId"], keyId=key["id"], keyType="API_KEY")
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ConflictException":  # already in the plan
            raise
    return value


def create(target: Target, developer_id: str, scopes: tuple[str, ...]) -> IssuedKey:
    ensure_usage_key(target, developer_id)
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
    target.client("apigateway").flush_stage_authorizers_cache(
        restApiId=target.outputs["ApiId"], stageName=target.outputs["StageName"]
    )
    return True, True


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
