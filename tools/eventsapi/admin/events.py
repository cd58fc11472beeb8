"""`eventsapi events validate|send`: check an event's data against the catalogue, and publish
events through the producers' own package (eventsapi_publisher) to the local stack's bus or a
deployed stack's."""

import json
import sys
from pathlib import Path
from typing import Any

from eventsapi.local.template import Template
from eventsapi.local.wiring import REGION, STACK_NAME, TEMPLATE, emulator_session, local_parameters
from eventsapi_publisher import Publisher, find, names


class BadData(ValueError):
    pass


def read_data(text: str | None) -> dict[str, Any] | None:
    """--data: JSON text, @file, or - (standard input); None when not given."""
    if text is None:
        return None
    if text == "-":
        raw = sys.stdin.read()
    elif text.startswith("@"):
        try:
            raw = Path(text[1:]).read_text(encoding="utf-8")
        except OSError as error:
            raise BadData(f"--data {text}: {error.strerror}") from None
    else:
        raw = text
    try:
        data = json.loads(raw)
    except ValueError as error:
        raise BadData(f"--data is not JSON: {error}") from None
    if not isinstance(data, dict):
        raise BadData("--data must be a JSON object")
    return data


def example_of(event_type: str) -> dict[str, Any]:
    declared = find(event_type)
    if declared is None:
        raise BadData(f"unknown event type {event_type!r}; one of {', '.join(names())}")
    return declared.example


def local_publisher(endpoint_url: str, bus: str | None = None) -> Publisher:
    """The bus and source `make run` created (the template's, with the local parameters)."""
    template = Template(TEMPLATE, stack_name=STACK_NAME, region=REGION, overrides=local_parameters())
    client = emulator_session().client("events", endpoint_url=endpoint_url)
    return Publisher(
        bus or template.parameters["EventBusName"], source=template.parameters["EventSource"], client=client
    )


def stack_publisher(stack: str, region: str | None, bus: str | None = None) -> Publisher:
    import boto3

    publisher = Publisher.from_stack(stack, session=boto3.Session(region_name=region) if region else boto3.Session())
    if bus:
        publisher.bus = bus
    return publisher
