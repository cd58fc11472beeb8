"""What a webhook's `event` (or a listen session's `events`) may name: one catalogue type, a
family `"<namespace>.*"` of a namespace the catalogue has, or `"*"` — every type, including types
the catalogue gains later (a pattern is matched against the catalogue of the running code, never
expanded once and stored).

The catalogue is read only by what needs its types: delivery, which only asks `is_pattern`, never
loads it (a cold start's import time)."""

from events_core.errors import BadRequest

EVERY = "*"
FAMILY_SUFFIX = ".*"


def namespace_of(event_type: str) -> str:
    return event_type.split(".", 1)[0]


def _types() -> tuple[str, ...]:
    from events_core.event_types import EVENT_TYPES

    return EVENT_TYPES


def namespaces() -> tuple[str, ...]:
    """The catalogue's namespaces, in the order their first type is declared."""
    return tuple(dict.fromkeys(namespace_of(name) for name in _types()))


def is_pattern(value: str) -> bool:
    return value == EVERY or value.endswith(FAMILY_SUFFIX)


def patterns_for(event_type: str) -> tuple[str, str]:
    """The two patterns that take `event_type`: its family and every type."""
    return f"{namespace_of(event_type)}{FAMILY_SUFFIX}", EVERY


def matches(subscribed: str, event_type: str) -> bool:
    """Whether a subscription's `event` (a type or a pattern) takes `event_type`."""
    if subscribed == EVERY:
        return True
    if subscribed.endswith(FAMILY_SUFFIX):
        return namespace_of(event_type) == subscribed[: -len(FAMILY_SUFFIX)]
    return subscribed == event_type


def types_of(subscribed: str) -> tuple[str, ...]:
    """The catalogue types `subscribed` takes now, in the catalogue's order."""
    return tuple(name for name in _types() if matches(subscribed, name))


def first_type(subscribed: str) -> str:
    """What a test send to `subscribed` posts when it names no type: its first catalogue type."""
    return types_of(subscribed)[0]


def parse(value: str, field: str = "event") -> str:
    """`value` when it is a catalogue type or a pattern over the catalogue; else a 400 naming the
    choices (an unknown namespace lists the namespaces)."""
    if value in _types() or value == EVERY:
        return value
    if value.endswith(FAMILY_SUFFIX):
        if value[: -len(FAMILY_SUFFIX)] in namespaces():
            return value
        raise BadRequest(
            f"{field}: unknown namespace in {value[:64]!r}; one of "
            f"{', '.join(name + FAMILY_SUFFIX for name in namespaces())} or {EVERY!r}",
            field=field,
        )
    raise BadRequest(
        f"{field}: unknown event type {value[:64]!r}; one of {', '.join(_types())}, "
        f"a namespace pattern ({', '.join(name + FAMILY_SUFFIX for name in namespaces())}) or {EVERY!r}",
        field=field,
    )
