"""DELETE /v1/events/webhooks/{id}/deliveries/{deliveryId}/payload: remove one settled delivery's
payload and receivers' answers; the record stays, expunged (scope write). 204."""

from events_core.http import Answer, Request, api_handler, caller
from events_core.lifecycle import expunge


def expunge_delivery_payload(request: Request) -> Answer:
    developer = caller(request, "write")
    expunge.expunge_delivery(developer.developer_id, request.path("id"), request.path("deliveryId"))
    return Answer("", 204)


lambda_handler = api_handler(expunge_delivery_payload)
