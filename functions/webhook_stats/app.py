"""GET /v1/events/webhooks/{id}/stats (one webhook's health figures) and GET /v1/events/stats (the
developer's overview, one row per webhook), scope read. ?since&until=ISO time (the last 24 hours)
&granularity=minute|hour|day (hour); the overview also &limit=1-25 (10) &cursor=nextCursor."""

from events_core.http import Request, api_handler, caller
from events_core.stats import service


def webhook_stats(request: Request) -> dict:
    developer = caller(request, "read")
    if request.path("id"):
        return service.webhook_stats(developer.developer_id, request.path("id"), request.query)
    return service.overview(developer.developer_id, request.query)


lambda_handler = api_handler(webhook_stats)
