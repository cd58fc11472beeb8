"""PATCH /v1/events/settings: a JSON merge patch (RFC 7396) of the caller's settings (scope write).
200 with the whole document; 400 naming an unknown or invalid field, and nothing changed."""

from events_core.http import Request, api_handler, caller
from events_core.lifecycle import settings


def update_settings(request: Request) -> dict:
    developer = caller(request, "write")
    return settings.patch(developer.developer_id, request.json())


lambda_handler = api_handler(update_settings)
