"""POST /v1/events/webhooks/{id}/deliveries/{deliveryId}/redeliver: post the stored payload once
more, whatever the delivery's status (scope write). 202: queued."""

from events_core.history import service
from events_core.http import Answer, Request, api_handler, caller


def redeliver(request: Request) -> Answer:
    developer = caller(request, "write")
    return Answer(service.redeliver(developer.developer_id, request.path("id"), request.path("deliveryId")), 202)


lambda_handler = api_handler(redeliver)
