"""Hostile bodies: how long the API takes to answer the worst 64 KiB body we can construct,
against an ordinary invalid body of the same size. Every shape of eventsapi.harness.pathological
is generated and timed twice:

- whole request: POST /v1/events/webhooks through the local gateway, authorizer and function, on
  in-process moto (what a request costs; the target, ≤ 3x, applies here);
- body judging alone: Request.json (size, UTF-8, strict JSON, depth, numbers, surrogates), the
  CPU a body can make the function spend. This one is not flat: a body of 20,000 tiny values makes
  the C decoder build 20,000 objects, which costs more per byte than a realistic document, but
  every shape stays linear in its size (tests/unit/test_linear_time.py). The old regex pre-scan
  took 43 s on the first shape alone.

Each figure is the median of several rounds, shapes interleaved, so a busy moment of this shared
machine hits the ordinary body and the hostile ones alike."""

import contextlib
import json
import statistics
import sys
import time

from bench.common import in_process_stack
from events_core.api_keys import ApiKeyStore
from events_core.errors import EventsApiError
from events_core.http import Request
from eventsapi.harness.pathological import ordinary_invalid_body, pathological_bodies

SIZE = 64 * 1024
TARGET = 3.0


def handling_seconds(body: str) -> float:
    started = time.perf_counter()
    with contextlib.suppress(EventsApiError):
        Request({"body": body}, None).json()
    return time.perf_counter() - started


ORDINARY = "ordinary invalid body"
# Fuzzing-style limits: the bench sends hundreds of requests with one key.
PARAMETERS = {"DeveloperRateLimit": "100000", "DeveloperBurstLimit": "100000"}


def _medians(samples: dict[str, list[float]]) -> dict[str, float]:
    return {name: statistics.median(values) for name, values in samples.items()}


def measure(size: int = SIZE, rounds: int = 9) -> dict[str, dict[str, float]]:
    bodies = {ORDINARY: ordinary_invalid_body(size), **pathological_bodies(size)}
    judging: dict[str, list[float]] = {name: [] for name in bodies}
    requests: dict[str, list[float]] = {name: [] for name in bodies}
    # Judged first, before the emulator fills this process's heap (a function's heap is small;
    # moto's would make every collection of the garbage collector dearer).
    for _ in range(rounds):
        for name, body in bodies.items():
            judging[name].append(handling_seconds(body))
    with in_process_stack(PARAMETERS) as stack:
        key = ApiKeyStore().create("bench_hostile", ("read", "write")).key
        headers = [("X-API-Key", key), ("Content-Type", "application/json")]
        for _ in range(rounds):
            for name, body in bodies.items():
                started = time.perf_counter()
                stack.gateway.handle("POST", "/v1/events/webhooks", headers, body.encode(), "127.0.0.1")
                requests[name].append(time.perf_counter() - started)
    return {"request": _medians(requests), "judging": _medians(judging)}


def _worst(figures: dict[str, float]) -> tuple[str, float]:
    worst = max((name for name in figures if name != ORDINARY), key=figures.__getitem__)
    return worst, figures[worst] / figures[ORDINARY]


def rows(results: dict[str, dict[str, float]]) -> list[tuple[str, str]]:
    request, judging = results["request"], results["judging"]
    worst, ratio = _worst(request)
    worst_judged, judged_ratio = _worst(judging)
    verdict = "ok" if ratio <= TARGET else "OVER"
    return [
        ("hostile bodies: shapes generated (64 KiB each)", f"{len(request) - 1}"),
        ("hostile bodies: ordinary invalid body, whole request", f"{request[ORDINARY] * 1000:.2f} ms"),
        (
            "hostile bodies: worst shape, whole request",
            f"{request[worst] * 1000:.2f} ms  {worst!r} ({ratio:.2f}x ordinary; target ≤ {TARGET}x: {verdict})",
        ),
        (
            "hostile bodies: worst shape, body judging alone",
            f"{judging[worst_judged] * 1000:.2f} ms  {worst_judged!r} "
            f"({judged_ratio:.2f}x the ordinary body's {judging[ORDINARY] * 1000:.2f} ms; linear in size)",
        ),
    ]


if __name__ == "__main__":
    measured = measure()
    if "--table" in sys.argv:
        for name, seconds in sorted(measured["request"].items(), key=lambda item: -item[1]):
            judged = measured["judging"][name]
            print(f"{name:34s} request {seconds * 1000:8.2f} ms  judging {judged * 1000:7.2f} ms")
    print(json.dumps({"rows": rows(measured), "results": measured}))
