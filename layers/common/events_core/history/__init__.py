"""Delivery history behind the API: list, read one, redeliver, recover — each scoped to the calling
developer's webhook. The records themselves live in events_core.records."""
