"""Webhook filters: dot paths into the event's `data`, matched with EventBridge content-filter forms.

    {"status": "ok", "toolName": ["a", "b"], "result.total": [{"numeric": [">", 10]}],
     "input.warehouse_id": [{"prefix": "WH-"}], "error": [{"exists": false}]}

Every key must match. A value is a scalar (equality) or a list of alternatives, each a scalar or
one of {"prefix": s}, {"suffix": s}, {"anything-but": v | [v, ...]}, {"numeric": [op, n, ...]},
{"exists": bool}. A list in the data matches when any of its elements does.

Matching work is bounded: a filter is compiled once (cached by its stored text), equality is a set
lookup, and every comparison spends from a `Budget`. A (event, webhook) pair that would cost more
than its share is refused with FilterBudgetExceeded instead of holding the fan-out hostage.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from events_core import jsonsafe
from events_core.errors import BadRequest

MAX_FILTER_BYTES = 4096
MAX_KEYS = 20
MAX_ALTERNATIVES = 100
# Comparisons (data elements × alternatives) one (event, webhook) pair and one event may cost.
PAIR_BUDGET = 50_000
EVENT_BUDGET = 200_000
_NUMERIC_OPS = {"<", "<=", "=", ">=", ">"}
_OPERATORS = ("prefix", "suffix", "anything-but", "numeric", "exists")
_MISSING = object()

Scalar = str | int | float | bool | None


class FilterBudgetExceeded(Exception):
    """Matching would cost more than the budget allows; the pair is not delivered."""


class Budget:
    def __init__(self, steps: int):
        self.left = steps

    def spend(self, steps: int) -> None:
        self.left -= steps
        if self.left < 0:
            raise FilterBudgetExceeded("filter matching exceeded its budget of comparisons")


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _refuse(where: str, message: str) -> BadRequest:
    return BadRequest(f"filter.{where}: {message}" if where else f"filter: {message}", field="filter")


def _check_operator(where: str, rule: dict) -> None:
    if len(rule) != 1:
        raise _refuse(where, f"an operator object has exactly one key, one of {', '.join(_OPERATORS)}")
    ((name, arg),) = rule.items()
    if name in ("prefix", "suffix"):
        if not isinstance(arg, str):
            raise _refuse(where, f'"{name}" takes a string')
    elif name == "anything-but":
        values = arg if isinstance(arg, list) else [arg]
        if not values or not all(_is_scalar(v) for v in values) or len(values) > MAX_ALTERNATIVES:
            raise _refuse(where, f'"anything-but" takes a scalar or a list of 1 to {MAX_ALTERNATIVES} scalars')
    elif name == "numeric":
        if not isinstance(arg, list) or len(arg) not in (2, 4):
            raise _refuse(where, '"numeric" takes [op, number] or [op, number, op, number]')
        for op, bound in zip(arg[::2], arg[1::2], strict=True):
            if not isinstance(op, str) or op not in _NUMERIC_OPS or not _is_number(bound):
                raise _refuse(where, f'"numeric" comparisons are one of {", ".join(sorted(_NUMERIC_OPS))} and a number')
    elif name == "exists":
        if not isinstance(arg, bool):
            raise _refuse(where, '"exists" takes true or false')
    else:
        raise _refuse(where, f'unknown operator "{name}"; use one of {", ".join(_OPERATORS)}')


def validate_filter(raw: Any) -> dict:
    """The filter as stored, or BadRequest saying what is wrong. None means every event."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise _refuse("", "must be an object")
    if len(jsonsafe.dumps(raw).encode()) > MAX_FILTER_BYTES:
        raise _refuse("", f"must be at most {MAX_FILTER_BYTES} bytes as JSON")
    if len(raw) > MAX_KEYS:
        raise _refuse("", f"at most {MAX_KEYS} keys")
    for path, rule in raw.items():
        if not path or any(not segment for segment in path.split(".")):
            raise _refuse(path, "a key is a dot path into data, like result.total")
        if isinstance(rule, dict):
            raise _refuse(path, 'put an operator inside a list, like [{"prefix": "WH-"}]')
        if isinstance(rule, list):
            if not rule or len(rule) > MAX_ALTERNATIVES:
                raise _refuse(path, f"a list holds 1 to {MAX_ALTERNATIVES} alternatives")
            for alternative in rule:
                if isinstance(alternative, dict):
                    _check_operator(path, alternative)
                elif not _is_scalar(alternative):
                    raise _refuse(path, "an alternative is a scalar or an operator object")
        elif not _is_scalar(rule):
            raise _refuse(path, "must be a scalar or a list of alternatives")
    return raw


