"""The developer's commands, on eventsapi_client: an API key, never AWS credentials.

eventsapi webhooks list|get|create|update|delete|pause|enable|test|rotate|verify|signing-keys
eventsapi deliveries list|get|redeliver WEBHOOK_ID …
eventsapi recover WEBHOOK_ID --since 2h
eventsapi types [NAME] [--validate DATA]
eventsapi logs [--status 5xx] [--method POST] [--endpoint /v1/ai] [--since 1h] [--follow]
eventsapi sessions                                   # live listen sessions
eventsapi listen history [SESSION_ID] | replay DELIVERY_ID [--session ID]
eventsapi mcp                                        # an MCP server for agents, on stdio

The API and key: --api-url / --api-key, else EVENTS_API_URL / EVENTS_API_KEY, else the local stack
(http://127.0.0.1:3000). Tables by default, --json for scripts; global flags go before or after
the subcommand. Exit codes: 0 done; 1 the API refused (its message is printed as it is) or a test
send / ownership check did not pass, or data is invalid; 2 a usage mistake (a flag, no key, bad
JSON); 3 the API did not answer.
"""

import argparse
import json
import re
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

from eventsapi_client import ApiError, Client, NoAnswer, NoApiKey, Throttled
from eventsapi_client.settings import BadApiUrl

EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_NO_ANSWER = 0, 1, 2, 3
EXIT_CODES = (
    "exit codes: 0 done; 1 the API refused (its message as it is), a test send or ownership check did not "
    "pass, or data is invalid; 2 a usage mistake; 3 the API did not answer"
)
FOLLOW_INTERVAL_SECONDS = 2.0
RELATIVE = re.compile(r"^(\d+)([smhd])$")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
Handler = Callable[[Client, argparse.Namespace], int]


class Usage(Exception):
    """A mistake at the command line: exit 2."""


# -- input ----------------------------------------------------------------------------------------


def json_value(text: str, what: str) -> Any:
    """JSON given inline, as @file, or - (stdin)."""
    if text == "-":
        text = sys.stdin.read()
    elif text.startswith("@"):
        try:
            text = Path(text[1:]).read_text()
        except OSError as error:
            raise Usage(f"{what}: cannot read {text[1:]}: {error.strerror}") from None
    try:
        return json.loads(text)
    except ValueError as error:
        raise Usage(f"{what}: not JSON ({error})") from None


def instant(text: str | None) -> str | None:
    """ISO-8601 as given, or a time ago: 30s, 15m, 2h, 7d."""
    if text is None:
        return None
    relative = RELATIVE.match(text)
    if not relative:
        return text
    ago = datetime.now(UTC) - timedelta(**{UNITS[relative.group(2)]: int(relative.group(1))})
    return ago.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ago.microsecond // 1000:03d}Z"


def settings_of(args: argparse.Namespace) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name in ("url", "event", "description"):
        if getattr(args, name, None) is not None:
            fields[name] = getattr(args, name)
    if getattr(args, "filter", None) is not None:
        fields["filter"] = json_value(args.filter, "--filter")
    ordering = ordering_of(args)
    if ordering is not None:
        fields["ordering"] = ordering
    for pair in getattr(args, "set", None) or []:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise Usage(f"--set takes NAME=VALUE (VALUE as JSON, else text), got {pair!r}")
        try:
            fields[name] = json.loads(value)
        except ValueError:
            fields[name] = value
    return fields


def ordering_of(args: argparse.Namespace) -> dict[str, Any] | None:
    """--order-by PATH [--order-window-ms N] [--on-failure skip|block] → the webhook's `ordering`."""
    by = getattr(args, "order_by", None)
    window, on_failure = getattr(args, "order_window_ms", None), getattr(args, "on_failure", None)
    if by is None:
        if window is not None or on_failure is not None:
            raise Usage("--order-window-ms and --on-failure need --order-by PATH (the key's dot path into data)")
        return None
    ordering: dict[str, Any] = {"by": by}
    if window is not None:
        ordering["windowMs"] = window
    if on_failure is not None:
        ordering["onFailure"] = on_failure
    return ordering


# -- output ---------------------------------------------------------------------------------------


