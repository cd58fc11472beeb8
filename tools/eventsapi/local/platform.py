"""Another platform API, locally: the reference's calls to services that are not this stack
(POST /v1/ai/chat, POST /v1/tools/{name}/test), answered by a stand-in behind the platform's key
authorizer. Its stage writes access-log lines in the documented format (events_core.access_logs)
to a log group of its own, subscribed to the ingest function the way a platform stage attaches:
so a developer's call to it shows in their GET /v1/events/logs, as on the platform."""

import json
import time
from typing import Any

from events_core.access_logs import ACCESS_LOG_FORMAT
from eventsapi.local.access_logs import LogDelivery, StageAccessLogLine
from eventsapi.local.gateway import LocalGateway, Route, _compile

PLATFORM_LOG_GROUP = "/aws/apigateway/platform-local/access"
PLATFORM_STAGE = "prod"
FUNCTION = "SimulatedPlatformApi"
ROUTES = (("POST", "/v1/ai/chat"), ("POST", "/v1/tools/{name}/test"))


class SimulatedPlatformApi:
    """Quacks like a LocalFunction: a canned answer per route."""

    def invoke(self, event: dict) -> dict:
        started = time.monotonic()
        developer = ((event.get("requestContext") or {}).get("authorizer") or {}).get("developerId")
        if event.get("resource") == "/v1/ai/chat":
            body: dict[str, Any] = {"reply": "Hello from the simulated AI service.", "userId": developer}
        else:
            body = {"tool": (event.get("pathParameters") or {}).get("name"), "ok": True}
        time.sleep(max(0.0, 0.005 - (time.monotonic() - started)))  # a service takes some time
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


def attach_platform_api(gateway: LocalGateway, delivery: LogDelivery) -> None:
    """The simulated API's routes on the local gateway, its stage's log group subscribed to the
    function this stack's own access log goes to."""
    ingest = next(iter(delivery.subscriptions.values()), None)
    if ingest is None:
        return
    delivery.subscribe(PLATFORM_LOG_GROUP, ingest)
    authorizer = next(iter(gateway.authorizers), None)
    gateway.functions[FUNCTION] = SimulatedPlatformApi()  # type: ignore[assignment]
    for method, resource in ROUTES:
        gateway.routes.append(Route(method, resource, FUNCTION, authorizer, _compile(resource)))
    gateway.access_logs[FUNCTION] = StageAccessLogLine(ACCESS_LOG_FORMAT, PLATFORM_STAGE, PLATFORM_LOG_GROUP, delivery)
