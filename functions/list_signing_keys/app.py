"""GET /v1/events/signing-keys: the service's public keys for v1a (Ed25519) signatures (scope read)."""

from events_core.http import Request, api_handler, caller
from events_core.signing_keys import SigningKeyStore, published


def list_signing_keys(request: Request) -> dict:
    caller(request, "read")
    return {"keys": published(SigningKeyStore())}


lambda_handler = api_handler(list_signing_keys)
