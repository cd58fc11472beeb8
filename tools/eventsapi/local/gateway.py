"""A local stand-in for the template's API Gateway REST API: its routes, its REQUEST authorizer
(with result caching), its Gateway Responses, and the proxy events its routes would produce."""

import base64
import fnmatch
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from eventsapi.local.invoke import LocalFunction
from eventsapi.local.template import ACCOUNT_ID, Template

log = logging.getLogger("eventsapi.local.gateway")

API_ID = "local"
# The local stand-in for FlushStageAuthorizersCache (what `eventsapi keys revoke` calls deployed):
# `eventsapi --local keys revoke` sends DELETE here, so a revoked key stops at once locally too.
FLUSH_AUTHORIZER_CACHE_PATH = "/_local/authorizer-cache"
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's own limit
# (proxy event or None, method, path, status, latency ms): writes one access-log line.
AccessLogWriter = Callable[[dict | None, str, str, int, int], None]


@dataclass
class Route:
    method: str
    resource: str
    function: str
    authorizer: str | None
    pattern: re.Pattern
    api_key_required: bool = False

    def match(self, path: str) -> dict[str, str] | None:
        found = self.pattern.fullmatch(path)
        return found.groupdict() if found else None


@dataclass
class Authorizer:
    function: str
    headers: list[str]
    ttl: int


class TokenBucket:
    """API Gateway's throttling: `burst` requests at once, refilled at `rate` per second."""

    def __init__(self, rate: float, burst: float):
        self.rate, self.burst = rate, burst
        self.tokens, self.at = burst, time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


@dataclass
class HttpAnswer:
    status: int
    headers: dict[str, str]
    body: bytes
    function: str = "-"


