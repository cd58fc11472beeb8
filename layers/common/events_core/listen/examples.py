"""What a trigger sends: the type's catalogue example (with "test": true), or the data given once
it matches the type's schema — exactly what a webhook test send posts."""

from typing import Any


def data_for_trigger(event_type: str, data: dict[str, Any] | None) -> dict[str, Any]:
    from events_core.schemas import data_for_test_send  # the catalogue; loaded only when a trigger needs it

    return data_for_test_send(event_type, data)
