"""Validating an event's `data` against its type's schema: the same function, and so the same
errors, for the API's validate route, test sends, the fan-out and the publishing package.

The schemas are a Draft-07 subset that is also valid OpenAPI 3.1 (`SUPPORTED_KEYWORDS`): nothing
that runs a regular expression over client data (`pattern`, `patternProperties`, `format`).
fastjsonschema compiles each schema to Python once per type, at first use — its import is kept
out of every cold start (tests/unit/test_cold_start.py) — and a valid event costs microseconds.
A failure is explained in full on the slow path: each missing required field, and the first fault
inside each field present, as JSON Pointer paths into `data` (`/toolName`).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import find

SUPPORTED_KEYWORDS = frozenset(
    {
        "type",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "enum",
        "const",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
        "minProperties",
        "maxProperties",
        "title",
        "description",
        "default",
        "examples",
    }
)
# Keywords whose values are schemas (the walk of `unsupported_keywords` goes into them).
_SCHEMA_MAPS = ("properties",)
_SCHEMA_VALUES = ("items", "additionalProperties")

Check = Callable[[Any], Any]


@dataclass(frozen=True)
class SchemaError:
    path: str  # a JSON Pointer into `data`; "" is `data` itself
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


class UnknownEventType(LookupError):
    pass


def unsupported_keywords(schema: Any, where: str = "") -> list[str]:
    """Every keyword outside the supported subset, as "pointer: keyword" (empty: the schema is fine)."""
    if not isinstance(schema, dict):
        return [f"{where or '/'}: not a schema object"]
    found = [f"{where or '/'}: {keyword}" for keyword in schema if keyword not in SUPPORTED_KEYWORDS]
    for keyword in _SCHEMA_MAPS:
        for name, sub in (schema.get(keyword) or {}).items():
            found += unsupported_keywords(sub, f"{where}/{keyword}/{_escape(name)}")
    for keyword in _SCHEMA_VALUES:
        if isinstance(schema.get(keyword), dict):
            found += unsupported_keywords(schema[keyword], f"{where}/{keyword}")
    return found


_compiled: dict[tuple[str, str | None], Check] = {}


def _check(event_type: str, field: str | None = None) -> Check:
    """The compiled check of a type's schema (or of one of its fields), compiled at first use."""
    key = (event_type, field)
    check = _compiled.get(key)
    if check is None:
        import fastjsonschema  # here, not at the top: kept out of cold starts; compiled once per type

        declared = find(event_type)
        if declared is None:
            raise UnknownEventType(event_type)
        schema = declared.schema if field is None else declared.fields[field]
        check = _compiled[key] = fastjsonschema.compile(schema, use_formats=False)
    return check


def validate(event_type: str, data: Any) -> list[SchemaError]:
    """The faults of `data` against `event_type`'s schema; empty when it is valid."""
    check = _check(event_type)
    try:
        check(data)
        return []
    except Exception as error:  # noqa: BLE001 - any failure, the validator's own included, is explained below
        first = error
    if not isinstance(data, dict):
        return [_error(first)]
    declared = find(event_type)
    if declared is None:
        raise UnknownEventType(event_type)
    errors = [
        SchemaError(f"/{_escape(name)}", "is a required field")
        for name in declared.schema.get("required", ())
        if name not in data
    ]
    for name in declared.fields:
        if name in data:
            try:
                _check(event_type, name)(data[name])
            except Exception as error:  # noqa: BLE001
                errors.append(_error(error, prefix=f"/{_escape(name)}"))
    return errors or [_error(first)]


def _error(error: Exception, prefix: str = "") -> SchemaError:
    import fastjsonschema  # already imported by _check

    if not isinstance(error, fastjsonschema.JsonSchemaValueException):
        return SchemaError(prefix, f"could not be checked ({type(error).__name__})")
    inner = "".join(f"/{_escape(str(part))}" for part in (error.path or [])[1:])
    message = error.message
    name = error.name or ""
    if name and message.startswith(name):
        message = message[len(name) :].strip()
    return SchemaError(prefix + inner, message)


def _escape(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")


def summary(errors: list[SchemaError], limit: int = 3) -> str:
    """A one-line reason: the first few faults."""
    text = "; ".join(f"{error.path or '/'} {error.message}" for error in errors[:limit])
    return text + (f" (+{len(errors) - limit} more)" if len(errors) > limit else "")