# Characters a terminal acts on instead of showing: C0 and C1 controls, DEL, and the bidirectional
# overrides that reorder what is shown (U+061C, U+200E/F, U+202A-202E, U+2066-2069).
_UNPRINTABLE = frozenset(
    [*range(0x20), *range(0x7F, 0xA0), 0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
)
SHOWN_CHARS = 160


def printable(text: str, limit: int = SHOWN_CHARS) -> str:
    """Client-chosen text as a console may show it: control characters escaped (\\x1b, \\u202e),
    at most `limit` characters of it, and how many more there were. Work is bounded by `limit`."""
    head = text[:limit]
    shown = "".join(
        (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}") if code in _UNPRINTABLE else char
        for char in head
        for code in (ord(char),)
    )
    return shown if len(text) <= limit else f"{shown}…(+{len(text) - limit} chars)"


def _gateway_response(spec: dict) -> dict:
    """An OpenAPI x-amazon-apigateway-gateway-responses entry as the gateway reads it: status,
    JSON template, and static headers (gatewayresponse.header.Name: 'value')."""
    headers = {
        name.removeprefix("gatewayresponse.header."): value
        for name, value in spec.get("responseParameters", {}).items()
        if name.startswith("gatewayresponse.header.")
    }
    return {
        **({"StatusCode": spec["statusCode"]} if "statusCode" in spec else {}),
        "ResponseTemplates": spec.get("responseTemplates", {}),
        "ResponseParameters": {"Headers": headers},
    }


def _compile(resource: str) -> re.Pattern:
    parts = re.split(r"(\{[^}]+\})", resource)
    regex = "".join(
        f"(?P<{part[1:-1].rstrip('+')}>.+)"
        if part.endswith("+}")
        else f"(?P<{part[1:-1]}>[^/]+)"
        if part.startswith("{")
        else re.escape(part)
        for part in parts
    )
    return re.compile(regex)


class LocalGateway:
    def __init__(self, template: Template, functions: dict[str, LocalFunction], api_logical_id: str):
        self.template = template
        self.api_logical_id = api_logical_id
        self.functions = functions
        self.stage = str(template.resolve(template.api_stage(api_logical_id).get("StageName", "prod")))
        self.responses = {
            kind: _gateway_response(spec) for kind, spec in template.gateway_responses(api_logical_id).items()
        }
        self.authorizers = {
            name: Authorizer(function=spec.function, headers=list(spec.headers), ttl=spec.ttl)
            for name, spec in template.api_authorizers(api_logical_id).items()
        }
        # Usage plans of this API: per usage-key throttling, as API Gateway applies it.
        self.usage_throttle: tuple[float, float] | None = None
        for plan in template.of_type("AWS::ApiGateway::UsagePlan").values():
            if any(template.logical_id_of(stage.get("ApiId")) == api_logical_id for stage in plan.get("ApiStages", [])):
                throttle = template.resolve(plan.get("Throttle", {}))
                if throttle:
                    self.usage_throttle = (float(throttle["RateLimit"]), float(throttle["BurstLimit"]))
        self._buckets: dict[str, TokenBucket] = {}
        self.routes = [
            Route(
                method=route.method,
                resource=route.path,
                function=route.function,
                authorizer=route.authorizer,
                pattern=_compile(route.path),
                api_key_required=route.api_key_required,
            )
            for route in template.api_routes(api_logical_id)
        ]
        self._cache: dict[tuple, tuple[float, dict]] = {}
        self._cache_lock = threading.Lock()
        # The stage's access log (None: none written), and other APIs' own for their routes.
        self.access_log: AccessLogWriter | None = None
        self.access_logs: dict[str, AccessLogWriter] = {}
        self.log_delivery: Any = None  # eventsapi.local.access_logs.LogDelivery, once wired

    def flush_authorizer_cache(self) -> None:
        with self._cache_lock:
            self._cache.clear()

    # -- answers
    def gateway_response(self, kind: str, status: int, message: str) -> HttpAnswer:
        """What API Gateway answers itself, rendered from the template's GatewayResponses."""
        spec = self.responses.get(kind) or self.responses.get("DEFAULT_5XX" if status >= 500 else "DEFAULT_4XX") or {}
        body_template = spec.get("ResponseTemplates", {}).get("application/json", json.dumps({"message": message}))
        body = body_template.replace("$context.error.messageString", json.dumps(message)).replace(
            "$context.error.message", message
        )
        status = int(self.responses.get(kind, {}).get("StatusCode", status))
        headers = {"Content-Type": "application/json"}
        for name, value in spec.get("ResponseParameters", {}).get("Headers", {}).items():
            headers[name] = str(value).strip("'")  # static values, quoted as API Gateway wants them
        return HttpAnswer(status=status, headers=headers, body=body.encode())

    # -- the request path
    def handle(
        self, method: str, raw_path: str, headers: list[tuple[str, str]], body: bytes, source_ip: str
    ) -> HttpAnswer:
        """The answer; then the stage's access-log line (`access_log`, eventsapi.local.access_logs)."""
        started = time.monotonic()
        seen: list[tuple[Route, dict]] = []
        answer = self._handle(method, raw_path, headers, body, source_ip, seen)
        route, event = seen[0] if seen else (None, None)
        access_log = self.access_logs.get(route.function if route else "", self.access_log)
        if access_log is not None:
            latency = round((time.monotonic() - started) * 1000)
            access_log(event, method, raw_path.partition("?")[0], answer.status, latency)
        return answer

    def _handle(
        self,
        method: str,
        raw_path: str,
        headers: list[tuple[str, str]],
        body: bytes,
        source_ip: str,
        seen: list[tuple[Route, dict]],
    ) -> HttpAnswer:
        path, _, query = raw_path.partition("?")
        if method == "DELETE" and path == FLUSH_AUTHORIZER_CACHE_PATH:
            self.flush_authorizer_cache()
            return HttpAnswer(status=204, headers={}, body=b"", function="flush-authorizer-cache")
        if len(body) > MAX_PAYLOAD_BYTES:
            return self.gateway_response("REQUEST_TOO_LARGE", 413, "Request Too Long")
        route, path_parameters = self._route(method, path)
        if route is None:
            return self.gateway_response("MISSING_AUTHENTICATION_TOKEN", 403, "Missing Authentication Token")
        event = self._proxy_event(method, route, path, path_parameters, query, headers, body, source_ip)
        seen.append((route, event))
        if route.authorizer:
            denied = self._authorize(route, event)
            if denied:
                return denied
        return self._integrate(route, event)

    def _route(self, method: str, path: str) -> tuple[Route | None, dict[str, str]]:
        for route in self.routes:
            if route.method in (method, "ANY"):
                found = route.match(path)
                if found is not None:
                    return route, found
        return None, {}

    def _proxy_event(
        self,
        method: str,
        route: Route,
        path: str,
        path_parameters: dict,
        query: str,
        headers: list[tuple[str, str]],
        body: bytes,
        source_ip: str,
    ) -> dict:
        multi_headers: dict[str, list[str]] = {}
        for name, value in headers:
            multi_headers.setdefault(name, []).append(value)
        multi_query: dict[str, list[str]] = {}
        for name, value in parse_qsl(query, keep_blank_values=True):
            multi_query.setdefault(name, []).append(value)
        try:
            text, encoded = (body.decode() if body else None), False
        except UnicodeDecodeError:
            text, encoded = base64.b64encode(body).decode(), True
        now = time.time()
        return {
            "resource": route.resource,
            "path": path,
            "httpMethod": method,
            "headers": {name: values[-1] for name, values in multi_headers.items()} or None,
            "multiValueHeaders": multi_headers or None,
            "queryStringParameters": {name: values[-1] for name, values in multi_query.items()} or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": path_parameters or None,
            "stageVariables": None,
            "requestContext": {
                "resourceId": "local",
                "resourcePath": route.resource,
                "httpMethod": method,
                "path": f"/{self.stage}{path}",
                "stage": self.stage,
                "requestId": str(uuid.uuid4()),
                "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
                "requestTimeEpoch": int(now * 1000),
                "accountId": ACCOUNT_ID,
                "apiId": API_ID,
                "protocol": "HTTP/1.1",
                "domainName": "127.0.0.1",
                "identity": {"sourceIp": source_ip, "userAgent": (multi_headers.get("User-Agent") or [""])[-1]},
            },
            "body": text,
            "isBase64Encoded": encoded,
        }

    def _method_arn(self, route: Route, path: str) -> str:
        return self.template.arn("execute-api", f"{API_ID}/{self.stage}/{route.method}{path}")

    def _authorize(self, route: Route, event: dict) -> HttpAnswer | None:
        authorizer = self.authorizers[route.authorizer or ""]
        lowered = {name.lower(): value for name, value in (event["headers"] or {}).items()}
        identity = tuple(lowered.get(name.lower()) for name in authorizer.headers)
        if any(not value for value in identity):
            return self.gateway_response("UNAUTHORIZED", 401, "Unauthorized")
        method_arn = self._method_arn(route, event["path"])
        cache_key = (route.authorizer, identity)
        with self._cache_lock:
            cached = self._cache.get(cache_key)
        if cached and cached[0] > time.monotonic():
            verdict = cached[1]
        else:
            request = {**event, "type": "REQUEST", "methodArn": method_arn}
            try:
                verdict = self.functions[authorizer.function].invoke(request)
            except Exception as error:
                if str(error) == "Unauthorized":
                    return self.gateway_response("UNAUTHORIZED", 401, "Unauthorized")
                log.exception("authorizer failed")
                return self.gateway_response("AUTHORIZER_FAILURE", 500, "Authorizer failure")
            if authorizer.ttl:
                with self._cache_lock:
                    self._cache[cache_key] = (time.monotonic() + authorizer.ttl, verdict)
        if not _allows(verdict.get("policyDocument", {}), method_arn):
            return self.gateway_response("ACCESS_DENIED", 403, "User is not authorized to access this resource")
        event["requestContext"]["authorizer"] = {
            "principalId": verdict.get("principalId"),
            **verdict.get("context", {}),
        }
        if route.api_key_required:
            return self._meter(verdict.get("usageIdentifierKey"))
        return None

    def _meter(self, usage_key: str | None) -> HttpAnswer | None:
        """API keys from the authorizer (ApiKeySourceType AUTHORIZER): none → 403; over the usage
        plan's rate → 429, per key, so one developer's burst never throttles another."""
        if not usage_key:
            return self.gateway_response("INVALID_API_KEY", 403, "Forbidden")
        if self.usage_throttle is None:
            return None
        with self._cache_lock:
            bucket = self._buckets.setdefault(usage_key, TokenBucket(*self.usage_throttle))
            allowed = bucket.take()
        return None if allowed else self.gateway_response("THROTTLED", 429, "Too Many Requests")

    def _integrate(self, route: Route, event: dict) -> HttpAnswer:
        try:
            result = self.functions[route.function].invoke(event)
        except Exception:
            log.exception("function %s failed", route.function)
            answer = self.gateway_response("DEFAULT_5XX", 502, "Internal server error")
            answer.function = route.function
            return answer
        headers = {name: str(value) for name, value in (result.get("headers") or {}).items()}
        for name, values in (result.get("multiValueHeaders") or {}).items():
            headers[name] = ", ".join(str(value) for value in values)
        raw = result.get("body") or ""
        # Text that cannot be UTF-8 (a lone surrogate) is replaced, never a dropped connection.
        body = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode("utf-8", "replace")
        return HttpAnswer(
            status=int(result.get("statusCode", 200)), headers=headers, body=body, function=route.function
        )


def _allows(policy: dict, method_arn: str) -> bool:
    """IAM evaluation as API Gateway does it for execute-api: an explicit Deny wins."""
    allowed = False
    for statement in policy.get("Statement", []):
        resources = statement.get("Resource", [])
        resources = [resources] if isinstance(resources, str) else resources
        if any(fnmatch.fnmatchcase(method_arn, pattern) for pattern in resources):
            if statement.get("Effect") == "Deny":
                return False
            allowed = allowed or statement.get("Effect") == "Allow"
    return allowed