def shown(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def table(header: list[str], rows: Iterable[list[Any]]) -> str:
    lines = [header, *([shown(cell) for cell in row] for row in rows)]
    widths = [max(len(line[column]) for line in lines) for column in range(len(header) - 1)]
    return "\n".join(
        "  ".join([*(cell.ljust(width) for cell, width in zip(line, widths, strict=False)), line[-1]]).rstrip()
        for line in lines
    )


def emit(args: argparse.Namespace, data: Any, text: Callable[[], str]) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2) if args.json else text())


def fields_text(record: dict[str, Any], skip: tuple[str, ...] = ()) -> str:
    return "\n".join(f"{name + ':':<16}{shown(value)}" for name, value in record.items() if name not in skip)


def state_of(hook: Mapping[str, Any]) -> str:
    if hook.get("enabled"):
        return "enabled"
    return f"off ({hook.get('disabledReason') or 'manual'})"


WEBHOOK_COLUMNS = ["id", "event", "state", "fails", "last triggered", "url"]


def webhook_row(hook: Mapping[str, Any]) -> list[Any]:
    return [hook["id"], hook["event"], state_of(hook), hook.get("failCount"), hook.get("lastTriggered"), hook["url"]]


DELIVERY_COLUMNS = ["delivery id", "event", "status", "tries", "last", "created", "last error"]


def delivery_row(delivery: Mapping[str, Any]) -> list[Any]:
    status = delivery["status"] + (" (test)" if delivery.get("test") else "")
    return [
        delivery["deliveryId"],
        delivery["event"],
        status,
        delivery.get("attemptCount"),
        delivery.get("lastStatus"),
        delivery.get("createdAt"),
        delivery.get("lastError"),
    ]


LOG_COLUMNS = ["time", "method", "status", "ms", "endpoint"]


def log_row(entry: Mapping[str, Any]) -> list[Any]:
    return [entry["timestamp"], entry["method"], entry["status"], entry["responseTime"], entry["endpoint"]]


# -- commands -------------------------------------------------------------------------------------


def webhooks_list(api: Client, args: argparse.Namespace) -> int:
    hooks = api.list_webhooks()
    emit(
        args,
        hooks,
        lambda: (
            table(WEBHOOK_COLUMNS, map(webhook_row, hooks))
            if hooks
            else "no webhooks yet: eventsapi webhooks create --event TYPE --url URL"
        ),
    )
    return EXIT_OK


def webhooks_get(api: Client, args: argparse.Namespace) -> int:
    hook = api.get_webhook(args.id)
    emit(args, hook, lambda: fields_text(dict(hook), skip=("_id",)))
    return EXIT_OK


def webhooks_create(api: Client, args: argparse.Namespace) -> int:
    fields = settings_of(args)
    if args.secret is not None:
        fields["secret"] = args.secret
    hook = api.create_webhook(fields.pop("event"), fields.pop("url"), **fields)
    emit(args, hook, lambda: f"created {hook['id']}: {hook['event']} → {hook['url']} ({state_of(dict(hook))})")
    return EXIT_OK


def webhooks_update(api: Client, args: argparse.Namespace) -> int:
    fields = settings_of(args)
    if not fields:
        raise Usage("nothing to change: give --url, --event, --filter, --description or --set NAME=VALUE")
    hook = api.update_webhook(args.id, **fields)
    emit(args, hook, lambda: f"updated {hook['id']}: {hook['event']} → {hook['url']} ({state_of(dict(hook))})")
    return EXIT_OK


def webhooks_ordering(api: Client, args: argparse.Namespace) -> int:
    answer = api.ordering_keys(args.id)
    blocked = answer.get("blocked") or []
    emit(
        args,
        answer,
        lambda: (
            table(
                ["key", "head delivery", "blocked at"],
                ([b["key"], b["headDeliveryId"], b["blockedAt"]] for b in blocked),
            )
            if blocked
            else "no blocked keys"
        ),
    )
    return EXIT_OK


def webhooks_skip_key(api: Client, args: argparse.Namespace) -> int:
    answer = api.skip_ordering_key(args.id, args.key)
    emit(
        args,
        answer,
        lambda: f"key {answer['key']} goes on; {answer['skippedDeliveryId']} stays dead (redeliver sends it)",
    )
    return EXIT_OK


def webhooks_delete(api: Client, args: argparse.Namespace) -> int:
    api.delete_webhook(args.id)
    emit(args, {"success": True, "id": args.id}, lambda: f"deleted {args.id}")
    return EXIT_OK


