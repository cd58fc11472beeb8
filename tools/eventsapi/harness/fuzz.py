"""Schema fuzzing: schemathesis against the local stack, once per kind of API key (none, unknown,
read-only, read-write). Every answer must be documented by openapi.yaml and none may be a 5xx.

Then the hostile shapes schemathesis does not make — JSON nested thousands deep, numbers of
thousands of digits, lone surrogates, NaN and Infinity, non-UTF-8 bytes, bodies over the limit,
absurd query values — sent to every route with every kind of key: each must be a documented 4xx."""

import json
import os
import time

import requests

from events_core.api_keys import ApiKeyStore
from eventsapi.harness.fuzz_passes import PASS_LIMIT_SECONDS, FuzzRun, plan, run_passes
from eventsapi.harness.pathological import pathological_bodies, pathological_cursors, pathological_queries
from eventsapi.harness.progress import progress
from eventsapi.local.gateway import printable
from eventsapi.local.runtime import LocalRuntime
from eventsapi.local.wiring import ROOT

OPENAPI = ROOT / "openapi.yaml"
SCHEMATHESIS = str(ROOT / ".venv" / "bin" / "schemathesis")
# Fuzzing sends hundreds of requests a second with one key and creates webhooks freely.
FUZZ_PARAMETERS = {
    "DeveloperRateLimit": "100000",
    "DeveloperBurstLimit": "100000",
    "MaxWebhooksPerDeveloper": "100000",
    "PostBudgetBurst": "100000",
    "WebhookPostBudgetBurst": "100000",
}
# Generated pathological inputs (eventsapi.harness.pathological): bodies at the size limit,
# queries and cursors long enough to hurt a scan that is not linear.
PATHOLOGICAL_BODY_BYTES = 64 * 1024
PATHOLOGICAL_QUERY_CHARS = 4000
HOSTILE_BODIES: dict[str, bytes] = {
    "proxy headers": b'{"headers":{"X-Forwarded-For":"10.0.0.1","X-HTTP-Method-Override":"DELETE"}}',
    "token URL moved": b'{"auth":{"type":"oauth2","tokenUrl":"https://169.254.169.254/x","clientId":"c",'
    b'"clientSecret":"s"},"url":"https://other.example.com/h"}',
    "nested 30,000 deep": b"[" * 30000 + b"]" * 30000,
    "nested filter": b'{"event":"tool.executed","url":"https://example.com/h","filter":{"a":'
    + b"[" * 30000
    + b"]" * 30000
    + b"}}",
    "5,000-digit integer": b'{"event":' + b"1" * 5000 + b"}",
    "5,000-digit float": b'{"overlapSeconds":0.' + b"1" * 5000 + b"}",
    "lone surrogate value": b'{"url":"https://example.com/\\ud800","description":"\\udfff","since":"\\ud800"}',
    "lone surrogate key": b'{"\\ud800":1}',
    "NaN": b'{"filter":{"n":NaN},"overlapSeconds":NaN,"enabled":NaN}',
    "Infinity": b'{"filter":{"n":[{"numeric":[">",Infinity]}]},"data":{"x":-Infinity}}',
    "1e999": b'{"filter":{"n":1e999},"overlapSeconds":1e999}',
    "not UTF-8": b'{"description":"\xff\xfe"}',
    "UTF-16": '{"event":"tool.executed"}'.encode("utf-16"),
    "truncated": b'{"event":"tool.',
    "over 64 KiB": b'{"description":"' + b"x" * 70000 + b'"}',
    "array": b"[1,2,3]",
    "null": b"null",
}
HOSTILE_QUERIES = [
    "limit=" + "9" * 5000,
    "limit=-1",
    "limit=1e3",
    "limit=%F0%9F%92%A5",
    "status=%00",
    "since=" + "9" * 500,
    "since=-271821-04-20T00:00:00Z",
    "cursor=" + "%FF" * 50,
    "cursor=" + "A" * 5000,
]
ROUTES = [
    ("POST", "/v1/events/webhooks"),
    ("POST", "/v1/events/webhooks/{id}/verify"),
    ("GET", "/v1/events/verify?token=" + "A" * 600),
    ("POST", "/v1/events/verify?token=%00%FF"),
    ("PATCH", "/v1/events/webhooks/{id}"),
    ("POST", "/v1/events/webhooks/{id}/test"),
    ("POST", "/v1/events/webhooks/{id}/secret/rotate"),
    ("POST", "/v1/events/webhooks/{id}/recover"),
    ("POST", "/v1/events/webhooks/{id}/deliveries/msg_6b0a1c2d3e4f5a6b7c8d9e0f1a2b3c4d/redeliver"),
    ("GET", "/v1/events/webhooks/{id}/deliveries"),
    ("GET", "/v1/events/logs"),
    ("POST", "/v1/events/types/tool.executed/validate"),
    ("GET", "/v1/events/types/" + "%F0%9F%92%A5" * 100),
    ("GET", "/v1/events/webhooks/%F0%9F%92%A5"),
    ("DELETE", "/v1/events/webhooks/" + "a" * 5000),
]
# Hooks of our own (a listen long poll waits 1 s rather than 20: eventsapi.harness.fuzz_hooks).
SCHEMATHESIS_ENV = {**os.environ, "SCHEMATHESIS_HOOKS": "eventsapi.harness.fuzz_hooks"}


