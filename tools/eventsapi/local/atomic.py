"""DynamoDB's conditional writes and transactions are atomic; moto's are not when two threads write
at once (it checks the condition, then writes). The local runtime serialises moto's DynamoDB writes
so that, locally too, two concurrent creates at the webhook cap cannot both succeed and two copies
of one delivery cannot both take its lease — as on AWS."""

import copy
import functools
import threading
from typing import Any

from moto.dynamodb.models import DynamoDBBackend

_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item")
_lock = threading.RLock()


def make_dynamodb_writes_atomic() -> None:
    for name in _WRITES:
        method = getattr(DynamoDBBackend, name)
        if getattr(method, "_serialised", False):
            continue

        @functools.wraps(method)
        def serialised(self: Any, *args: Any, __method: Any = method, **kwargs: Any) -> Any:
            with _lock:
                # A copy taken under the lock: moto renders ReturnValues (UPDATED_NEW, ALL_NEW) from
                # the item it returns *after* this call, which another thread may have changed by
                # then; DynamoDB answers with the values of this very write.
                return copy.deepcopy(__method(self, *args, **kwargs))

        serialised._serialised = True  # type: ignore[attr-defined]
        setattr(DynamoDBBackend, name, serialised)
