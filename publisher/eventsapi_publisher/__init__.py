"""Publish platform events to the Events API's bus (see publisher.py)."""

from .catalogue import EventType, declarations, find, names
from .catalogue.validation import SchemaError, validate
from .publisher import (
    DEFAULT_SOURCE,
    MAX_BATCH,
    Event,
    InvalidEventData,
    Publisher,
    PublishFailed,
    current_trace_context,
    entry,
)

__all__ = [
    "DEFAULT_SOURCE",
    "MAX_BATCH",
    "Event",
    "EventType",
    "InvalidEventData",
    "PublishFailed",
    "Publisher",
    "SchemaError",
    "current_trace_context",
    "declarations",
    "entry",
    "find",
    "names",
    "validate",
]