def _keys() -> dict[str, str | None]:
    store = ApiKeyStore()
    return {
        "none": None,
        "unknown": "claw_unknown_key_000000000000000000000000000000",
        "read-only": store.create("fuzz_reader", ("read",)).key,
        "read-write": store.create("fuzz_writer", ("read", "write")).key,
    }


def hostile(stack: LocalRuntime, keys: dict[str, str | None]) -> list[FuzzRun]:
    """Every hostile shape at every route, per key kind: a documented 4xx, never a 5xx."""
    from eventsapi.harness.contract import ContractBroken, check  # the same oracle the tests use

    writer = keys["read-write"] or ""
    created = requests.post(
        f"{stack.api_url}/v1/events/webhooks",
        json={"event": "tool.executed", "url": "https://hooks.example.com/fuzz"},
        headers={"X-API-Key": writer},
        timeout=30,
    ).json()
    webhook = created.get("id", "6b0a1c2d3e4f5a6b7c8d9e0f")
    runs = []
    for kind, key in keys.items():
        began = time.monotonic()
        cases = failures = server_errors = 0
        notes = []
        headers = {"Content-Type": "application/json", **({"X-API-Key": key} if key else {})}
        requests_to_send = [
            (method, path.format(id=webhook), body)
            for method, path in ROUTES
            for body in (HOSTILE_BODIES.values() if method in ("POST", "PATCH") else [None])
        ] + [("GET", f"/v1/events/webhooks/{webhook}/deliveries?{q}", None) for q in HOSTILE_QUERIES]
        requests_to_send += [("GET", f"/v1/events/logs?{q}", None) for q in HOSTILE_QUERIES]
        requests_to_send += _pathological_requests(webhook)
        slowest = (0.0, "")
        for method, path, body in requests_to_send:
            cases += 1
            started = time.perf_counter()
            answer = requests.request(method, f"{stack.api_url}{path}", data=body, headers=headers, timeout=60)
            took = time.perf_counter() - started
            if took > slowest[0]:
                slowest = (
                    took,
                    f"{method} {printable(path, 60)} ({len(body or b'')} body bytes) → {answer.status_code}",
                )
            if answer.status_code >= 500:
                server_errors += 1
                notes.append(f"{method} {path[:80]} → {answer.status_code} {answer.text[:200]}")
                continue
            try:
                check(method, path, answer.status_code, answer.content)
            except (ContractBroken, ValueError) as broken:
                failures += 1
                notes.append(f"{method} {path[:80]}: {broken}")
        runs.append(
            FuzzRun(
                key_kind=kind,
                exit_code=0,
                cases=cases,
                failures=failures,
                server_errors=server_errors,
                output="\n".join(notes),
                phase="hostile",
                seconds=time.monotonic() - began,
                slowest=slowest,
            )
        )
    return runs


