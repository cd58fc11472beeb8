"""The ten subscribable event types, in the reference's order (declared in events_core/catalogue)."""

from events_core.catalogue import names

EVENT_TYPES: tuple[str, ...] = names()