def webhooks_pause(api: Client, args: argparse.Namespace) -> int:
    hook = api.pause_webhook(args.id)
    emit(args, hook, lambda: f"paused {hook['id']}: events for it wait as dead deliveries; `recover` sends them")
    return EXIT_OK


def webhooks_enable(api: Client, args: argparse.Namespace) -> int:
    hook = api.enable_webhook(args.id)
    emit(args, hook, lambda: f"enabled {hook['id']} ({state_of(dict(hook))})")
    return EXIT_OK


def webhooks_test(api: Client, args: argparse.Namespace) -> int:
    data = json_value(args.data, "--data") if args.data is not None else None
    result = api.test_webhook(args.id, event=args.event, data=data)

    def text() -> str:
        if result.get("delivered"):
            return (
                f"delivered: {result.get('status')} in {result.get('latencyMs')} ms (delivery {result['deliveryId']})"
            )
        return f"not delivered: {result.get('error') or result.get('status')} (delivery {result['deliveryId']})"

    emit(args, result, text)
    return EXIT_OK if result.get("delivered") else EXIT_REFUSED


def webhooks_rotate(api: Client, args: argparse.Namespace) -> int:
    hook = api.rotate_secret(args.id, secret=args.secret, overlap_seconds=args.overlap_seconds)

    def text() -> str:
        if "secret" in hook:
            return f"rotated {hook['id']}; the new secret, shown only this once:\n{hook['secret']}"
        return f"rotated {hook['id']} to the secret given; the old one keeps signing during the overlap"

    emit(args, hook, text)
    return EXIT_OK


def webhooks_verify(api: Client, args: argparse.Namespace) -> int:
    result = api.verify_webhook(args.id)
    emit(
        args,
        result,
        lambda: (
            f"verified in {result['latencyMs']} ms"
            if result["verified"]
            else f"not verified: {result.get('error', '')}"
        ),
    )
    return EXIT_OK if result["verified"] else EXIT_REFUSED


def webhooks_signing_keys(api: Client, args: argparse.Namespace) -> int:
    keys = api.signing_keys()
    emit(
        args,
        keys,
        lambda: (
            table(
                ["kid", "alg", "created", "expires", "public key"],
                ([k["kid"], k["alg"], k["createdAt"], k["expiresAt"], k["publicKey"]] for k in keys),
            )
            if keys
            else "no signing keys yet: the first v1a webhook makes one"
        ),
    )
    return EXIT_OK


STATS_COLUMNS = ["start", "attempts", "ok %", "retrying", "dead", "throttled", "held", "p50 ms", "p99 ms"]
OVERVIEW_COLUMNS = ["webhook id", "url", "attempts", "ok %", "dead", "p50 ms", "p99 ms"]


def _rate(figures: Mapping[str, Any]) -> str:
    rate = figures.get("successRate")
    return "-" if rate is None else f"{rate * 100:.1f}"


def _latency(figures: Mapping[str, Any], name: str) -> Any:
    return (figures.get("receiverLatencyMs") or {}).get(name, "-")


def _stats_row(start: str, figures: Mapping[str, Any]) -> list[Any]:
    return [
        start,
        figures["attempts"],
        _rate(figures),
        figures["retrying"],
        figures["dead"],
        figures["throttled"],
        figures["held"],
        _latency(figures, "p50"),
        _latency(figures, "p99"),
    ]


def webhooks_stats(api: Client, args: argparse.Namespace) -> int:
    answer = api.webhook_stats(
        args.id, since=instant(args.since), until=instant(args.until), granularity=args.granularity
    )

    def text() -> str:
        rows = [_stats_row(b["start"], b) for b in answer["buckets"] if b["attempts"] or b["throttled"] or b["held"]]
        rows.append(_stats_row("total", answer["totals"]))
        return f"{answer['webhookId']}: {answer['since']} → {answer['until']} by {answer['granularity']}\n" + table(
            STATS_COLUMNS, rows
        )

    emit(args, answer, text)
    return EXIT_OK


def stats_overview(api: Client, args: argparse.Namespace) -> int:
    rows = list(api.stats(since=instant(args.since), until=instant(args.until), granularity="hour"))

    def text() -> str:
        if not rows:
            return "no webhooks"
        return table(
            OVERVIEW_COLUMNS,
            (
                [
                    row["webhookId"],
                    row["url"],
                    row["totals"]["attempts"],
                    _rate(row["totals"]),
                    row["totals"]["dead"],
                    _latency(row["totals"], "p50"),
                    _latency(row["totals"], "p99"),
                ]
                for row in rows
            ),
        )

    emit(args, rows, text)
    return EXIT_OK


