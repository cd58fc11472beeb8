"""The API's errors as exceptions: every answer that is not 2xx is an `ApiError` with the HTTP
status and the body's `{"error": {"code", "message", "field"}}`, as a subclass per status."""

from typing import Any


class ClientError(Exception):
    """Anything this package raises."""


class NoAnswer(ClientError):
    """The API did not answer (refused, reset, timed out)."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"no answer from {url}: {reason}")
        self.url = url
        self.reason = reason


class ApiError(ClientError):
    """A non-2xx answer. `message` is the API's own, verbatim."""

    status: int = 0

    def __init__(self, status: int, code: str, message: str, field: str | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.body = body

    def __str__(self) -> str:
        return self.message


class BadRequest(ApiError):
    """400: the request is wrong; `field` names the part when one is to blame."""


class Unauthorized(ApiError):
    """401: no key, or not a live one."""


class Forbidden(ApiError):
    """403: the key lacks the scope (a read-only key writing)."""


class NotFound(ApiError):
    """404: no such webhook, delivery, type or route for this key."""


class Conflict(ApiError):
    """409: the state forbids it now (a waiting delivery, the webhook cap)."""


class Gone(ApiError):
    """410: a used or expired link."""


class PayloadTooLarge(ApiError):
    """413: the body is over 64 KiB."""


class Throttled(ApiError):
    """429: a rate limit or a post budget; `retry_after` is the API's Retry-After, in seconds."""

    def __init__(self, *args: Any, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.retry_after = retry_after


class Unavailable(ApiError):
    """503: a dependency refused for a moment; nothing changed; retry."""


class ServerError(ApiError):
    """Any other 5xx."""


BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: Gone,
    413: PayloadTooLarge,
    429: Throttled,
    503: Unavailable,
}


def error_for(status: int, body: Any, retry_after: float | None = None) -> ApiError:
    """The exception for one answer, with the API's code and message (or the status when the body has none)."""
    detail = body.get("error") if isinstance(body, dict) else None
    if not isinstance(detail, dict):
        detail = {}
    code = str(detail.get("code") or f"http_{status}")
    message = str(detail.get("message") or f"the API answered {status}")
    field = detail.get("field")
    kind = BY_STATUS.get(status) or (ServerError if status >= 500 else ApiError)
    if kind is Throttled:
        return Throttled(status, code, message, field, body, retry_after=retry_after)
    return kind(status, code, message, field, body)
