"""What a trigger sends when no data is given, and how given data is checked: the one place to
repoint at the event catalogue's examples and schemas."""

from typing import Any


def example(event_type: str) -> dict[str, Any]:
    from events_core.delivery.probe import SAMPLES  # the test-send samples, until the catalogue's examples

    return {**SAMPLES.get(event_type, {}), "test": True}


def checked(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """The data a trigger was given, once it is known to fit the type (for now: a JSON object)."""
    return data
