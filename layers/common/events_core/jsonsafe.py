"""Strict JSON at every edge: what the API accepts and what the pipeline takes from the bus.

Python's json module accepts NaN and Infinity, numbers of any length, lone UTF-16 surrogates
("\\ud800") and nesting until the interpreter's recursion limit. Each of those either crashes
something downstream (DynamoDB, UTF-8 encoding, the recursion limit) or produces output that is
not JSON. Here each is refused with a message that names it.

Everything here runs in time proportional to the text's length, whatever the text: no regular
expression that can backtrack or restart over client text, no recursion, no rescans. `loads`
lets the C decoder judge the syntax first (it stops deep nesting itself with RecursionError), and
only then checks depth, number lengths, range and surrogates on the text it now knows to be JSON;
a per-number hook in the decoder would cost 20 times the parse on a body of small numbers.

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

# Linear by construction: possessive quantifiers never give back, and a pattern is only ever
# anchored (match at a known offset) or starts with a class its own run cannot restart inside
# (the negative lookbehinds), so no position is examined more than a bounded number of times.
# The rest of a JSON string after its opening quote (escapes included), up to its closing quote.
_STRING_TAIL = re.compile(r'[^"\\]*+(?:\\.[^"\\]*+)*+"', re.DOTALL)
# A whole string; used only on text the decoder has accepted, where every quote opens or closes one.
_STRING = re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+"', re.DOTALL)
_WHITESPACE_RUN = re.compile(r"[ \t\n\r]++")
_NUMBER_CHARS = "-+.0-9eE"
_LONG_DIGITS = re.compile(r"(?<![0-9])[0-9]{4000,}+")
_EXPONENT_NUMBER = re.compile(rf"(?<![{_NUMBER_CHARS}])-?[0-9.]++[eE][-+]?[0-9]++")
# Outside strings, a number's characters become "0" and everything else " ": a number longer than
# the limit is then a plain substring search (bytes.translate and `in`, both one C pass).
_NUMBERS_AS_ZEROS = bytes(ord("0") if chr(byte) in "-+.0123456789eE" else ord(" ") for byte in range(256))
_TOO_LONG = b"0" * (MAX_NUMBER_CHARS + 1)
# \uD800-\uDFFF written as an escape; a false hit (an escaped backslash before it) only costs a check.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
# Brackets only, "{}" written as "[]" (bytes.translate: one C pass, whatever the text holds).
_UNIFY_BRACKETS = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in b"[]{}")


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


# `members` decodes one value at a time (event envelopes, never an API body): hooks there are fine.
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant, parse_int=_integer, parse_float=_float)
# `loads` checks numbers after the parse, in one pass over the text.
_PLAIN_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)


def _pieces(text: str) -> Iterator[tuple[str, bool]]:
    """`text` cut into (piece, is a string) in order, each character visited once.

    An unterminated string ends the text: it is one last (malformed) string piece.
    """
    at = 0
    while True:
        quote = text.find('"', at)
        if quote < 0:
            yield text[at:], False
            return
        yield text[at:quote], False
        tail = _STRING_TAIL.match(text, quote + 1)
        if tail is None:
            yield text[quote:], True
            return
        yield text[quote : tail.end()], True
        at = tail.end()


def _deepest(skeleton: bytes, at_most: int) -> int:
    """How deep brackets nest in text with no strings left in it; `at_most + 1` for anything deeper.

    Each pass deletes every innermost pair ("[]" once brackets are unified), which lowers the
    nesting by exactly one level: bytes.replace does it at C speed, and at most `at_most + 1` passes
    over an ever shorter text run. What no pass can shorten is unbalanced; its openers count in full.
    """
    brackets = skeleton.translate(_UNIFY_BRACKETS, _NOT_BRACKETS)
    passes = 0
    while brackets and passes <= at_most:
        shorter = brackets.replace(b"[]", b"")
        if len(shorter) == len(brackets):
            return min(passes + brackets.count(b"["), at_most + 1)
        brackets = shorter
        passes += 1
    return at_most + 1 if brackets else passes


def depth_of(text: str, *, at_most: int = 2 * MAX_DEPTH) -> int:
    """How deep arrays and objects nest in `text` (strings are skipped), without parsing it:
    exact up to `at_most`, `at_most + 1` for anything deeper. Any text, well-formed or not."""
    outside = "".join(piece for piece, is_string in _pieces(text) if not is_string)
    return _deepest(outside.encode("utf-8", "surrogatepass"), at_most)


def _check_numbers(skeleton: bytes) -> None:
    zeros = skeleton.translate(_NUMBERS_AS_ZEROS)
    start = zeros.find(_TOO_LONG)
    if start >= 0:
        end = zeros.find(b" ", start)
        length = (len(zeros) if end < 0 else end) - start
        raise InvalidJson(f"a number of {length} digits is longer than {MAX_NUMBER_CHARS}")


def _has_surrogate(text: str) -> bool:
    """Might `text` decode to a lone surrogate? (A written \\uD8xx escape, or the character itself.)"""
    if "\\u" in text and _SURROGATE_ESCAPE.search(text):
        return True
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _check_range_and_surrogates(text: str, skeleton: bytes, value: Any) -> None:
    """Infinity from an exponent, or a lone surrogate: both found by encoding the value (C speed)."""
    numbers = skeleton.replace(b"true", b"").replace(b"false", b"")
    exponent = b"e" in numbers or b"E" in numbers
    if not (exponent or _has_surrogate(text)):
        return
    try:
        json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidJson("a string holds an unpaired UTF-16 surrogate (like \\ud800)") from None
    except ValueError:
        for number in _EXPONENT_NUMBER.finditer(skeleton.decode("ascii")):
            if not math.isfinite(float(number.group())):
                raise InvalidJson(f"{number.group()} is out of range for a JSON number") from None
        raise InvalidJson("a number is out of range for a JSON number") from None


def refuse_surrogates(text: str, value: Any) -> None:
    """InvalidJson when `value`, parsed from `text`, holds a string with a lone surrogate."""
    if _has_surrogate(text):
        _check_surrogates(value)


def _check_surrogates(value: Any) -> None:
    """A lone surrogate cannot be encoded as UTF-8, so nothing downstream could store or send it."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidJson("a string holds an unpaired UTF-16 surrogate (like \\ud800)") from None


