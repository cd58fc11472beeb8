"""Pathological inputs, generated at any size: the shapes that make a careless parser, regular
expression or scanner slow (quadratic or worse) rather than wrong. The benchmark
(bench/hostile_bodies.py), `make fuzz` and the linear-time tests all draw from here, so a shape
added once is measured, fuzzed and tested everywhere.

Each generator returns text of exactly `size` characters (ASCII, so also `size` bytes).
"""

from collections.abc import Callable

Shape = Callable[[int], str]


def _fill(head: str, unit: str, tail: str, size: int) -> str:
    """`head` + `unit` repeated + `tail`, cut or padded with spaces to exactly `size` characters."""
    room = max(size - len(head) - len(tail), 0)
    body = (unit * (room // max(len(unit), 1) + 1))[:room]
    text = head + body + tail
    return text[:size].ljust(size)


def _list_of(unit: str, size: int) -> str:
    """A valid JSON array of `unit`s, `size` characters long (spaces pad the end)."""
    count = max((size - 2) // (len(unit) + 1), 1)
    return ("[" + ",".join([unit] * count) + "]").ljust(size)[:size]


BODY_SHAPES: dict[str, Shape] = {
    # The review's reproduction: each escaped quote used to restart a scan to the end (O(n²)).
    "unterminated escaped quotes": lambda n: _fill('{"url":"', '\\"', "", n),
    "unterminated escaped backslashes": lambda n: _fill('{"url":"', "\\\\", "", n),
    "quote and backslash runs": lambda n: _fill('{"url":"', '\\"\\\\\\"', "", n),
    "unterminated plain string": lambda n: _fill('{"description":"', "x", "", n),
    "many unterminated strings": lambda n: _fill("[", '"a\\",', "", n),
    "open brackets": lambda n: _fill("", "[", "", n),
    "open objects": lambda n: _fill("", '{"a":', "", n),
    "balanced deep nesting": lambda n: "[" * (n // 2) + "]" * (n - n // 2),
    "long integer": lambda n: _fill('{"n":', "9", "}", n),
    "long fraction": lambda n: _fill('{"n":0.', "1", "}", n),
    "many small integers": lambda n: _list_of("1", n),
    "many exponents": lambda n: _list_of("1e9", n),
    "many overflowing exponents": lambda n: _list_of("1e999", n),
    "many digit runs of 40": lambda n: _list_of("9" * 40, n),
    "many lone surrogates": lambda n: _fill('["', "\\ud800", '"]', n),
    "many surrogate pairs": lambda n: _fill('["', "\\ud83d\\ude00", '"]', n),
    "surrogate escape runs": lambda n: _fill('["', "\\\\ud800", '"]', n),
    "many unicode escapes": lambda n: _fill('{"a":"', "\\u0041", '"}', n),
    "many empty strings": lambda n: _list_of('""', n),
    "many empty arrays": lambda n: _list_of("[]", n),
    "many empty objects": lambda n: _list_of("{}", n),
    "many keys": lambda n: ("{" + ",".join(f'"k{i}":0' for i in range(n // 8)) + "}").ljust(n)[:n],
    "duplicate keys": lambda n: _fill("{", '"a":1,', '"a":1}', n),
    "nesting at the limit, repeated": lambda n: _list_of("[" * 31 + "]" * 31, n),
    "whitespace": lambda n: _fill("", " \t\n\r", "", n),
    "valid array then garbage": lambda n: _list_of("1", n - 1) + "x",
}


def ordinary_invalid_body(size: int) -> str:
    """What an ordinary mistake looks like: a realistic event payload (ids, names, amounts, tags,
    nested a little) of `size` characters, cut short so it is not JSON."""
    items = []
    for i in range(size // 60 + 2):
        items.append(
            f'{{"id":"item_{i:05d}","name":"Widget {i}","price":{i % 97}.5,"qty":{i % 7},'
            f'"tags":["red","large"],"ok":true}}'
        )
    text = '{"event":"tool.executed","data":{"items":[' + ",".join(items)
    return text[:size]


def pathological_bodies(size: int) -> dict[str, str]:
    return {name: shape(size) for name, shape in BODY_SHAPES.items()}


def pathological_queries(size: int) -> dict[str, str]:
    """Query strings (already percent-encoded) a route might scan."""
    return {
        "long limit": "limit=" + "9" * size,
        "long since": "since=" + "2026-" * (size // 5),
        "long status": "status=" + "x" * size,
        "long cursor": "cursor=" + "A" * size,
        "percent-encoded garbage": "cursor=" + "%FF" * (size // 3),
        "many parameters": "&".join(f"p{i}=1" for i in range(size // 6)),
        "repeated limit": "&".join(["limit=1"] * (size // 8)),
    }


def pathological_cursors(size: int) -> dict[str, str]:
    """Cursor values: forged, truncated, deeply nested, oversized."""
    import base64

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    return {
        "nested brackets": b64(b"[" * size),
        "escaped quotes": b64(b'{"after":"' + b'\\"' * (size // 2)),
        "forged plain": b64(b'{"after":"msg_6b0a1c2d3e4f5a6b7c8d9e0f1a2b3c4d"}'),
        "long": "A" * size,
        "not base64": "%" * 16,
        "dots": "." * size,
    }
