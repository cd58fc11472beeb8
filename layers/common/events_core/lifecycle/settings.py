"""A developer's settings: one document, one item in the ControlTable ("settings#developer", in the
data map), read whole and changed by a JSON merge patch (RFC 7396).

The document always answers every field, with its default where the developer set nothing:
{"retention": {"payloadDays", "responseDays", "recordDays"}, "notifications": {}}. Only what the
developer set is stored, so a default (LogRetentionDays) that changes later reaches everyone who
did not choose, and a stored value above a lowered ceiling reads as the ceiling.

A section is one entry of `sections()`: a member added later (notifications) is a dict of fields
with their defaults and parsers. A patch is judged whole before anything is written: an unknown
field, a wrong type or a value out of range is a 400 naming the field, and changes nothing.
"""

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from events_core.config import Settings, settings
from events_core.errors import BadRequest, Unavailable
from events_core.lifecycle.document import RevisionedDocument
from events_core.lifecycle.keys import SETTINGS_PREFIX

_TRIES = 4
SWEEP_SHARDS = 16


def sweep_shard(developer_id: str) -> str:
    """The sweep index's partition for a developer: spread over SWEEP_SHARDS, so no one key is hot."""
    digest = hashlib.sha256(developer_id.encode("utf-8", "surrogatepass")).digest()
    return f"retention#{int.from_bytes(digest[:4], 'big') % SWEEP_SHARDS}"


@dataclass(frozen=True)
class Field:
    default: Callable[[Settings], Any]
    parse: Callable[[Any, str, Settings], Any]  # (value, field path, config) → stored value; BadRequest if wrong


def _days(value: Any, path: str, config: Settings) -> int:
    ceiling = config.log_retention_days
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= ceiling:
        raise BadRequest(f"{path}: an integer from 0 to {ceiling} (LogRetentionDays) days", field=path)
    return value


def _retention_days(config: Settings) -> int:
    return config.log_retention_days


def sections() -> dict[str, dict[str, Field]]:
    return {
        "retention": {
            # An event's payload (stored once); 0: removed when the last delivery naming it settles.
            "payloadDays": Field(_retention_days, _days),
            # Receivers' answers (attempt excerpts, errors) on delivery records.
            "responseDays": Field(_retention_days, _days),
            # The delivery records themselves.
            "recordDays": Field(_retention_days, _days),
        },
        "notifications": {},
    }


def _clamped(section: str, name: str, value: Any, config: Settings) -> Any:
    if section == "retention" and isinstance(value, int):
        return min(value, config.log_retention_days)
    return value


def document(stored: dict[str, Any], config: Settings) -> dict[str, Any]:
    """The whole document: what is stored over every default."""
    return {
        section: {
            name: _clamped(section, name, (stored.get(section) or {}).get(name, spec.default(config)), config)
            for name, spec in fields_.items()
        }
        for section, fields_ in sections().items()
    }


def merged(stored: dict[str, Any], patch: Any, config: Settings) -> dict[str, Any]:
    """RFC 7396 applied to what is stored (null removes: back to the default), judged whole."""
    if not isinstance(patch, dict):
        raise BadRequest("the body must be a JSON object (a JSON merge patch of the settings)")
    known = sections()
    result = {section: dict(values) for section, values in stored.items() if section in known}
    for section, change in patch.items():
        if section not in known:
            raise BadRequest(f"{section}: unknown field", field=section)
        if change is None:
            result.pop(section, None)
            continue
        if not isinstance(change, dict):
            raise BadRequest(f"{section}: an object", field=section)
        current = result.setdefault(section, {})
        for name, value in change.items():
            path = f"{section}.{name}"
            if name not in known[section]:
                raise BadRequest(f"{path}: unknown field", field=path)
            if value is None:
                current.pop(name, None)
            else:
                current[name] = known[section][name].parse(value, path, config)
        if not current:
            result.pop(section)
    return result


class SettingsStore(RevisionedDocument):
    prefix = SETTINGS_PREFIX
    field = "document"

    def stored(self, developer_id: str, *, consistent: bool = True) -> tuple[dict[str, Any], int]:
        return self.read(developer_id, consistent=consistent)

    def replace(self, developer_id: str, stored: dict[str, Any], revision: int) -> bool:
        """Write the document if nobody changed it since `revision` was read."""
        # Only who chose a retention is in the sweep's sparse index (events_core.lifecycle.sweep).
        chosen = {"sweepShard": sweep_shard(developer_id)} if stored.get("retention") else {}
        return self.write(developer_id, stored, revision, updatedAt=int(time.time() * 1000), **chosen)


def get(developer_id: str, store: SettingsStore | None = None, config: Settings | None = None) -> dict[str, Any]:
    stored, _ = (store or SettingsStore()).stored(developer_id)
    return document(stored, config or settings())


def patch(developer_id: str, body: Any, store: SettingsStore | None = None, config: Settings | None = None) -> dict:
    """Apply a merge patch; the whole document after it. Concurrent patches never lose one another:
    the write is conditional on the revision read, and a lost race reads again."""
    store, config = store or SettingsStore(), config or settings()
    for _ in range(_TRIES):
        stored, revision = store.stored(developer_id)
        after = merged(stored, body, config)
        if after == stored or store.replace(developer_id, after, revision):
            return document(after, config)
    raise Unavailable("the settings changed under this request several times; try again")
