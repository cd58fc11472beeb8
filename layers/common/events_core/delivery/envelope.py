"""Platform events as they arrive from EventBridge (through the events queue), and what goes on the
delivery queue: one message per (event, webhook), never holding a secret."""

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

from events_core.clock import iso_ms, parse_iso
from events_core.errors import InvalidEvent
from events_core.event_types import EVENT_TYPES


@dataclass(frozen=True)
class PlatformEvent:
    event_id: str
    event_type: str
    developer_id: str
    timestamp: str
    data: dict


def parse_envelope(body: str, expected_source: str) -> PlatformEvent:
    """Read only what real EventBridge and moto both send: id, time, source, detail-type, detail."""
    try:
        envelope = json.loads(body)
    except json.JSONDecodeError as error:
        raise InvalidEvent(f"not JSON: {error.msg}") from None
    if not isinstance(envelope, dict):
        raise InvalidEvent("not an EventBridge event object")
    if envelope.get("source") != expected_source:
        raise InvalidEvent(f"source {envelope.get('source')!r} is not {expected_source!r}")
    event_type = envelope.get("detail-type")
    if event_type not in EVENT_TYPES:
        raise InvalidEvent(f"unknown event type {event_type!r}")
    event_id = envelope.get("id")
    if not isinstance(event_id, str) or not event_id:
        raise InvalidEvent("no event id")
    detail = envelope.get("detail")
    if not isinstance(detail, dict):
        raise InvalidEvent("detail is not an object")
    developer_id = detail.get("developerId")
    if not isinstance(developer_id, str) or not developer_id.strip():
        raise InvalidEvent("detail.developerId is missing")
    data = detail.get("data")
    if not isinstance(data, dict):
        raise InvalidEvent("detail.data is not an object")
    return PlatformEvent(
        event_id=event_id,
        event_type=event_type,
        developer_id=developer_id,
        timestamp=_timestamp(detail.get("timestamp"), envelope.get("time")),
        data=data,
    )


def _timestamp(given: Any, event_time: Any) -> str:
    for candidate in (given, event_time):
        if isinstance(candidate, str):
            try:
                return iso_ms(parse_iso(candidate))
            except ValueError:
                if candidate is given:
                    raise InvalidEvent(f"detail.timestamp {given!r} is not ISO-8601") from None
    raise InvalidEvent("no timestamp and no event time")


def delivery_id(event_id: str, webhook_id: str) -> str:
    """Stable for one (event, webhook): the same across retries and across re-runs of the fan-out."""
    return "msg_" + hashlib.sha256(f"{event_id}\n{webhook_id}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class DeliveryMessage:
    delivery_id: str
    webhook_id: str
    developer_id: str
    event_id: str
    event: str
    timestamp: str
    data: dict

    @classmethod
    def for_webhook(cls, event: PlatformEvent, webhook_id: str) -> "DeliveryMessage":
        return cls(
            delivery_id=delivery_id(event.event_id, webhook_id),
            webhook_id=webhook_id,
            developer_id=event.developer_id,
            event_id=event.event_id,
            event=event.event_type,
            timestamp=event.timestamp,
            data=event.data,
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> "DeliveryMessage":
        return cls(**json.loads(text))

    def body(self) -> bytes:
        """The POST body, exactly the reference's {event, timestamp, data}; signed as these bytes."""
        payload = {"event": self.event, "timestamp": self.timestamp, "data": self.data}
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
