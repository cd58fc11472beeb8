"""Typed domain errors. The HTTP layer (events_core.http) maps them to answers in one place."""


class EventsApiError(Exception):
    status = 500
    code = "internal_error"
    headers: dict[str, str] | None = None  # extra answer headers (Retry-After on a spent budget)

    def __init__(self, message: str, *, field: str | None = None, details: list[dict] | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details  # item by item, when one message cannot say it all (schema errors)


class BadRequest(EventsApiError):
    status = 400
    code = "invalid_request"


class Unauthorized(EventsApiError):
    status = 401
    code = "unauthorized"


class Forbidden(EventsApiError):
    status = 403
    code = "forbidden"


class NotFound(EventsApiError):
    status = 404
    code = "not_found"


class Conflict(EventsApiError):
    status = 409
    code = "conflict"


class LimitExceeded(Conflict):
    code = "limit_exceeded"


class PayloadExpired(Conflict):
    code = "payload_expired"


class DeliveryWaiting(Conflict):
    """A redeliver of a delivery that is `held` (its webhook's circuit is open) or `throttled`
    (waiting for its rate-limit slot): it is already on its way; a second post would bypass both."""

    code = "delivery_waiting"


class Unverified(Conflict):
    """EndpointVerification is required and the webhook's URL has not proven it wants the posts."""

    code = "unverified"


class PayloadTooLarge(EventsApiError):
    status = 413
    code = "payload_too_large"


class RateLimited(EventsApiError):
    """The developer spent this window's calls; `retry_after` seconds until the next window."""

    status = 429
    code = "throttled"

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after
        self.headers = {"Retry-After": str(retry_after)}


class Unavailable(EventsApiError):
    """A dependency failed for a moment; the request changed nothing and may be retried."""

    status = 503
    code = "unavailable"


class InvalidEvent(Exception):
    """A platform event that can never be delivered (bad envelope); it goes to a dead-letter queue."""
