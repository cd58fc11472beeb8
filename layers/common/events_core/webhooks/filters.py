"""Webhook filters: dot paths into the event's `data`, matched with EventBridge content-filter forms.

    {"status": "ok", "toolName": ["a", "b"], "result.total": [{"numeric": [">", 10]}],
     "input.warehouse_id": [{"prefix": "WH-"}], "error": [{"exists": false}]}

Every key must match. A value is a scalar (equality) or a list of alternatives, each a scalar or
one of {"prefix": s}, {"suffix": s}, {"anything-but": v | [v, ...]}, {"numeric": [op, n, ...]},
{"exists": bool}.
"""

import json
from typing import Any

from events_core.errors import BadRequest

MAX_FILTER_BYTES = 4096
MAX_KEYS = 20
MAX_ALTERNATIVES = 100
_NUMERIC_OPS = {"<", "<=", "=", ">=", ">"}
_OPERATORS = ("prefix", "suffix", "anything-but", "numeric", "exists")
_MISSING = object()

Scalar = str | int | float | bool | None


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
        if not values or not all(_is_scalar(v) for v in values):
            raise _refuse(where, '"anything-but" takes a scalar or a non-empty list of scalars')
    elif name == "numeric":
        if not isinstance(arg, list) or len(arg) not in (2, 4):
            raise _refuse(where, '"numeric" takes [op, number] or [op, number, op, number]')
        for op, bound in zip(arg[::2], arg[1::2], strict=True):
            if not isinstance(op, str) or op not in _NUMERIC_OPS or not _is_number(bound):
                raise _refuse(where, f'"numeric" comparisons are one of {sorted(_NUMERIC_OPS)} and a number')
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
    if len(json.dumps(raw)) > MAX_FILTER_BYTES:
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


def _lookup(data: Any, path: str) -> Any:
    for segment in path.split("."):
        if not isinstance(data, dict) or segment not in data:
            return _MISSING
        data = data[segment]
    return data


def _same(expected: Scalar, actual: Any) -> bool:
    # True must not equal 1, and 1 must equal 1.0, as in JSON.
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    if _is_number(expected) and _is_number(actual):
        return expected == actual
    return type(expected) is type(actual) and expected == actual


def _compare(op: str, actual: float, bound: float) -> bool:
    return {
        "<": actual < bound,
        "<=": actual <= bound,
        "=": actual == bound,
        ">=": actual >= bound,
        ">": actual > bound,
    }[op]


def _matches_value(alternative: Any, actual: Any) -> bool:
    if not isinstance(alternative, dict):
        return _same(alternative, actual)
    ((name, arg),) = alternative.items()
    if name == "prefix":
        return isinstance(actual, str) and actual.startswith(arg)
    if name == "suffix":
        return isinstance(actual, str) and actual.endswith(arg)
    if name == "anything-but":
        values = arg if isinstance(arg, list) else [arg]
        return not any(_same(value, actual) for value in values)
    if name == "numeric":
        return _is_number(actual) and all(
            _compare(op, actual, bound) for op, bound in zip(arg[::2], arg[1::2], strict=True)
        )
    return False


def _matches_rule(rule: Any, found: Any) -> bool:
    alternatives = rule if isinstance(rule, list) else [rule]
    for alternative in alternatives:
        if isinstance(alternative, dict) and "exists" in alternative:
            if alternative["exists"] is (found is not _MISSING):
                return True
            continue
        if found is _MISSING:
            continue
        # As in EventBridge, a list in the data matches when any of its elements does.
        candidates = found if isinstance(found, list) else [found]
        if any(_matches_value(alternative, candidate) for candidate in candidates):
            return True
    return False


def matches(filter_: dict, data: dict) -> bool:
    return all(_matches_rule(rule, _lookup(data, path)) for path, rule in filter_.items())
