"""POST /v1/events/listen/{sessionId}/deliveries/{deliveryId}/replay (scope write): one of the
session's kept deliveries waits in it again as a new delivery naming the same stored payload. 202."""

from events_core.http import Answer, Request, api_handler, caller
from events_core.listen import service


def replay_listen_delivery(request: Request) -> Answer:
    developer = caller(request, "write")
    return Answer(service.replay(developer.developer_id, request.path("sessionId"), request.path("deliveryId")), 202)


lambda_handler = api_handler(replay_listen_delivery)
