"""What the MCP server (eventsapi_client.mcp_server) offers agents, on the standard library only:
the developer operations as tools (each calls one operation of openapi.yaml, `operation`), the
event catalogue's resource URIs, and the "why is my webhook failing?" prompt's text. The server
module wires these into the official `mcp` SDK; keeping them here lets the coverage tests and the
base install read them without the SDK.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eventsapi_client.client import Client

SERVER_NAME = "eventsapi"
SERVER_VERSION = "0.1.0"
PROMPT = "why-is-my-webhook-failing"
TYPE_URI = "eventsapi://types/"


def _schema(properties: dict[str, Any] | None = None, required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "properties": properties or {}, "required": list(required), "additionalProperties": False}


STRING = {"type": "string"}
WEBHOOK_ID = {"webhook_id": {"type": "string", "description": "the webhook's id"}}
DELIVERY = {**WEBHOOK_ID, "delivery_id": {"type": "string", "description": "the delivery's id (msg_…)"}}
SESSION = {"session_id": {"type": "string", "description": "the listen session's id"}}


@dataclass(frozen=True)
class Tool:
    name: str
    operation: str  # the openapi.yaml operationId it calls
    description: str
    call: Callable[[Client, dict[str, Any]], Any]
    input_schema: dict[str, Any] = field(default_factory=_schema)
    writes: bool = False
    destructive: bool = False

    def listed(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "inputSchema": self.input_schema,
            "annotations": {
                "readOnlyHint": not self.writes,
                "destructiveHint": self.destructive,
                "openWorldHint": False,
            },
        }


def _recent_deliveries(api: Client, a: dict[str, Any]) -> list[Any]:
    limit = int(a.get("limit") or 20)
    found = []
    for delivery in api.deliveries(a["webhook_id"], status=a.get("status"), since=a.get("since"), page_size=limit):
        found.append(delivery)
        if len(found) >= limit:
            break
    return found


def _logs(api: Client, a: dict[str, Any]) -> list[Any]:
    limit = int(a.pop("limit", None) or 50)
    found = []
    for entry in api.logs(**a, page_size=min(limit, 1000)):
        found.append(entry)
        if len(found) >= limit:
            break
    return found


WEBHOOK_FIELDS = {
    "url": STRING,
    "event": STRING,
    "filter": {"type": "object"},
    "description": STRING,
    "enabled": {"type": "boolean"},
}

TOOLS = (
    Tool(
        "list_webhooks",
        "listWebhooks",
        "Your webhooks: id, event type, URL, enabled, failCount.",
        lambda api, a: api.list_webhooks(),
    ),
    Tool(
        "get_webhook",
        "getWebhook",
        "One webhook, every field (never its secret).",
        lambda api, a: api.get_webhook(a["webhook_id"]),
        _schema(WEBHOOK_ID, ("webhook_id",)),
    ),
    Tool(
        "create_webhook",
        "createWebhook",
        "Register a webhook for one event type (or a pattern: 'workflow.*', '*') at a URL, optionally with a secret.",
        lambda api, a: api.create_webhook(**a),
        _schema(
            {"event": STRING, "url": STRING, "secret": STRING, "filter": {"type": "object"}, "description": STRING},
            ("event", "url"),
        ),
        writes=True,
    ),
    Tool(
        "update_webhook",
        "updateWebhook",
        "Change a webhook's url, event, filter, description or enabled.",
        lambda api, a: api.update_webhook(a.pop("webhook_id"), **a),
        _schema({**WEBHOOK_ID, **WEBHOOK_FIELDS}, ("webhook_id",)),
        writes=True,
    ),
    Tool(
        "pause_webhook",
        "updateWebhook",
        "Pause a webhook: its events end dead until it is enabled and recovered.",
        lambda api, a: api.pause_webhook(a["webhook_id"]),
        _schema(WEBHOOK_ID, ("webhook_id",)),
        writes=True,
    ),
    Tool(
        "enable_webhook",
        "updateWebhook",
        "Turn a paused or auto-disabled webhook back on (failCount 0).",
        lambda api, a: api.enable_webhook(a["webhook_id"]),
        _schema(WEBHOOK_ID, ("webhook_id",)),
        writes=True,
    ),
    Tool(
        "delete_webhook",
        "deleteWebhook",
        "Delete a webhook and its delivery history.",
        lambda api, a: api.delete_webhook(a["webhook_id"]) or {"success": True},
        _schema(WEBHOOK_ID, ("webhook_id",)),
        writes=True,
        destructive=True,
    ),
    Tool(
        "send_test",
        "testWebhook",
        "Send one signed test POST now: delivered, status, latency, error, deliveryId.",
        lambda api, a: api.test_webhook(a.pop("webhook_id"), **a),
        _schema({**WEBHOOK_ID, "event": STRING, "data": {"type": "object"}}, ("webhook_id",)),
        writes=True,
    ),
    Tool(
        "rotate_secret",
        "rotateSecret",
        "Rotate the signing secret; a generated secret is in the answer, once.",
        lambda api, a: api.rotate_secret(
            a["webhook_id"], secret=a.get("secret"), overlap_seconds=a.get("overlap_seconds")
        ),
        _schema({**WEBHOOK_ID, "secret": STRING, "overlap_seconds": {"type": "integer"}}, ("webhook_id",)),
        writes=True,
        destructive=True,
    ),
    Tool(
        "verify_webhook",
        "verifyWebhook",
        "Send the ownership challenge to the webhook's URL now.",
        lambda api, a: api.verify_webhook(a["webhook_id"]),
        _schema(WEBHOOK_ID, ("webhook_id",)),
        writes=True,
    ),
    Tool(
        "webhook_stats",
        "getWebhookStats",
        "Is a webhook healthy? Counts per status, success rate, receiver and event-to-delivered latency p50/p90/p99,"
        " per minute, hour or day (default: the last 24 hours by hour).",
        lambda api, a: api.webhook_stats(
            a["webhook_id"], since=a.get("since"), until=a.get("until"), granularity=a.get("granularity")
        ),
        _schema(
            {**WEBHOOK_ID, "since": STRING, "until": STRING, "granularity": {"enum": ["minute", "hour", "day"]}},
            ("webhook_id",),
        ),
    ),
    Tool(
        "stats_overview",
        "getStatsOverview",
        "Every webhook's health over one window (default the last 24 hours): totals and buckets per webhook.",
        lambda api, a: list(api.stats(since=a.get("since"), until=a.get("until"), granularity=a.get("granularity"))),
        _schema({"since": STRING, "until": STRING, "granularity": {"enum": ["minute", "hour", "day"]}}),
    ),
    Tool(
        "list_ordering_keys",
        "listOrderingKeys",
        "An ordered webhook's blocked keys (onFailure block), each with its dead head delivery.",
        lambda api, a: api.ordering_keys(a["webhook_id"]),
        _schema(WEBHOOK_ID, ("webhook_id",)),
    ),
    Tool(
        "skip_ordering_key",
        "skipOrderingKey",
        'Release a blocked ordering key (its JSON text, like "wf-1"); its next delivery goes.',
        lambda api, a: api.skip_ordering_key(a["webhook_id"], a["key"]),
        _schema({**WEBHOOK_ID, "key": STRING}, ("webhook_id", "key")),
        writes=True,
    ),
    Tool(
        "list_deliveries",
        "listDeliveries",
        "A webhook's deliveries, newest first: status, attempts, last error.",
        _recent_deliveries,
        _schema(
            {
                **WEBHOOK_ID,
                "status": {"enum": ["pending", "succeeded", "retrying", "dead", "failed", "throttled", "held"]},
                "since": STRING,
                "limit": {"type": "integer", "minimum": 1, "maximum": 100},
            },
            ("webhook_id",),
        ),
    ),
    Tool(
        "get_delivery",
        "getDelivery",
        "One delivery: every attempt (status, error, the answer) and the payload.",
        lambda api, a: api.get_delivery(a["webhook_id"], a["delivery_id"]),
        _schema(DELIVERY, ("webhook_id", "delivery_id")),
    ),
    Tool(
        "redeliver",
        "redeliver",
        "Post a delivery's stored payload once more (same delivery id, fresh signatures).",
        lambda api, a: api.redeliver(a["webhook_id"], a["delivery_id"]),
        _schema(DELIVERY, ("webhook_id", "delivery_id")),
        writes=True,
    ),
    Tool(
        "recover",
        "recover",
        "Queue again every dead delivery of a webhook since a time (ISO-8601).",
        lambda api, a: api.recover(a["webhook_id"], a["since"], until=a.get("until")),
        _schema({**WEBHOOK_ID, "since": STRING, "until": STRING}, ("webhook_id", "since")),
        writes=True,
    ),
    Tool(
        "list_logs",
        "listLogs",
        "Your API-call logs, newest first; filter by status (404, 5xx), method, endpoint, time.",
        _logs,
        _schema(
            {
                "status": STRING,
                "method": STRING,
                "endpoint": STRING,
                "since": STRING,
                "until": STRING,
                "limit": {"type": "integer", "minimum": 1, "maximum": 1000},
            }
        ),
    ),
    Tool("list_event_types", "listEventTypes", "Every subscribable event type.", lambda api, a: api.event_types()),
    Tool(
        "get_event_type",
        "getEventType",
        "One event type: description, version, JSON Schema of its data, an example.",
        lambda api, a: api.event_type(a["name"]),
        _schema({"name": STRING}, ("name",)),
    ),
    Tool(
        "validate_event_data",
        "validateEventData",
        "Check data against an event type's schema; changes nothing.",
        lambda api, a: api.validate_event_data(a["name"], a["data"]),
        _schema({"name": STRING, "data": {"type": "object"}}, ("name", "data")),
    ),
    Tool(
        "list_signing_keys",
        "listSigningKeys",
        "The public keys that verify v1a (Ed25519) signatures.",
        lambda api, a: api.signing_keys(),
    ),
    Tool(
        "list_listen_sessions",
        "listListenSessions",
        "Your live listen sessions (eventsapi listen).",
        lambda api, a: api.listen_sessions(),
    ),
    Tool(
        "open_listen_session",
        "openListenSession",
        "Open a listen session: events of its types wait in it.",
        lambda api, a: api.open_listen_session(a.get("events"), a.get("filter")),
        _schema({"events": {"type": "array", "items": STRING}, "filter": {"type": "object"}}),
        writes=True,
    ),
    Tool(
        "next_listen_deliveries",
        "nextListenDeliveries",
        "What waits in a listen session (signed headers, exact body).",
        lambda api, a: api.next_listen_deliveries(a["session_id"], wait=int(a.get("wait", 0))),
        _schema({**SESSION, "wait": {"type": "integer", "minimum": 0, "maximum": 20}}, ("session_id",)),
    ),
    Tool(
        "report_listen_result",
        "reportListenResult",
        "Record what a receiver answered to a listen delivery.",
        lambda api, a: (
            api.report_listen_result(
                a["session_id"],
                a["delivery_id"],
                status=a.get("status"),
                latency_ms=int(a.get("latency_ms", 0)),
                body=a.get("body", ""),
                error=a.get("error"),
            )
            or {"recorded": True}
        ),
        _schema(
            {
                **SESSION,
                "delivery_id": STRING,
                "status": {"type": "integer"},
                "latency_ms": {"type": "integer"},
                "body": STRING,
                "error": STRING,
            },
            ("session_id", "delivery_id"),
        ),
        writes=True,
    ),
    Tool(
        "list_listen_deliveries",
        "listListenDeliveries",
        "A listen session's kept deliveries (its last 100, for a day), newest first.",
        lambda api, a: {"deliveries": api.listen_history(a["session_id"])},
        _schema(SESSION, ("session_id",)),
    ),
    Tool(
        "replay_listen_delivery",
        "replayListenDelivery",
        "Put one of a listen session's kept deliveries back in it as a new delivery (one post of the budget).",
        lambda api, a: api.replay_listen_delivery(a["session_id"], a["delivery_id"]),
        _schema({**SESSION, "delivery_id": STRING}, ("session_id", "delivery_id")),
        writes=True,
    ),
    Tool(
        "end_listen_session",
        "endListenSession",
        "End a listen session; what waits in it is dropped.",
        lambda api, a: api.end_listen_session(a["session_id"]) or {"ended": True},
        _schema(SESSION, ("session_id",)),
        writes=True,
        destructive=True,
    ),
    Tool(
        "trigger_test_event",
        "triggerListen",
        "Put a test event of a type into every live listen session taking it.",
        lambda api, a: api.trigger(a["event"], data=a.get("data")),
        _schema({"event": STRING, "data": {"type": "object"}}, ("event",)),
        writes=True,
    ),
    Tool(
        "get_settings",
        "getSettings",
        "Your settings: retention (payloadDays, responseDays, recordDays) and notifications, with defaults.",
        lambda api, a: api.settings(),
    ),
    Tool(
        "update_settings",
        "updateSettings",
        'Change settings with a JSON merge patch, e.g. {"retention": {"payloadDays": 7}}.',
        lambda api, a: api.update_settings(a["patch"]),
        _schema({"patch": {"type": "object"}}, ("patch",)),
        writes=True,
    ),
    Tool(
        "expunge_delivery_payload",
        "expungeDeliveryPayload",
        "Remove one settled delivery's payload and receivers' answers for good (the record stays).",
        lambda api, a: api.expunge_delivery_payload(a["webhook_id"], a["delivery_id"]) or {"expunged": True},
        _schema({**WEBHOOK_ID, "delivery_id": STRING}, ("webhook_id", "delivery_id")),
        writes=True,
        destructive=True,
    ),
    Tool(
        "start_expunge",
        "startExpunge",
        "Expunge every settled delivery's payload and answers in a window (optionally one webhook's): a job id.",
        lambda api, a: api.start_expunge(a["since"], until=a.get("until"), webhook_id=a.get("webhook_id")),
        _schema({"since": STRING, "until": STRING, **WEBHOOK_ID}, ("since",)),
        writes=True,
        destructive=True,
    ),
    Tool(
        "get_expunge",
        "getExpunge",
        "One expunge job: state (queued, running, done, failed) and how much it removed.",
        lambda api, a: api.get_expunge(a["job_id"]),
        _schema({"job_id": STRING}, ("job_id",)),
    ),
)


def tool_operations() -> dict[str, str]:
    """tool name → the operationId it calls."""
    return {tool.name: tool.operation for tool in TOOLS}


def failing_story(api: Client, webhook_id: str) -> str:
    hook = api.get_webhook(webhook_id)
    recent = _recent_deliveries(api, {"webhook_id": webhook_id, "limit": 20})
    counts: dict[str, int] = {}
    for delivery in recent:
        counts[delivery["status"]] = counts.get(delivery["status"], 0) + 1
    failing = next((d for d in recent if d["status"] not in ("succeeded", "pending")), None)
    attempts = api.get_delivery(webhook_id, failing["deliveryId"]).get("attempts") if failing else []
    return "\n".join(
        [
            f"My webhook {webhook_id} seems to be failing. Work out why from the data below, say what to fix",
            "on the receiving end or in the webhook, and which tools to call afterwards (enable_webhook if it",
            "was disabled, then recover with a `since` before the first failure, or redeliver one delivery).",
            "Read each attempt's status, error and responseExcerpt: 4xx means the receiver refuses the post",
            "(a signature check with a wrong secret, a wrong path); 5xx or timeouts mean it is down or slow;",
            "`held` means the circuit is open; `throttled` the webhook's own rate limit; a 410 disables it.",
            "",
            "The webhook:",
            json.dumps(hook, ensure_ascii=False, indent=2),
            "",
            f"Its last {len(recent)} deliveries by status: {json.dumps(counts)}",
            "",
            "The newest delivery that did not succeed, and its attempts:"
            if failing
            else "No recent delivery failed: the problem may be upstream (no events of this type) or already gone.",
            json.dumps({"delivery": failing, "attempts": attempts}, ensure_ascii=False, indent=2) if failing else "",
        ]
    )


INSTRUCTIONS = (
    "The Events API for a developer: webhooks, their deliveries and attempts, recovery, event types, API-call logs."
    f" Start a failing-webhook investigation with the '{PROMPT}' prompt or list_deliveries then get_delivery."
)
PROMPT_DESCRIPTION = (
    "Why is my webhook failing? Reads the webhook, its recent deliveries and the attempts of the newest failure,"
    " and asks for the cause and the fix"
)
