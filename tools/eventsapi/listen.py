"""`eventsapi listen` and `eventsapi trigger`: a developer's live deliveries on a laptop.

eventsapi listen --forward-to http://127.0.0.1:8000/hooks?x=1 [--events tool.executed,tool.failed]
                 [--filter '{"toolName": "a"}'] [--print-secret]
eventsapi trigger tool.executed [--data '{"toolName": "a"}'] [--webhook 665f1a2b3c4d5e6f7a8b9c0d]

Both find the API by --api-url or EVENTS_API_URL (default: the local stack, http://127.0.0.1:3000)
and the key by --api-key or EVENTS_API_KEY: a developer has a key, not AWS credentials.

`listen` opens a listen session, long-polls it, forwards each delivery's exact bytes and headers
to --forward-to (its path and query kept) and reports each answer back. When the network drops it
keeps trying (for up to --give-up-after, 10 minutes by default): deliveries wait in the session
meanwhile, and a delivery already forwarded is never forwarded again, only its answer re-reported.
Exit codes: 0 on Ctrl-C, 2 on a bad key, URL or argument, 1 when the API stays unreachable.
"""

import argparse
import contextlib
import http.client
import json
import os
import signal
import sys
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from eventsapi.listen_secret import SecretFileProblem, kept_secret, secret_path

DEFAULT_API_URL = "http://127.0.0.1:3000"
POLL_WAIT_SECONDS = 20
FORWARD_TIMEOUT_SECONDS = 10.0
EXCERPT_BYTES = 1024
REMEMBERED = 10_000  # forwarded delivery ids kept, so a re-handed one is never forwarded twice
BACKOFF = (0.2, 0.5, 1.0, 2.0, 5.0)


class BadSetup(Exception):
    """A bad key, URL or argument: exit 2."""


class Unreachable(Exception):
    """The API did not answer (connection refused, reset, timed out) or answered 5xx / 429."""


