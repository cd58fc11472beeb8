"""The event catalogue: one declaration per event type — its name, description, integer version,
the JSON Schema of its `data` and examples — written once in catalogue.json, in the reference's
order. Everything else reads it: event_types.py, the API's type routes, the fan-out's schema
check, test sends, openapi.yaml and the console (checked by tests), and the publishing package.

This subpackage imports nothing else of events_core, so the publishing package can ship it as is.
"""

import copy
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

CATALOGUE = Path(__file__).with_name("catalogue.json")


@dataclass(frozen=True)
class EventType:
    name: str
    description: str
    version: int
    schema: dict[str, Any]
    examples: tuple[dict[str, Any], ...]

    @property
    def example(self) -> dict[str, Any]:
        """The first example, a fresh copy each time (callers may add to it)."""
        return copy.deepcopy(self.examples[0])

    @property
    def fields(self) -> dict[str, dict[str, Any]]:
        """The top-level fields of `data`: name → its schema."""
        return self.schema.get("properties", {})

    def describe(self) -> dict[str, Any]:
        """GET /v1/events/types/{name}."""
        return {
            "name": self.name,
            "description": self.description,
            "version": self.version,
            "schema": copy.deepcopy(self.schema),
            "example": self.example,
        }


@cache
def declarations() -> tuple[EventType, ...]:
    document = json.loads(CATALOGUE.read_text(encoding="utf-8"))
    return tuple(
        EventType(
            name=item["name"],
            description=item["description"],
            version=item["version"],
            schema=item["schema"],
            examples=tuple(item["examples"]),
        )
        for item in document["eventTypes"]
    )


def names() -> tuple[str, ...]:
    return tuple(declared.name for declared in declarations())


def find(name: str) -> EventType | None:
    return next((declared for declared in declarations() if declared.name == name), None)
