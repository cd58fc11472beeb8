"""The HTTP edge shared by the API functions: resolver, error mapping (the one place), callers, bodies."""

import base64
import binascii
import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths

from events_core import jsonsafe
from events_core.api_keys import Caller
from events_core.api_logs import record_api_call
from events_core.config import settings
from events_core.errors import BadRequest, EventsApiError, Forbidden, NotFound, PayloadTooLarge, Unauthorized
from events_core.observability import Handler, entry_point, logger


def error_body(code: str, message: str, field: str | None = None) -> str:
    error: dict[str, Any] = {"code": code, "message": message}
    if field:
        error["field"] = field
    return json.dumps({"error": error})


def error_response(error: EventsApiError) -> Response:
    return Response(
        status_code=error.status,
        content_type="application/json",
        body=error_body(error.code, error.message, error.field),
    )


def build_api() -> APIGatewayRestResolver:
    app = APIGatewayRestResolver()

    @app.exception_handler(EventsApiError)
    def _domain_error(error: EventsApiError) -> Response:
        logger.info("request refused", extra={"status": error.status, "code": error.code, "reason": error.message})
        return error_response(error)

    @app.not_found
    def _no_route(_: Exception) -> Response:
        return error_response(NotFound("no such route"))

    @app.exception_handler(Exception)
    def _unexpected(_: Exception) -> Response:
        logger.exception("unexpected error")
        return error_response(EventsApiError("internal error; it has been logged"))

    return app


def caller(app: APIGatewayRestResolver, scope: str) -> Caller:
    """The authorizer's verdict, passed in the request context; 403 when `scope` is not granted."""
    context = app.current_event.raw_event.get("requestContext", {}).get("authorizer") or {}
    developer_id = context.get("developerId")
    if not developer_id:
        raise Unauthorized("missing or unknown API key")
    scopes = frozenset(filter(None, str(context.get("scopes", "")).split(",")))
    if scope not in scopes:
        raise Forbidden(f"this API key lacks the {scope!r} scope")
    return Caller(developer_id=developer_id, scopes=scopes)


def json_body(app: APIGatewayRestResolver, *, optional: bool = False) -> Any:
    """The request body as strict JSON (events_core.jsonsafe); `optional`: an empty body is {}."""
    raw = app.current_event.body or ""
    if app.current_event.is_base64_encoded:
        try:
            payload = base64.b64decode(raw, validate=True)
        except binascii.Error:
            raise BadRequest("body: is not valid base64") from None
    else:
        payload = raw.encode()
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


def query(app: APIGatewayRestResolver) -> dict[str, str]:
    """Query parameters, one value each (the last, as API Gateway's single-value map has it)."""
    return dict(app.current_event.query_string_parameters or {})


def seconds_left(app: APIGatewayRestResolver) -> float:
    context = app.lambda_context
    return context.get_remaining_time_in_millis() / 1000 if context is not None else 10.0


def api_handler(app: APIGatewayRestResolver) -> Handler:
    """The Lambda entry point of an API function: shared stack, call log, then the resolver."""

    @entry_point(correlation_paths.API_GATEWAY_REST)
    @record_api_call
    def handler(event: dict, context: Any) -> dict:
        return app.resolve(event, context)

    return handler
