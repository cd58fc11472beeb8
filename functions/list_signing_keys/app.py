"""GET /v1/events/signing-keys: the caller's own public keys for v1a (Ed25519) signatures (scope read)."""

from events_core.http import Request, api_handler, caller
from events_core.signing_keys import SigningKeyStore, published


def list_signing_keys(request: Request) -> dict:
    developer = caller(request, "read").developer_id
    return {"keys": published(SigningKeyStore(), developer)}


lambda_handler = api_handler(list_signing_keys)
