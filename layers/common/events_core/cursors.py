"""Pagination cursors, one codec for every paged route: opaque, signed with a key of the stack,
bound to who asked and for what, and opened with bounds before anything in them is believed.

A cursor is `v1.<base64url payload>.<base64url tag>`, the tag an HMAC-SHA256 (first 16 bytes) over
the version, the route's scope (developer, webhook, the query's window and filters, as the route
gives them) and the payload. Opening one checks its length and alphabet, then the tag, and only
then parses the payload (strict JSON, two levels at most). A forged, truncated, oversized, deeply
nested or replayed-elsewhere cursor is `InvalidCursor` (400 invalid_cursor); nothing in it reaches
DynamoDB unless this stack signed it for this very query.

The key is 32 random bytes kept in the ControlTable under one item, made by the first function
that needs it (a conditional put) and read once per execution environment: no KMS call per page.
"""

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from events_core import jsonsafe
from events_core.aws import LazyTable, conditional_check_failed, per_environment
from events_core.errors import BadRequest

VERSION = "v1"
MAX_CURSOR_CHARS = 512
_TAG_BYTES = 16
_KEY_ITEM = "stack#cursor-key"
_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


class InvalidCursor(BadRequest):
    code = "invalid_cursor"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _canonical(scope: Mapping[str, Any]) -> bytes:
    return json.dumps(dict(scope), sort_keys=True, separators=(",", ":")).encode()


class CursorKeys:
    """The stack's cursor key, read (or made) once and kept for the execution environment."""

    table = LazyTable("control_table")

    def __init__(self, table: Any = None):
        if table is not None:
            self.table = table
        self._key: bytes | None = None
        self._lock = threading.Lock()

    def key(self) -> bytes:
        with self._lock:
            if self._key is None:
                self._key = self._read() or self._make()
            return self._key

    def _read(self) -> bytes | None:
        item = self.table.get_item(Key={"controlKey": _KEY_ITEM}, ConsistentRead=True).get("Item")
        return _unb64(str(item["secret"])) if item else None

    def _make(self) -> bytes:
        fresh = secrets.token_bytes(32)
        try:
            self.table.put_item(
                Item={"controlKey": _KEY_ITEM, "secret": _b64(fresh)},
                ConditionExpression="attribute_not_exists(controlKey)",
            )
        except ClientError as error:
            if not conditional_check_failed(error):
                raise
            found = self._read()  # another function made it first: use theirs
            if found is None:
                raise
            return found
        return fresh


@per_environment
def stack_keys() -> CursorKeys:
    return CursorKeys()


def _tag(key: bytes, scope: Mapping[str, Any], payload: bytes) -> bytes:
    message = VERSION.encode() + b"\n" + _canonical(scope) + b"\n" + payload
    return hmac.new(key, message, hashlib.sha256).digest()[:_TAG_BYTES]


def seal(state: Mapping[str, str | int | None], scope: Mapping[str, Any]) -> str:
    """A cursor carrying `state` (flat: strings, integers, null), valid only for `scope`."""
    payload = json.dumps(dict(state), separators=(",", ":")).encode()
    return f"{VERSION}.{_b64(payload)}.{_b64(_tag(stack_keys().key(), scope, payload))}"


def open_cursor(cursor: str, scope: Mapping[str, Any]) -> dict[str, Any]:
    """The state `seal` put in `cursor`, if this stack signed it for `scope`; InvalidCursor otherwise."""
    refused = InvalidCursor("cursor: not a cursor this API handed out for this query", field="cursor")
    if not isinstance(cursor, str) or not 0 < len(cursor) <= MAX_CURSOR_CHARS or not _ALPHABET.issuperset(cursor):
        raise refused
    parts = cursor.split(".")
    if len(parts) != 3 or parts[0] != VERSION:
        raise refused
    try:
        payload, tag = _unb64(parts[1]), _unb64(parts[2])
    except (binascii.Error, ValueError):
        raise refused from None
    if _b64(payload) != parts[1] or _b64(tag) != parts[2]:
        raise refused  # one text per cursor: no spare bits to vary
    if not hmac.compare_digest(tag, _tag(stack_keys().key(), scope, payload)):
        raise refused
    try:
        state = jsonsafe.loads(payload.decode("utf-8"), max_depth=1)
    except (UnicodeDecodeError, jsonsafe.InvalidJson):
        raise refused from None
    if not isinstance(state, dict):
        raise refused
    return state
