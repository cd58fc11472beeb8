"""The partition ledger: which delivery-record partitions a developer has, even after their owner
is gone.

Records live in one partition per owner ("developer#webhook", "developer#ls_…" for a listen
session) and outlive it: a deleted webhook's records, an ended session's, stay until their
retention ends. Without a note of the owner's id nothing could find them again without a Scan, so
off-boarding, export and expunge could not reach them. Each owner that goes away (a webhook
deleted, a session opened: sessions may end silently) leaves one item in the deliveries table
itself, partition "developer#~partitions", sort key the owner's id, living as long as the records
it names could (their retention plus the retry schedule's span). "~" is never a webhook id, so the
webhook routes never reach the ledger.
"""

from typing import Any

from events_core.records.model import webhook_key

LEDGER = "~partitions"
RETRY_SPAN_SECONDS = 2 * 86400


def ledger_partition(developer_id: str) -> str:
    return webhook_key(developer_id, LEDGER)


def ledger_item(developer_id: str, owner_id: str, *, now_s: int, retention_days: int) -> dict[str, Any]:
    return {
        "webhookKey": ledger_partition(developer_id),
        "deliveryId": owner_id,
        "developerId": developer_id,
        "expiresAt": now_s + retention_days * 86400 + RETRY_SPAN_SECONDS,
    }