def _pathological_requests(webhook: str) -> list[tuple[str, str, bytes | None]]:
    """Every generated body shape at every route that takes a body; every generated query and
    cursor at every route that reads one (the recover cursor travels in the body)."""
    bodies = [body.encode() for body in pathological_bodies(PATHOLOGICAL_BODY_BYTES).values()]
    queries = list(pathological_queries(PATHOLOGICAL_QUERY_CHARS).values())
    cursors = list(pathological_cursors(PATHOLOGICAL_QUERY_CHARS).values())
    sent: list[tuple[str, str, bytes | None]] = []
    for method, path in ROUTES:
        route = path.format(id=webhook)
        if method in ("POST", "PATCH"):
            sent += [(method, route, body) for body in bodies]
        else:
            sent += [(method, f"{route}?{query}", None) for query in queries]
    for cursor in cursors:
        sent.append(("GET", f"/v1/events/webhooks/{webhook}/deliveries?cursor={cursor}", None))
        sent.append(("GET", f"/v1/events/logs?cursor={cursor}", None))
        recover = json.dumps({"since": "2020-01-01T00:00:00Z", "cursor": cursor}).encode()
        sent.append(("POST", f"/v1/events/webhooks/{webhook}/recover", recover))
    return sent


def fuzz(stack: LocalRuntime, *, examples: int, seed: int | None, limit: float = PASS_LIMIT_SECONDS) -> list[FuzzRun]:
    keys = _keys()
    progress(f"fuzz: hostile shapes at every route, {len(keys)} kinds of API key")
    runs = hostile(stack, keys)
    for run in runs:
        progress(f"fuzz: {run.label}: {run.cases} cases in {run.seconds:.1f} s, {'ok' if run.ok else 'FAILED'}")
    # One pass per kind of key and schemathesis phase, a few at once: each key is a different
    # developer (nothing shared), and much of a pass is waiting on answers, which overlaps.
    passes = plan(SCHEMATHESIS, str(OPENAPI), stack.api_url, keys, examples, seed)
    return runs + run_passes(passes, SCHEMATHESIS_ENV, limit)


def report(runs: list[FuzzRun]) -> str:
    lines = [
        "schemathesis against the local stack (openapi.yaml, all checks but unsupported_method), one pass per",
        "kind of API key and phase; then the hostile shapes schemathesis does not make, at every route",
        "(documented 4xx, never 5xx)",
        f"{'API key':<22} {'phase':<9} {'test cases':>10} {'failures':>9} {'5xx':>5} {'seconds':>8}  result",
    ]
    for run in runs:
        result = "ok" if run.ok else "EXCEEDED ITS LIMIT" if run.timed_out else "FAILED"
        lines.append(
            f"{run.key_kind:<22} {run.phase:<9} {run.cases:>10} {run.failures:>9} {run.server_errors:>5} "
            f"{run.seconds:>8.1f}  {result}"
        )
    total_cases = sum(run.cases for run in runs)
    total_failures = sum(run.failures for run in runs)
    total_errors = sum(run.server_errors for run in runs)
    lines.append(f"{'total':<22} {total_cases:>10} {total_failures:>9} {total_errors:>5}")
    for phase in dict.fromkeys(run.phase for run in runs):
        of_phase = [run for run in runs if run.phase == phase]
        lines.append(
            f"phase {phase}: {sum(r.seconds for r in of_phase):.1f} s over {len(of_phase)} passes, "
            f"longest {max(r.seconds for r in of_phase):.1f} s ({max(of_phase, key=lambda r: r.seconds).key_kind})"
        )
    lines += [f"pass over its limit: {run.label}, stopped after {run.seconds:.1f} s" for run in runs if run.timed_out]
    slowest = max((run.slowest for run in runs), default=(0.0, ""))
    if slowest[1]:
        lines.append(f"slowest hostile answer: {slowest[0] * 1000:.0f} ms  {slowest[1]}")
    return "\n".join(lines)


def run_fuzz(examples: int, seed: int | None) -> list[FuzzRun]:
    """A fresh local stack on free ports, fuzzed once per kind of key."""
    stack = LocalRuntime(api_port=0, moto_port=0, parameters=FUZZ_PARAMETERS).start()
    try:
        return fuzz(stack, examples=examples, seed=seed)
    finally:
        stack.stop()