def say(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def _target(url: str, what: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path?query) of an http(s) URL; BadSetup otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadSetup(f"{what}: {url!r} is not an http:// or https:// URL")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise BadSetup(f"{what}: {url!r} has a bad port") from None
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port, path


def _connection(scheme: str, host: str, port: int, timeout: float) -> http.client.HTTPConnection:
    kind = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
    return kind(host, port, timeout=timeout)


@dataclass
class Reply:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def message(self) -> str:
        try:
            return str(self.json()["error"]["message"])
        except (ValueError, KeyError, TypeError):
            return self.body[:200].decode(errors="replace")


class Api:
    def __init__(self, base_url: str, key: str):
        self.scheme, self.host, self.port, path = _target(base_url, "--api-url")
        self.prefix = path.rstrip("/") if path != "/" else ""
        self.key = key

    def call(self, method: str, path: str, body: Any = None, timeout: float = 15.0) -> Reply:
        payload = json.dumps(body).encode() if body is not None else None
        headers = {"X-API-Key": self.key, "Accept": "application/json"}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        connection = _connection(self.scheme, self.host, self.port, timeout)
        try:
            connection.request(method, self.prefix + path, body=payload, headers=headers)
            answer = connection.getresponse()
            reply = Reply(answer.status, answer.read())
        except (OSError, http.client.HTTPException) as error:
            raise Unreachable(f"{type(error).__name__}: {error}") from None
        finally:
            connection.close()
        if reply.status in (401, 403):
            raise BadSetup(f"the API refused the key ({reply.status}): {reply.message()}")
        if reply.status == 429 or reply.status >= 500:
            raise Unreachable(f"the API answered {reply.status}: {reply.message()}")
        return reply


@dataclass
class Outcome:
    status: int | None
    latency_ms: int
    body: str
    error: str | None

    def report(self) -> dict[str, Any]:
        found: dict[str, Any] = {"status": self.status, "latencyMs": self.latency_ms, "body": self.body}
        if self.error:
            found["error"] = self.error
        return found


def forward(url: str, headers: dict[str, str], body: bytes) -> Outcome:
    """POST the exact bytes and headers to `url` (path and query as given); never follows a redirect."""
    scheme, host, port, path = _target(url, "--forward-to")
    started = time.monotonic()
    connection = _connection(scheme, host, port, FORWARD_TIMEOUT_SECONDS)
    try:
        connection.putrequest("POST", path, skip_accept_encoding=True)
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        answer = connection.getresponse()
        excerpt = answer.read(EXCERPT_BYTES).decode(errors="replace")
        status: int | None = answer.status
        error = None
    except (OSError, http.client.HTTPException) as failure:
        status, excerpt, error = None, "", f"{type(failure).__name__}: {failure}"[:500]
    finally:
        connection.close()
    return Outcome(status, int((time.monotonic() - started) * 1000), excerpt, error)


@dataclass
class Listener:
    api: Api
    forward_to: str
    events: list[str]
    filter: dict
    give_up_after: float = 600.0
    stop: threading.Event = field(default_factory=threading.Event)
    session_id: str = ""
    secret: str = ""
    forwarded: OrderedDict[str, Outcome] = field(default_factory=OrderedDict)
    unreported: OrderedDict[str, Outcome] = field(default_factory=OrderedDict)

    def open(self) -> None:
        opening = {"events": self.events, "filter": self.filter, **({"secret": self.secret} if self.secret else {})}
        reply = self.api.call("POST", "/v1/events/listen", opening)
        if reply.status != 201:
            raise BadSetup(f"cannot open a listen session ({reply.status}): {reply.message()}")
        opened = reply.json()
        self.session_id, self.secret = opened["sessionId"], opened["secret"]

    def close(self) -> None:
        if self.session_id:
            # Best effort: a session also expires by itself two hours after its last poll.
            with contextlib.suppress(Unreachable, BadSetup):
                self.api.call("DELETE", f"/v1/events/listen/{self.session_id}", timeout=3)

    def run(self) -> None:
        """Until `stop` is set; BadSetup on a refused key, Unreachable once the outage lasts too long."""
        down_since: float | None = None
        failures = 0
        while not self.stop.is_set():
            try:
                self._report_all()
                self._poll_once()
            except Unreachable as error:
                now = time.monotonic()
                if down_since is None:
                    down_since = now
                    say(f"connection lost ({error}); retrying, nothing will be lost")
                if now - down_since > self.give_up_after:
                    raise
                self.stop.wait(BACKOFF[min(failures, len(BACKOFF) - 1)])
                failures += 1
                continue
            if down_since is not None:
                say(f"reconnected after {time.monotonic() - down_since:.0f} s")
            down_since, failures = None, 0

    def _poll_once(self) -> None:
        path = f"/v1/events/listen/{self.session_id}/next?wait={POLL_WAIT_SECONDS}&limit=10"
        reply = self.api.call("GET", path, timeout=POLL_WAIT_SECONDS + 15)
        if reply.status == 204:
            return
        if reply.status == 404:
            say("the listen session expired; opening a new one (same signing secret)")
            self.open()
            say(f"session {self.session_id}")
            return
        if reply.status != 200:
            raise Unreachable(f"the API answered {reply.status}: {reply.message()}")
        for delivery in reply.json()["deliveries"]:
            self._handle(delivery)
        self._report_all()

    def _handle(self, delivery: dict[str, Any]) -> None:
        delivery_id = delivery["deliveryId"]
        outcome = self.forwarded.get(delivery_id)
        if outcome is None:  # handed out again after a lost answer: report, never forward twice
            outcome = forward(self.forward_to, delivery["headers"], delivery["body"].encode())
            self.forwarded[delivery_id] = outcome
            while len(self.forwarded) > REMEMBERED:
                self.forwarded.popitem(last=False)
            shown = outcome.status if outcome.status is not None else f"failed: {outcome.error}"
            when = time.strftime("%H:%M:%S")
            say(f"{when}  {delivery['event']:<20} {delivery_id}  → {shown}  {outcome.latency_ms} ms")
        self.unreported[delivery_id] = outcome

    def _report_all(self) -> None:
        while self.unreported:
            delivery_id, outcome = next(iter(self.unreported.items()))
            path = f"/v1/events/listen/{self.session_id}/deliveries/{delivery_id}/result"
            self.api.call("POST", path, outcome.report())  # Unreachable: kept, re-sent after reconnecting
            self.unreported.pop(delivery_id)


def _key(args: argparse.Namespace) -> str:
    key = args.api_key or os.environ.get("EVENTS_API_KEY") or os.environ.get("LOCAL_API_KEY")
    if not key:
        raise BadSetup("no API key: give --api-key or set EVENTS_API_KEY (make run prints the local one)")
    return key


def _json_object(text: str | None, what: str) -> dict | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError as error:
        raise BadSetup(f"{what}: not JSON ({error})") from None
    if not isinstance(value, dict):
        raise BadSetup(f"{what}: must be a JSON object")
    return value


def cmd_listen(args: argparse.Namespace) -> int:
    try:
        if not args.forward_to:
            raise BadSetup("--forward-to URL is required (or a subcommand: history, replay)")
        _target(args.forward_to, "--forward-to")
        api = Api(args.api_url or os.environ.get("EVENTS_API_URL") or DEFAULT_API_URL, _key(args))
        events = [name.strip() for name in (args.events or "").split(",") if name.strip()]
        listener = Listener(api, args.forward_to, events, _json_object(args.filter, "--filter") or {})
        listener.give_up_after = args.give_up_after
        try:
            listener.secret = kept_secret()  # the receiver's secret survives restarts and reconnects
        except SecretFileProblem as problem:
            raise BadSetup(str(problem)) from None
        listener.open()
    except BadSetup as error:
        say(f"eventsapi listen: {error}")
        return 2
    except Unreachable as error:
        say(f"eventsapi listen: the API at {api.scheme}://{api.host}:{api.port} does not answer: {error}")
        return 1
    # Ctrl-C (and SIGTERM) interrupt even a long poll in progress, or the first lines below.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    code = 0
    try:
        if args.print_secret:
            sys.stdout.write(listener.secret + "\n")
            sys.stdout.flush()
        say(f"Ready! session {listener.session_id}   signing secret {listener.secret}   (kept in {secret_path()})")
        say(f"Forwarding {', '.join(events) or 'every event type'} to {args.forward_to}   (Ctrl-C to stop)")
        listener.run()
    except KeyboardInterrupt:
        say("stopped")
    except BadSetup as error:
        say(f"eventsapi listen: {error}")
        code = 2
    except Unreachable as error:
        say(f"eventsapi listen: gave up after {args.give_up_after:.0f} s without the API: {error}")
        code = 1
    with contextlib.suppress(KeyboardInterrupt):  # a second Ctrl-C while ending the session
        listener.close()
    return code


def _webhook_taking(api: Api, webhook_id: str, event_type: str) -> str:
    """`--webhook ID`: the webhook, if it takes `event_type`; a receiver that subscribed to another
    type would otherwise get a post it never asked for."""
    reply = api.call("GET", f"/v1/events/webhooks/{quote(webhook_id, safe='')}")
    if reply.status != 200:
        raise BadSetup(f"webhook {webhook_id}: {reply.message()}")
    takes = reply.json().get("event")
    if takes != event_type:
        raise BadSetup(
            f"webhook {webhook_id} takes {takes}, not {event_type}: nothing sent "
            f"(`eventsapi webhooks test {webhook_id} --event {event_type}` sends it anyway)"
        )
    return webhook_id


def cmd_trigger(args: argparse.Namespace) -> int:
    try:
        api = Api(args.api_url or os.environ.get("EVENTS_API_URL") or DEFAULT_API_URL, _key(args))
        data = _json_object(args.data, "--data")
        body: dict[str, Any] = {"event": args.type, **({"data": data} if data is not None else {})}
        if args.webhook:
            webhooks = [_webhook_taking(api, args.webhook, args.type)]
        else:
            reply = api.call("POST", "/v1/events/listen/trigger", body)
            if reply.status != 200:
                raise BadSetup(reply.message())
            queued = reply.json()["queued"]
            for each in queued:
                say(f"listen session {each['sessionId']}: queued {each['deliveryId']}")
            listed = api.call("GET", "/v1/events/webhooks").json()["webhooks"]
            webhooks = [hook["_id"] for hook in listed if hook["event"] == args.type and hook["enabled"]]
            if not queued and not webhooks:  # not a failure (exit 0), but never a silent nothing
                say(
                    f"no listen session or enabled webhook takes {args.type}: nothing sent "
                    f"(start `eventsapi listen --events {args.type} …` or create a webhook for it)"
                )
        for webhook_id in webhooks:
            reply = api.call("POST", f"/v1/events/webhooks/{webhook_id}/test", body, timeout=30)
            if reply.status != 200:
                raise BadSetup(f"webhook {webhook_id}: {reply.message()}")
            sent = reply.json()
            shown = sent["status"] if sent["delivered"] else f"failed: {sent['error']}"
            say(f"webhook {webhook_id}: {sent['deliveryId']} → {shown}")
    except BadSetup as error:
        say(f"eventsapi trigger: {error}")
        return 2
    except Unreachable as error:
        say(f"eventsapi trigger: the API does not answer: {error}")
        return 1
    return 0


def register(commands: Any) -> None:
    """Add `listen` and `trigger` to the CLI's subcommands."""
    for name, text, handler in (
        ("listen", "forward a developer's live deliveries to a local URL", cmd_listen),
        ("trigger", "send a test event of a type to your listen sessions and webhooks", cmd_trigger),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("--api-url", help=f"the Events API (default: EVENTS_API_URL, else {DEFAULT_API_URL})")
        command.add_argument("--api-key", help="your API key (default: EVENTS_API_KEY)")
        command.set_defaults(func=handler)
        if name == "listen":
            # Required unless a subcommand (history, replay) is given: cmd_listen checks it.
            command.add_argument("--forward-to", metavar="URL", help="where to POST each delivery")
            command.add_argument(
                "--events", help="comma-separated event types or patterns ('workflow.*', '*'; default: every type)"
            )
            command.add_argument("--filter", metavar="JSON", help="a webhook filter")
            command.add_argument(
                "--print-secret",
                action="store_true",
                help="print the signing secret on stdout (kept, 0600, in the config dir: eventsapi/listen-secret)",
            )
            command.add_argument(
                "--give-up-after", type=float, default=600.0, metavar="SECONDS", help="longest outage to ride out"
            )
        else:
            command.add_argument("type", metavar="TYPE", help="the event type")
            command.add_argument("--data", metavar="JSON", help="the data to send (default: the type's example)")
            command.add_argument("--webhook", metavar="ID", help="only this webhook (no listen sessions)")
