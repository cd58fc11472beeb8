"""GET /v1/events/settings: the caller's whole settings document, every field with its default
where nothing was chosen (scope read)."""

from events_core.http import Request, api_handler, caller
from events_core.lifecycle import settings


def get_settings(request: Request) -> dict:
    developer = caller(request, "read")
    return settings.get(developer.developer_id)


lambda_handler = api_handler(get_settings)
