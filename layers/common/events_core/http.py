"""The HTTP edge shared by the API functions: the request as a route sees it, the caller, strict JSON
bodies, and the one place where typed errors become answers.

Each function serves exactly one route (API Gateway routes), so there is nothing to dispatch:
`api_handler(route)` turns an API Gateway proxy event into a `Request`, calls the route, and shapes
the answer. Powertools' APIGatewayRestResolver would cost every cold start about 40 ms of imports
(a quarter of boto3's own) to route one route; the Powertools Logger and Metrics stay.

Each request is a span (events_core.tracing) continuing the caller's `traceparent` header when it
sends one; with export on, its store calls are spans under it.
"""

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.logging import correlation_paths

from events_core import jsonsafe, tracing
from events_core.api_keys import Caller
from events_core.config import settings
from events_core.errors import BadRequest, EventsApiError, Forbidden, PayloadTooLarge, Unauthorized
from events_core.observability import Handler, entry_point, logger
from events_core.rate_limit import DeveloperRateLimit

JSON = "application/json"
SCOPES_HEADER = "X-API-Key-Scopes"


@dataclass(frozen=True)
class Answer:
    """What a route answers when it is not a plain JSON object with status 200."""

    body: Any
    status: int = 200
    content_type: str = JSON
    headers: Mapping[str, str] | None = None


def known_query(params: Mapping[str, str], allowed: frozenset[str]) -> dict[str, str]:
    """A route's query parameters, refusing any it does not take: a misspelled filter
    (`?stauts=5xx`) would otherwise answer unfiltered, as if it had matched."""
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise BadRequest(f"unknown parameter(s): {', '.join(u[:32] for u in unknown[:5])}", field=unknown[0][:32])
    return dict(params)


def query_limit(raw: str | None, *, default: int, maximum: int) -> int:
    """A `limit` query parameter: an integer from 1 to `maximum`; `default` when absent."""
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 4) or not 1 <= int(raw) <= maximum:
        raise BadRequest(f"limit: must be an integer from 1 to {maximum}, got {raw[:16]!r}", field="limit")
    return int(raw)


@dataclass(frozen=True)
class Request:
    event: dict
    context: Any

    @property
    def path_parameters(self) -> dict[str, str]:
        return self.event.get("pathParameters") or {}

    def path(self, name: str) -> str:
        return self.path_parameters.get(name, "")

    @property
    def query(self) -> dict[str, str]:
        """Query parameters, one value each (the last, as API Gateway's single-value map has it)."""
        return dict(self.event.get("queryStringParameters") or {})

    @property
    def authorizer(self) -> dict:
        return (self.event.get("requestContext") or {}).get("authorizer") or {}

    def seconds_left(self) -> float:
        return self.context.get_remaining_time_in_millis() / 1000 if self.context is not None else 10.0

    def json(self, *, optional: bool = False) -> Any:
        """The body as strict JSON (events_core.jsonsafe); `optional`: an absent body is {}."""
        raw = self.event.get("body") or ""
        if self.event.get("isBase64Encoded"):
            try:
                payload = base64.b64decode(raw, validate=True)
            except (binascii.Error, ValueError):  # ValueError: characters outside ASCII
                raise BadRequest("body: is not valid base64") from None
        else:
            payload = raw.encode("utf-8", "surrogatepass")
        limit = settings().max_body_bytes
        if len(payload) > limit:
            raise PayloadTooLarge(f"body: must be at most {limit} bytes, got {len(payload)}")
        if optional and not payload:
            return {}
        if not payload.strip():
            raise BadRequest("body: a JSON object is required")
        try:
            # Decode first: json.loads(bytes) would guess UTF-16/32 from a byte-order mark.
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest("body: must be UTF-8") from None
        try:
            return jsonsafe.loads(text)
        except jsonsafe.InvalidJson as error:
            raise BadRequest(f"body: {error}") from None