def deliveries_list(api: Client, args: argparse.Namespace) -> int:
    found = list(
        islice(
            api.deliveries(
                args.webhook_id, status=args.status, since=instant(args.since), page_size=min(args.limit, 100)
            ),
            args.limit,
        )
    )
    emit(
        args,
        found,
        lambda: (
            table(DELIVERY_COLUMNS, map(delivery_row, found))
            if found
            else f"no deliveries for {args.webhook_id}" + (f" with status {args.status}" if args.status else "")
        ),
    )
    return EXIT_OK


def deliveries_get(api: Client, args: argparse.Namespace) -> int:
    delivery: dict[str, Any] = dict(api.get_delivery(args.webhook_id, args.delivery_id))

    def text() -> str:
        attempts: list[dict[str, Any]] = delivery.get("attempts") or []
        parts = [fields_text(delivery, skip=("attempts", "payload"))]
        if attempts:
            columns = ["#", "at", "trigger", "status", "ms", "error", "answer"]
            rows = (
                [
                    a["attempt"],
                    a["attemptedAt"],
                    a["trigger"],
                    a["status"],
                    a["latencyMs"],
                    a["error"],
                    a["responseExcerpt"],
                ]
                for a in attempts
            )
            parts += ["", table(columns, rows)]
        else:
            parts += ["", "no attempts yet"]
        parts += ["", f"payload: {delivery.get('payload') or '-'}"]
        return "\n".join(parts)

    emit(args, delivery, text)
    return EXIT_OK


def deliveries_redeliver(api: Client, args: argparse.Namespace) -> int:
    answer = api.redeliver(args.webhook_id, args.delivery_id)
    emit(args, answer, lambda: f"queued {answer['deliveryId']} again: same delivery id, fresh timestamp and signatures")
    return EXIT_OK


def recover(api: Client, args: argparse.Namespace) -> int:
    since = instant(args.since) or args.since
    answer = api.recover(args.webhook_id, since, until=instant(args.until))
    window = answer.get("window") or {}
    emit(
        args,
        answer,
        lambda: (
            f"queued {answer['queued']} dead deliveries again"
            + (f" ({answer['notQueued']} not queued)" if answer.get("notQueued") else "")
            + f"; window {window.get('since', since)} → {window.get('until', 'now')}"
        ),
    )
    return EXIT_OK


def settings_show(api: Client, args: argparse.Namespace) -> int:
    document = api.settings()
    emit(args, document, lambda: json.dumps(document, indent=2))
    return EXIT_OK


def settings_set(api: Client, args: argparse.Namespace) -> int:
    document = api.update_settings(json_value(args.patch, "PATCH"))
    emit(args, document, lambda: json.dumps(document, indent=2))
    return EXIT_OK


def deliveries_expunge(api: Client, args: argparse.Namespace) -> int:
    api.expunge_delivery_payload(args.webhook_id, args.delivery_id)
    emit(args, {"expunged": True}, lambda: f"expunged {args.delivery_id}: its payload and answers are gone")
    return EXIT_OK


def expunge_start(api: Client, args: argparse.Namespace) -> int:
    since = instant(args.since) or args.since
    answer = api.start_expunge(since, until=instant(args.until), webhook_id=args.webhook)
    emit(args, answer, lambda: f"expunge job {answer['jobId']} queued: `eventsapi expunge get {answer['jobId']}`")
    return EXIT_OK


def expunge_get(api: Client, args: argparse.Namespace) -> int:
    job = api.get_expunge(args.job_id)
    emit(args, job, lambda: f"{job.get('jobId', args.job_id)}  {job.get('state')}  removed {job.get('removed', 0)}")
    return EXIT_OK


