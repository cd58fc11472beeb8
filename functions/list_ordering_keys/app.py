"""GET /v1/events/webhooks/{id}/ordering: the webhook's blocked keys, each with its head delivery
(scope read). 200 {blocked: [{key, headDeliveryId, blockedAt, reason}], more}."""

from events_core.http import Answer, Request, api_handler, caller
from events_core.ordering import service


def list_ordering_keys(request: Request) -> Answer:
    developer = caller(request, "read")
    return Answer(service.blocked_keys(developer.developer_id, request.path("id")), 200)


lambda_handler = api_handler(list_ordering_keys)
