"""POST /v1/events/expunge: queue a job removing the payloads and receivers' answers of every settled
delivery in [since, until] (of one webhook, or all) (scope write). 202 with the job."""

from events_core.http import Answer, Request, api_handler, caller
from events_core.lifecycle import expunge_jobs


def start_expunge(request: Request) -> Answer:
    developer = caller(request, "write")
    return Answer(expunge_jobs.start(developer.developer_id, request.json()), 202)


lambda_handler = api_handler(start_expunge)