def types(api: Client, args: argparse.Namespace) -> int:
    if args.name is None:
        if args.validate is not None:
            raise Usage("--validate needs a type: eventsapi types NAME --validate DATA")
        names = api.event_types()
        emit(args, names, lambda: "\n".join(names))
        return EXIT_OK
    if args.validate is not None:
        result = api.validate_event_data(args.name, json_value(args.validate, "--validate"))
        lines = [f"{e['path'] or '/'}: {e['message']}" for e in result.get("errors", [])]
        emit(
            args, result, lambda: "valid" if result["valid"] else "\n".join([*lines, f"invalid: {len(lines)} error(s)"])
        )
        return EXIT_OK if result["valid"] else EXIT_REFUSED
    declared = api.event_type(args.name)

    def text() -> str:
        schema = declared.get("schema") or {}
        required = set(schema.get("required", []))
        rows = (
            [name, field.get("type", "any"), name in required, field.get("description", "")]
            for name, field in (schema.get("properties") or {}).items()
        )
        return "\n".join(
            [
                f"{declared['name']} (version {declared['version']}): {declared['description']}",
                "",
                table(["field", "type", "required", "description"], rows),
                "",
                "example data:",
                json.dumps(declared.get("example"), ensure_ascii=False, indent=2),
            ]
        )

    emit(args, declared, text)
    return EXIT_OK


def logs(api: Client, args: argparse.Namespace) -> int:
    filters = {"status": args.status, "method": args.method, "endpoint": args.endpoint}
    since, until = instant(args.since), instant(args.until)
    found = list(islice(api.logs(since=since, until=until, page_size=min(args.limit, 1000), **filters), args.limit))
    found.reverse()  # oldest first, as a terminal reads a tail
    if args.json and not args.follow:
        print(json.dumps(found, ensure_ascii=False, indent=2))
    elif args.json:
        for entry in found:
            print(json.dumps(entry, ensure_ascii=False), flush=True)
    elif found:
        print(table(LOG_COLUMNS, map(log_row, found)), flush=True)
    elif not args.follow:
        print("no API calls logged" + (" with these filters" if any(filters.values()) or since or until else ""))
    if not args.follow:
        return EXIT_OK
    seen = {entry["_id"] for entry in found}
    newest = found[-1]["timestamp"] if found else (since or instant("0s"))
    try:
        while True:
            time.sleep(FOLLOW_INTERVAL_SECONDS)
            polled = list(api.logs(since=newest, page_size=100, **filters))
            fresh = [entry for entry in polled if entry["_id"] not in seen]
            for entry in reversed(fresh):
                seen.add(entry["_id"])
                newest = max(newest or entry["timestamp"], entry["timestamp"])
                print(
                    json.dumps(entry, ensure_ascii=False) if args.json else "  ".join(map(shown, log_row(entry))),
                    flush=True,
                )
            # `since` is inclusive: only calls at the newest instant can come back, so only they are remembered
            seen = {entry["_id"] for entry in polled if entry["timestamp"] == newest} or seen
    except KeyboardInterrupt:
        return EXIT_OK


def sessions(api: Client, args: argparse.Namespace) -> int:
    live = api.listen_sessions()
    emit(
        args,
        live,
        lambda: (
            table(
                ["session id", "events", "created", "last poll"],
                (
                    [
                        s.get("sessionId"),
                        ",".join(s.get("events") or []) or "all",
                        s.get("createdAt"),
                        s.get("lastPollAt"),
                    ]
                    for s in live
                ),
            )
            if live
            else "no live listen sessions: eventsapi listen --forward-to URL opens one"
        ),
    )
    return EXIT_OK


def _session_of(api: Client, given: str | None) -> str:
    """The session named, else the newest live one."""
    if given:
        return given
    live = sorted(api.listen_sessions(), key=lambda s: str(s.get("createdAt")))
    if not live:
        raise Usage("no live listen session: name one (SESSION_ID / --session), or start eventsapi listen")
    return str(live[-1]["sessionId"])


def listen_history(api: Client, args: argparse.Namespace) -> int:
    session_id = _session_of(api, args.session_id)
    kept = api.listen_history(session_id)
    emit(
        args,
        kept,
        lambda: (
            table(
                ["delivery id", "event", "status", "answer", "created", "test"],
                (
                    [
                        d.get("deliveryId"),
                        d.get("event"),
                        d.get("status"),
                        d.get("lastStatus") or d.get("lastError"),
                        d.get("createdAt"),
                        "test" if d.get("test") else "",
                    ]
                    for d in kept
                ),
            )
            if kept
            else f"no deliveries kept in listen session {session_id}"
        ),
    )
    return EXIT_OK


def listen_replay(api: Client, args: argparse.Namespace) -> int:
    session_id = _session_of(api, args.session)
    replayed = api.replay_listen_delivery(session_id, args.delivery_id)
    emit(
        args,
        replayed,
        lambda: f"replayed {replayed['replayOf']} as {replayed['deliveryId']}: waiting in listen session {session_id}",
    )
    return EXIT_OK


