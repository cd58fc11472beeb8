"""GET /v1/events/expunge/{jobId}: one of the caller's expunge jobs (scope read)."""

from events_core.http import Request, api_handler, caller
from events_core.lifecycle import expunge_jobs


def get_expunge(request: Request) -> dict:
    developer = caller(request, "read")
    return expunge_jobs.get(developer.developer_id, request.path("jobId"))


lambda_handler = api_handler(get_expunge)