def caller(request: Request, scope: str) -> Caller:
    """The authorizer's verdict, passed in the request context; 403 when `scope` is not granted."""
    context = request.authorizer
    developer_id = context.get("developerId")
    if not developer_id:
        raise Unauthorized("missing or unknown API key")
    scopes = frozenset(filter(None, str(context.get("scopes", "")).split(",")))
    if scope not in scopes:
        raise Forbidden(f"this API key lacks the {scope!r} scope")
    return Caller(developer_id=developer_id, scopes=scopes)


def error_body(code: str, message: str, field: str | None = None, details: list[dict] | None = None) -> str:
    error: dict[str, Any] = {"code": code, "message": message}
    if field:
        error["field"] = field
    if details:
        error["details"] = details
    return json.dumps({"error": error})


def _proxy_answer(answer: Answer) -> dict:
    body = answer.body if isinstance(answer.body, str) else json.dumps(answer.body, separators=(",", ":"))
    return {
        "statusCode": answer.status,
        "headers": {"Content-Type": answer.content_type, **(answer.headers or {})},
        "body": body,
        "isBase64Encoded": False,
    }


def error_answer(error: EventsApiError) -> dict:
    return _proxy_answer(
        Answer(error_body(error.code, error.message, error.field, error.details), error.status, headers=error.headers)
    )


def _count_the_caller(event: dict) -> None:
    """The developer's rate, before anything else (routes without a caller, the console's, are free)."""
    developer_id = ((event.get("requestContext") or {}).get("authorizer") or {}).get("developerId")
    if developer_id:
        DeveloperRateLimit().admit(str(developer_id))


def answer_of(route: Callable[[Request], Any], event: dict, context: Any) -> dict:
    """Call the route; typed errors become their answers, anything else a logged 500."""
    try:
        _count_the_caller(event)
        result = route(Request(event, context))
        answer = _proxy_answer(result if isinstance(result, Answer) else Answer(result))
        scopes = ((event.get("requestContext") or {}).get("authorizer") or {}).get("scopes")
        if scopes:  # the key's own scopes, so the console can disable what a read-only key cannot do
            answer["headers"][SCOPES_HEADER] = str(scopes)
        return answer
    except EventsApiError as error:
        logger.info("request refused", extra={"status": error.status, "code": error.code, "reason": error.message})
        return error_answer(error)
    except Exception:  # noqa: BLE001 - the one place an unexpected error becomes an answer (and is logged)
        logger.exception("unexpected error")
        return error_answer(EventsApiError("internal error; it has been logged"))


def _caller_trace(event: dict) -> tracing.TraceContext | None:
    headers = {str(name).lower(): value for name, value in (event.get("headers") or {}).items()}
    return tracing.parse(headers.get("traceparent"), headers.get("tracestate"))


def _span_name(event: dict) -> str:
    return f"{event.get('httpMethod', 'GET')} {event.get('resource') or event.get('path') or '/'}"


def _span_attributes(event: dict) -> dict[str, str]:
    developer_id = ((event.get("requestContext") or {}).get("authorizer") or {}).get("developerId")
    found = {"http.request.method": str(event.get("httpMethod", "")), "http.route": str(event.get("resource", ""))}
    if developer_id:
        found["events_api.developer_id"] = str(developer_id)
    return found


def api_handler(route: Callable[[Request], Any]) -> Handler:
    """The Lambda entry point of an API function: shared stack, then the route. (Its call log is
    the stage's access-log line, ingested like every platform API's: events_core.access_logs.)"""

    @entry_point(correlation_paths.API_GATEWAY_REST)
    def handler(event: dict, context: Any) -> dict:
        if not tracing.exporting():
            return answer_of(route, event, context)
        with tracing.span(_span_name(event), _caller_trace(event), attributes=_span_attributes(event)):
            answer = answer_of(route, event, context)
            tracing.annotate({"http.response.status_code": answer.get("statusCode", 0)})
            return answer

    return handler