def serve_mcp(args: argparse.Namespace) -> int:
    # The server is built on the `mcp` SDK, an optional extra: imported only by the command that needs it.
    try:
        from eventsapi_client import mcp_server
    except ImportError as missing:
        print(f"eventsapi mcp needs the MCP SDK: pip install 'eventsapi-client[mcp]' ({missing})", file=sys.stderr)
        return EXIT_USAGE
    mcp_server.serve(args.api_url, args.api_key)
    return EXIT_OK


# -- wiring ---------------------------------------------------------------------------------------


def run(handler: Handler) -> Callable[[argparse.Namespace], int]:
    """The handler with the client made from the flags, and every failure as a line and an exit code."""

    def command(args: argparse.Namespace) -> int:
        try:
            return handler(Client(args.api_url, args.api_key), args)
        except (Usage, NoApiKey, BadApiUrl) as mistake:
            print(mistake, file=sys.stderr)
            return EXIT_USAGE
        except Throttled as throttled:
            later = f" (retry after {throttled.retry_after:g} s)" if throttled.retry_after is not None else ""
            print(f"{throttled.message}{later}", file=sys.stderr)
            return EXIT_REFUSED
        except ApiError as refused:
            print(refused.message, file=sys.stderr)
            return EXIT_REFUSED
        except NoAnswer as silent:
            print(
                f"{silent}: is the stack running? `make run` starts one; point elsewhere with --api-url "
                "or EVENTS_API_URL",
                file=sys.stderr,
            )
            return EXIT_NO_ANSWER

    return command


def _leaf(group: Any, name: str, text: str, handler: Handler, *operations: str) -> argparse.ArgumentParser:
    leaf: argparse.ArgumentParser = group.add_parser(name, help=text, description=text, epilog=EXIT_CODES)
    leaf.set_defaults(func=run(handler), operations=operations)
    return leaf


def _webhook_fields(leaf: argparse.ArgumentParser, *, creating: bool) -> None:
    leaf.add_argument(
        "--event",
        required=creating,
        help="the event type it receives, or a pattern: 'workflow.*' (a namespace), '*' (every type)",
    )
    leaf.add_argument("--url", required=creating, help="where the events are POSTed")
    leaf.add_argument("--filter", metavar="JSON", help="only events whose data matches (JSON, @file or -)")
    leaf.add_argument("--description")
    leaf.add_argument(
        "--set",
        action="append",
        metavar="NAME=VALUE",
        help="any other field, VALUE as JSON (rateLimit, headers, auth, asymmetricSignature…); repeatable",
    )
    leaf.add_argument("--order-by", metavar="PATH", help="deliver in order per key: the key's dot path into data")
    leaf.add_argument(
        "--order-window-ms", type=int, metavar="N", help="wait for late earlier events (0-60000, default 2000)"
    )
    leaf.add_argument(
        "--on-failure", choices=["skip", "block"], help="a key's dead head: skip it (default) or block the key"
    )


