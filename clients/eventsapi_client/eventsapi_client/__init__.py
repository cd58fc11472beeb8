"""eventsapi_client: the Events API from Python.

from eventsapi_client import Client, verify
api = Client()                      # EVENTS_API_URL / EVENTS_API_KEY, else the local stack
hook = api.create_webhook("workflow.completed", "https://example.org/hooks", secret="s3cret")
for delivery in api.deliveries(hook["id"]):
    print(delivery["status"])

verify(raw_body, request_headers, "s3cret")            # a receiver, with the webhook's secret
verify(raw_body, request_headers, api.signing_keys())  # or v1a, with the public keys
"""

from eventsapi_client.client import ApiLog, Client, Delivery, Webhook, operation, operations
from eventsapi_client.errors import (
    ApiError,
    BadRequest,
    ClientError,
    Conflict,
    Forbidden,
    Gone,
    NoAnswer,
    NotFound,
    PayloadTooLarge,
    ServerError,
    Throttled,
    Unauthorized,
    Unavailable,
)
from eventsapi_client.settings import NoApiKey
from eventsapi_client.verify import verify

__all__ = [
    "ApiError",
    "ApiLog",
    "BadRequest",
    "Client",
    "ClientError",
    "Conflict",
    "Delivery",
    "Forbidden",
    "Gone",
    "NoAnswer",
    "NoApiKey",
    "NotFound",
    "PayloadTooLarge",
    "ServerError",
    "Throttled",
    "Unauthorized",
    "Unavailable",
    "Webhook",
    "operation",
    "operations",
    "verify",
]
