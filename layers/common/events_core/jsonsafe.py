"""Strict JSON at every edge: what the API accepts and what the pipeline takes from the bus.

Python's json module accepts NaN and Infinity, numbers of any length, lone UTF-16 surrogates
("\\ud800") and nesting until the interpreter's recursion limit. Each of those either crashes
something downstream (DynamoDB, UTF-8 encoding, the recursion limit) or produces output that is
not JSON. Here each is refused with a message that names it, before any work is done.

It also finds the exact text of a value inside a document (`spans`), so that the pipeline can
post an event's data as it arrived, minified, instead of re-serialising it.
"""

import json
import math
import re
from collections.abc import Iterator
from typing import Any

MAX_DEPTH = 32
MAX_NUMBER_CHARS = 40  # a float64 needs at most 25; a 40-digit integer is already not one

# One JSON string (escapes included), or one structural character.
_STRING = r'"(?:[^"\\]|\\.)*"'
_STRUCTURE = re.compile(_STRING + r"|[\[\]{}]", re.DOTALL)
_MINIFY = re.compile(r"(" + _STRING + r")|[ \t\n\r]+", re.DOTALL)
# \uD800-\uDFFF written as an escape, preceded by an even number of backslashes (so it is one).
_SURROGATE_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_RAW_SURROGATE = re.compile("[\ud800-\udfff]")
_WHITESPACE = " \t\n\r"


class InvalidJson(ValueError):
    """Text that is not strict JSON; the message says why and where."""


def _refuse_constant(name: str) -> Any:
    raise InvalidJson(f"{name} is not a JSON number")


def _integer(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise InvalidJson(f"a number of {len(text)} digits is longer than {MAX_NUMBER_CHARS}")
    return int(text)


def _float(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise InvalidJson(f"a number of {len(text)} characters is longer than {MAX_NUMBER_CHARS}")
    value = float(text)
    if not math.isfinite(value):
        raise InvalidJson(f"{text} is out of range for a JSON number")
    return value


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant, parse_int=_integer, parse_float=_float)


def depth_of(text: str) -> int:
    """How deep arrays and objects nest in `text` (strings are skipped), without parsing it."""
    depth = deepest = 0
    for match in _STRUCTURE.finditer(text):
        mark = match.group()
        if mark in ("[", "{"):
            depth += 1
            deepest = max(deepest, depth)
        elif mark in ("]", "}"):
            depth -= 1
    return deepest


def _check_depth(text: str, max_depth: int) -> None:
    if depth_of(text) > max_depth:
        raise InvalidJson(f"nested deeper than {max_depth} levels")


def refuse_surrogates(text: str, value: Any) -> None:
    """InvalidJson when `value`, parsed from `text`, holds a string with a lone surrogate."""
    if _SURROGATE_ESCAPE.search(text) or _RAW_SURROGATE.search(text):
        _check_surrogates(value)


def _check_surrogates(value: Any) -> None:
    """A lone surrogate cannot be encoded as UTF-8, so nothing downstream could store or send it."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise InvalidJson("a string holds an unpaired UTF-16 surrogate (like \\ud800)") from None
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def loads(text: str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse strict JSON: InvalidJson for NaN/Infinity, over-long numbers, lone surrogates, deep nesting."""
    _check_depth(text, max_depth)
    try:
        value = _DECODER.decode(text)
    except json.JSONDecodeError as error:
        raise InvalidJson(f"malformed JSON ({error.msg} at line {error.lineno} column {error.colno})") from None
    except RecursionError:
        raise InvalidJson(f"nested deeper than {max_depth} levels") from None
    refuse_surrogates(text, value)
    return value


def minify(text: str) -> str:
    """The same JSON without insignificant whitespace; strings, numbers and escapes untouched."""
    return _MINIFY.sub(lambda match: match.group(1) or "", text)


def _skip_whitespace(text: str, at: int) -> int:
    while at < len(text) and text[at] in _WHITESPACE:
        at += 1
    return at


def members(text: str, start: int = 0) -> Iterator[tuple[str, Any, int, int]]:
    """(key, value, value start, value end) of each member of the object at `start`, in order.

    Values are parsed strictly; the offsets give each value's exact text. Duplicate keys are
    reported as they come (the last one wins for a reader that builds a dict).
    """
    at = _skip_whitespace(text, start)
    if at >= len(text) or text[at] != "{":
        raise InvalidJson("not a JSON object")
    at = _skip_whitespace(text, at + 1)
    if at < len(text) and text[at] == "}":
        return
    while True:
        try:
            key, at = _DECODER.raw_decode(text, at)
        except json.JSONDecodeError as error:
            raise InvalidJson(f"malformed JSON ({error.msg} at column {error.colno})") from None
        if not isinstance(key, str):
            raise InvalidJson("an object key is not a string")
        at = _skip_whitespace(text, at)
        if at >= len(text) or text[at] != ":":
            raise InvalidJson(f"malformed JSON (expected ':' at offset {at})")
        value_start = _skip_whitespace(text, at + 1)
        try:
            value, value_end = _DECODER.raw_decode(text, value_start)
        except json.JSONDecodeError as error:
            raise InvalidJson(f"malformed JSON ({error.msg} at column {error.colno})") from None
        except RecursionError:
            raise InvalidJson("nested too deeply") from None
        yield key, value, value_start, value_end
        at = _skip_whitespace(text, value_end)
        if at < len(text) and text[at] == ",":
            at = _skip_whitespace(text, at + 1)
            continue
        if at < len(text) and text[at] == "}":
            return
        raise InvalidJson(f"malformed JSON (expected ',' or '}}' at offset {at})")


def dumps(value: Any) -> str:
    """Compact JSON, UTF-8 characters as themselves; refuses NaN and Infinity."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