def register(commands: Any, require_verification: Callable[[argparse.Namespace], int]) -> None:
    """Add the developer's commands. `require_verification` is the operator's command that lived
    under `webhooks` before `admin` existed; it stays there, as an alias, for a release."""
    hooks = commands.add_parser(
        "webhooks", help="your webhooks: list, create, change, pause, test, rotate…", epilog=EXIT_CODES
    )
    group = hooks.add_subparsers(dest="webhooks_command", required=True, metavar="COMMAND")
    _leaf(group, "list", "your webhooks, as a table", webhooks_list, "listWebhooks")
    for name, text, handler, operation in (
        ("get", "one webhook, every field", webhooks_get, "getWebhook"),
        ("delete", "delete a webhook (its delivery history goes with it)", webhooks_delete, "deleteWebhook"),
        (
            "pause",
            "stop deliveries until `enable` (events meanwhile end dead; `recover` sends them)",
            webhooks_pause,
            "updateWebhook",
        ),
        ("enable", "turn a paused or auto-disabled webhook back on", webhooks_enable, "updateWebhook"),
        ("verify", "send the ownership challenge now", webhooks_verify, "verifyWebhook"),
    ):
        _leaf(group, name, text, handler, operation).add_argument("id", help="the webhook's id")
    create = _leaf(group, "create", "register a webhook", webhooks_create, "createWebhook")
    _webhook_fields(create, creating=True)
    create.add_argument("--secret", help="signs every delivery (X-Webhook-Signature, Standard Webhooks)")
    update = _leaf(group, "update", "change a webhook's fields", webhooks_update, "updateWebhook")
    update.add_argument("id")
    _webhook_fields(update, creating=False)
    test = _leaf(
        group, "test", "one signed test POST now; exit 1 when it is not delivered", webhooks_test, "testWebhook"
    )
    test.add_argument("id")
    test.add_argument(
        "--event", help="another event type than the webhook's (a wildcard webhook: one its pattern takes)"
    )
    test.add_argument("--data", metavar="JSON", help="the data (default: the type's example)")
    rotate = _leaf(
        group, "rotate", "rotate the signing secret (a generated one is shown once)", webhooks_rotate, "rotateSecret"
    )
    rotate.add_argument("id")
    rotate.add_argument("--secret", help="the new secret (default: the service generates one)")
    rotate.add_argument("--overlap-seconds", type=int, help="how long the old secret keeps signing (default a day)")
    _leaf(group, "ordering", "an ordered webhook's blocked keys", webhooks_ordering, "listOrderingKeys").add_argument(
        "id"
    )
    skip = _leaf(group, "skip-key", "release a blocked ordering key", webhooks_skip_key, "skipOrderingKey")
    skip.add_argument("id")
    skip.add_argument("key", help="the key's JSON text: '\"wf-1\"' for a string, 42 for a number")
    _leaf(group, "signing-keys", "the public keys that verify v1a signatures", webhooks_signing_keys, "listSigningKeys")
    health = _leaf(
        group,
        "stats",
        "a webhook's health: counts per status and latency per bucket",
        webhooks_stats,
        "getWebhookStats",
    )
    health.add_argument("id")
    health.add_argument("--since", help="ISO-8601, or a time ago: 30m, 2h, 7d (default: 24 hours before --until)")
    health.add_argument("--until", help="ISO-8601, or a time ago (default: now)")
    health.add_argument("--granularity", choices=["minute", "hour", "day"], help="bucket size (default hour)")
    legacy = group.add_parser(
        "require-verification",
        help="operator: same as `eventsapi admin webhooks require-verification` (kept for a release)",
    )
    legacy.add_argument("--developer", help="only this developer's webhooks (default: every webhook)")
    legacy.add_argument("--yes", action="store_true", help="do not ask")
    legacy.set_defaults(func=require_verification)

    deliveries = commands.add_parser(
        "deliveries", help="a webhook's deliveries: list, get (with attempts), redeliver", epilog=EXIT_CODES
    )
    group = deliveries.add_subparsers(dest="deliveries_command", required=True, metavar="COMMAND")
    listing = _leaf(group, "list", "a webhook's deliveries, newest first", deliveries_list, "listDeliveries")
    listing.add_argument("webhook_id")
    listing.add_argument(
        "--status", choices=["pending", "succeeded", "retrying", "dead", "failed", "throttled", "held"]
    )
    listing.add_argument("--since", help="ISO-8601, or a time ago: 30m, 2h, 7d")
    listing.add_argument("--limit", type=int, default=50, help="at most this many (default %(default)s)")
    for name, text, handler, operation in (
        ("get", "one delivery: its attempts and the exact payload sent", deliveries_get, "getDelivery"),
        ("redeliver", "post the stored payload once more", deliveries_redeliver, "redeliver"),
        (
            "expunge",
            "remove a settled delivery's payload and answers for good (the record stays)",
            deliveries_expunge,
            "expungeDeliveryPayload",
        ),
    ):
        leaf = _leaf(group, name, text, handler, operation)
        leaf.add_argument("webhook_id")
        leaf.add_argument("delivery_id")

    overview = _leaf(
        commands, "stats", "every webhook's health over a window (default 24 hours)", stats_overview, "getStatsOverview"
    )
    overview.add_argument("--since", help="ISO-8601, or a time ago: 30m, 2h, 7d (at most 7 days)")
    overview.add_argument("--until", help="ISO-8601, or a time ago (default: now)")

    recovering = _leaf(
        commands, "recover", "queue again a webhook's dead deliveries in a time window", recover, "recover"
    )
    recovering.add_argument("webhook_id")
    recovering.add_argument("--since", required=True, help="ISO-8601, or a time ago: 30m, 2h, 7d")
    recovering.add_argument("--until", help="ISO-8601, or a time ago (default: now)")

    typed = _leaf(
        commands,
        "types",
        "the event types; one type's fields and example; --validate data against it",
        types,
        "listEventTypes",
        "getEventType",
        "validateEventData",
    )
    typed.add_argument("name", nargs="?", help="one type, e.g. tool.executed")
    typed.add_argument("--validate", metavar="DATA", help="check this data (JSON, @file or -); exit 1 when invalid")

    logged = _leaf(commands, "logs", "your API-call logs, oldest first; --follow keeps printing", logs, "listLogs")
    logged.add_argument("--status", help="a status (404) or class (5xx)")
    logged.add_argument("--method", help="GET, POST…")
    logged.add_argument("--endpoint", help="a path prefix, such as /v1/ai")
    logged.add_argument("--since", help="ISO-8601, or a time ago: 30m, 2h, 7d")
    logged.add_argument("--until", help="ISO-8601, or a time ago")
    logged.add_argument("--limit", type=int, default=100, help="at most this many (default %(default)s)")
    logged.add_argument("--follow", action="store_true", help="keep printing new calls until Ctrl-C")

    _leaf(commands, "sessions", "your live listen sessions", sessions, "listListenSessions")

    configured = commands.add_parser(
        "settings", help="your settings: show, set (a JSON merge patch)", epilog=EXIT_CODES
    )
    group = configured.add_subparsers(dest="settings_command", required=True, metavar="COMMAND")
    _leaf(group, "show", "the whole settings document, every default filled in", settings_show, "getSettings")
    setting = _leaf(group, "set", "change settings with a JSON merge patch", settings_set, "updateSettings")
    setting.add_argument("patch", metavar="PATCH", help='JSON, @file or -: {"retention": {"payloadDays": 7}}')

    expunging = commands.add_parser(
        "expunge", help="expunge payloads and answers in a window: start, get", epilog=EXIT_CODES
    )
    group = expunging.add_subparsers(dest="expunge_command", required=True, metavar="COMMAND")
    start = _leaf(group, "start", "queue an expunge job for a window", expunge_start, "startExpunge")
    start.add_argument("--since", required=True, help="ISO-8601, or a time ago: 30m, 2h, 7d")
    start.add_argument("--until", help="ISO-8601, or a time ago (default: now)")
    start.add_argument("--webhook", help="only this webhook's deliveries")
    _leaf(group, "get", "one expunge job's state", expunge_get, "getExpunge").add_argument("job_id")

    agents = commands.add_parser(
        "mcp",
        help="an MCP server for agents on stdio: the developer operations as tools (the key's scope decides which)",
    )
    agents.set_defaults(func=serve_mcp)

    # What `listen` and `trigger` (listen.py) call, so the coverage test sees every developer operation.
    listen_operations = ("openListenSession", "nextListenDeliveries", "reportListenResult", "endListenSession")
    for name, operations in (("listen", listen_operations), ("trigger", ("triggerListen",))):
        if name in commands.choices:
            commands.choices[name].set_defaults(operations=operations)
    if "listen" in commands.choices:
        group = commands.choices["listen"].add_subparsers(dest="listen_command", metavar="COMMAND")
        history = _leaf(
            group, "history", "a listen session's kept deliveries, newest first", listen_history, "listListenDeliveries"
        )
        history.add_argument("session_id", nargs="?", metavar="SESSION_ID", help="default: your newest live session")
        replay = _leaf(
            group,
            "replay",
            "put a kept delivery back in its session as a new one",
            listen_replay,
            "replayListenDelivery",
        )
        replay.add_argument("delivery_id", metavar="DELIVERY_ID")
        replay.add_argument("--session", metavar="SESSION_ID", help="default: your newest live session")


def cli_operations(root: argparse.ArgumentParser) -> dict[str, list[str]]:
    """operationId → the commands (`webhooks create`) that call it, found by walking the parser."""
    found: dict[str, list[str]] = {}

    def walk(parser: argparse.ArgumentParser, words: tuple[str, ...]) -> None:
        for operation in parser.get_default("operations") or ():
            found.setdefault(operation, []).append(" ".join(words))
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    walk(child, (*words, name))

    walk(root, ())
    return found