def loads(text: str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse strict JSON: InvalidJson for NaN/Infinity, over-long numbers, lone surrogates, deep nesting."""
    try:
        value = _PLAIN_DECODER.decode(text)
    except json.JSONDecodeError as error:
        raise InvalidJson(f"malformed JSON ({error.msg} at line {error.lineno} column {error.colno})") from None
    except RecursionError:
        raise InvalidJson(f"nested deeper than {max_depth} levels") from None
    except InvalidJson:
        raise
    except ValueError:  # an integer past the interpreter's digit limit (4,300)
        digits = _LONG_DIGITS.search(text)
        length = len(digits.group()) if digits else 4300
        raise InvalidJson(f"a number of {length} digits is longer than {MAX_NUMBER_CHARS}") from None
    # The decoder accepted it, so every quote opens or closes a string: this pass is linear.
    skeleton = _STRING.sub("", text).encode("ascii")  # outside strings, JSON is ASCII
    if _deepest(skeleton, max_depth) > max_depth:
        raise InvalidJson(f"nested deeper than {max_depth} levels")
    _check_numbers(skeleton)
    _check_range_and_surrogates(text, skeleton, value)
    return value


def minify(text: str) -> str:
    """The same JSON without insignificant whitespace; strings, numbers and escapes untouched."""
    return "".join(piece if is_string else _WHITESPACE_RUN.sub("", piece) for piece, is_string in _pieces(text))


def _skip_whitespace(text: str, at: int) -> int:
    run = _WHITESPACE_RUN.match(text, at)
    return run.end() if run else at


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