def _equality_key(value: Any) -> tuple | None:
    """A hashable key under which JSON-equal scalars meet: 1 and 1.0 do, true and 1 do not."""
    if value is None:
        return ("null",)
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return ("number", value)
    if isinstance(value, str):
        return ("string", value)
    return None  # objects and lists equal no scalar


_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    "=": lambda a, b: a == b,
    ">=": lambda a, b: a >= b,
    ">": lambda a, b: a > b,
}


def _operator(name: str, arg: Any) -> Callable[[Any], bool]:
    if name == "prefix":
        return lambda actual: isinstance(actual, str) and actual.startswith(arg)
    if name == "suffix":
        return lambda actual: isinstance(actual, str) and actual.endswith(arg)
    if name == "anything-but":
        excluded = {_equality_key(value) for value in (arg if isinstance(arg, list) else [arg])}
        return lambda actual: _equality_key(actual) not in excluded
    tests = [(_COMPARE[op], bound) for op, bound in zip(arg[::2], arg[1::2], strict=True)]
    return lambda actual: _is_number(actual) and all(compare(actual, bound) for compare, bound in tests)


@dataclass(frozen=True)
class _Rule:
    path: tuple[str, ...]
    equals: frozenset
    operators: tuple[Callable[[Any], bool], ...]
    exists: frozenset[bool]

    def lookup(self, data: Any) -> Any:
        for segment in self.path:
            if not isinstance(data, dict) or segment not in data:
                return _MISSING
            data = data[segment]
        return data

    def matches(self, data: Any, budget: Budget) -> bool:
        found = self.lookup(data)
        if (found is not _MISSING) in self.exists:
            return True
        if found is _MISSING:
            return False
        candidates = found if isinstance(found, list) else [found]
        if self.equals:
            budget.spend(len(candidates))
            if any(_equality_key(candidate) in self.equals for candidate in candidates):
                return True
        for test in self.operators:
            budget.spend(len(candidates))
            if any(test(candidate) for candidate in candidates):
                return True
        return False


def _compile_rule(path: str, rule: Any) -> _Rule:
    equals, operators, exists = set(), [], set()
    for alternative in rule if isinstance(rule, list) else [rule]:
        if isinstance(alternative, dict):
            ((name, arg),) = alternative.items()
            if name == "exists":
                exists.add(arg)
            else:
                operators.append(_operator(name, arg))
        else:
            equals.add(_equality_key(alternative))
    return _Rule(tuple(path.split(".")), frozenset(equals), tuple(operators), frozenset(exists))


@dataclass(frozen=True)
class CompiledFilter:
    rules: tuple[_Rule, ...]

    def matches(self, data: Any, budget: Budget | None = None) -> bool:
        budget = budget or Budget(PAIR_BUDGET)
        return all(rule.matches(data, budget) for rule in self.rules)


def compile_filter(filter_: dict) -> CompiledFilter:
    return CompiledFilter(tuple(_compile_rule(path, rule) for path, rule in filter_.items()))


def to_stored(filter_: dict) -> str:
    """A filter as the webhooks table keeps it: compact JSON text (numbers exact, "" legal)."""
    return jsonsafe.dumps(filter_)


def from_stored(filter_json: str) -> dict:
    """The one place a stored filter is decoded (it was validated before it was stored)."""
    value = json.loads(filter_json or "{}")
    return value if isinstance(value, dict) else {}


@lru_cache(maxsize=4096)
def compiled(filter_json: str) -> CompiledFilter:
    """The compiled form of a stored filter, built once per function instance."""
    return compile_filter(from_stored(filter_json))
