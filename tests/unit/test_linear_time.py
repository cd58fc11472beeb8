"""Review N1: judging a body must cost time proportional to its length, whatever its shape.

The old depth pre-scan was a backtracking regex: a body of escaped quotes cost O(n²) (43 s at
64 KiB). Each generated shape is judged at two sizes, 4x apart; linear work is about 4x slower at
the larger size, quadratic 16x. The bound (8x, with a floor for figures too small to time on a
busy machine) leaves room for noise, never for a square. Each figure is the least CPU time of this
thread over several rounds: another process taking the core (a loaded CI machine) adds wall-clock
time, never this thread's CPU time, and interference only ever adds, so the least is the truest.
"""

import contextlib
import time

import pytest

from events_core import jsonsafe
from eventsapi.harness.pathological import BODY_SHAPES, ordinary_invalid_body

SMALL, LARGE = 4 * 1024, 16 * 1024
FLOOR_SECONDS = 0.005


def _least_cpu_seconds(work, text: str, rounds: int = 7) -> float:
    samples = []
    for _ in range(rounds):
        started = time.thread_time()
        with contextlib.suppress(jsonsafe.InvalidJson):
            work(text)
        samples.append(time.thread_time() - started)
    return min(samples)


def _assert_linear(work, shape) -> None:
    small = _least_cpu_seconds(work, shape(SMALL))
    assert small < 1.0, f"{small:.2f} s for {SMALL} characters"  # a square already shows here
    large = _least_cpu_seconds(work, shape(LARGE))
    assert large < 8 * max(small, FLOOR_SECONDS), f"{small * 1000:.2f} ms → {large * 1000:.2f} ms"


@pytest.mark.parametrize("name", [*BODY_SHAPES, "ordinary"])
def test_loads_is_linear_in_the_size_of_any_body(name):
    _assert_linear(jsonsafe.loads, BODY_SHAPES.get(name, ordinary_invalid_body))


@pytest.mark.parametrize("name", list(BODY_SHAPES))
def test_depth_and_minify_are_linear_on_any_text(name):
    _assert_linear(jsonsafe.depth_of, BODY_SHAPES[name])
    _assert_linear(jsonsafe.minify, BODY_SHAPES[name])


def test_the_reviews_reproduction_is_refused_quickly_and_clearly():
    body = '{"url":"' + '\\"' * 8188  # 16,384 bytes of escaped quotes, unterminated
    with pytest.raises(jsonsafe.InvalidJson, match="malformed JSON"):
        jsonsafe.loads(body)
    assert _least_cpu_seconds(jsonsafe.loads, body) < 8 * FLOOR_SECONDS


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("[" * 33 + "]" * 33, "deeper than 32"),
        ('{"a":' * 33 + "1" + "}" * 33, "deeper than 32"),
        ("[" * 100000, "deeper than 32"),
        ("[" + "1" * 41 + "]", "41 digits"),
        ('{"n":-' + "1" * 45 + ".5e3}", "50 digits"),
        ("[" + "1" * 5000 + "]", "5000 digits"),
        ('{"x": 1e999}', "1e999 is out of range"),
        ('["\\ud800"]', "surrogate"),
        ('{"\\udfff": 1}', "surrogate"),
        ('{"x": NaN}', "NaN is not a JSON number"),
    ],
)
def test_every_refusal_still_names_its_reason(text, reason):
    with pytest.raises(jsonsafe.InvalidJson, match=reason):
        jsonsafe.loads(text)


@pytest.mark.parametrize(
    "text",
    [
        "[" * 32 + "]" * 32,
        '{"s": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", "n": 1234567890123456789012345678901234567890}',
        '{"pair": "\\ud83d\\ude00", "escaped": "\\\\ud800", "e": [1e308, -2.5E-7, true, false, null]}',
        '"' + "9" * 100 + '"',
    ],
)
def test_what_is_strict_json_passes_as_before(text):
    import json

    assert jsonsafe.loads(text) == json.loads(text)


def test_depth_of_counts_only_structure():
    assert jsonsafe.depth_of('{"a": "[[[[", "b": [[1], {"c": []}]}') == 4
    assert jsonsafe.depth_of("[[[") == 3  # unterminated: its openers count
    assert jsonsafe.depth_of("[" * 1000) == 2 * jsonsafe.MAX_DEPTH + 1  # capped: "deeper than"
    assert jsonsafe.depth_of('"\\"[[[[') == 0  # inside an unterminated string
