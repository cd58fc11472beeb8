"""POST /v1/events/webhooks/{id}/ordering/{key}/skip: release a blocked key; its dead head stays
dead (recoverable) and the key's next delivery goes (scope write). 200 {key, skippedDeliveryId}."""

from events_core.http import Answer, Request, api_handler, caller
from events_core.ordering import service


def skip_ordering_key(request: Request) -> Answer:
    developer = caller(request, "write")
    return Answer(service.skip_key(developer.developer_id, request.path("id"), request.path("key")), 200)


lambda_handler = api_handler(skip_ordering_key)
