"""Log a developer's call to a platform service that is not behind API Gateway, in the Events API's
API-call log format, batched into a CloudWatch Logs group the Events API's ingest is subscribed to.

Standalone on purpose: it needs boto3 and nothing of the Events API's code."""

import atexit
import contextlib
import json
import threading
import time
import uuid
from typing import Any

MAX_BATCH_LINES = 1000
MAX_BATCH_BYTES = 900_000  # PutLogEvents takes 1 MB, counting 26 bytes per event
MAX_QUEUED = 10_000

__all__ = ["ApiCallLogger", "access_log_line"]


def access_log_line(
    *, developer_id: str, method: str, endpoint: str, status: int, response_time_ms: int, at_ms: int, request_id: str
) -> str:
    """The line an API Gateway stage writes in the documented format (the Events API's docs/api.md,
    "API-call logs"): the ingest reads both the same way."""
    return json.dumps(
        {
            "requestId": request_id,
            "developerId": developer_id,
            "method": method.upper(),
            "path": endpoint.split("?", 1)[0],
            "stage": "$default",
            "status": str(int(status)),
            "requestTimeEpoch": str(int(at_ms)),
            "latencyMs": str(max(0, int(response_time_ms))),
        },
        separators=(",", ":"),
    )


class ApiCallLogger:
    def __init__(self, log_group: str, *, service: str = "service", client: Any = None, flush_at_exit: bool = True):
        self.log_group = log_group
        self.stream = f"{service}/{uuid.uuid4()}"
        self._client = client
        self._lines: list[tuple[int, str]] = []
        self._bytes = 0
        self._lock = threading.Lock()
        self._stream_made = False
        self.sent = 0
        self.dropped = 0
        if flush_at_exit:
            atexit.register(self._flush_quietly)

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("logs")
        return self._client

    def log(
        self,
        *,
        developer_id: str,
        method: str,
        endpoint: str,
        status: int,
        response_time_ms: int,
        at_ms: int | None = None,
        request_id: str | None = None,
    ) -> None:
        at_ms = int(time.time() * 1000) if at_ms is None else at_ms
        line = access_log_line(
            developer_id=developer_id,
            method=method,
            endpoint=endpoint,
            status=status,
            response_time_ms=response_time_ms,
            at_ms=at_ms,
            request_id=request_id or str(uuid.uuid4()),
        )
        with self._lock:
            self._lines.append((at_ms, line))
            self._bytes += len(line.encode()) + 26
            while len(self._lines) > MAX_QUEUED:
                _, dropped = self._lines.pop(0)
                self._bytes -= len(dropped.encode()) + 26
                self.dropped += 1
            full = len(self._lines) >= MAX_BATCH_LINES or self._bytes >= MAX_BATCH_BYTES
        if full:
            self._flush_quietly()

    def flush(self) -> int:
        """Send what is queued, a batch per PutLogEvents call; raises what the call raised (the
        lines stay queued)."""
        sent = 0
        while True:
            with self._lock:
                batch, size = [], 0
                for at_ms, line in self._lines:
                    cost = len(line.encode()) + 26
                    if batch and (len(batch) >= MAX_BATCH_LINES or size + cost > MAX_BATCH_BYTES):
                        break
                    batch.append((at_ms, line))
                    size += cost
            if not batch:
                return sent
            self._ensure_stream()
            events = sorted(({"timestamp": at, "message": line} for at, line in batch), key=lambda e: e["timestamp"])
            self.client.put_log_events(logGroupName=self.log_group, logStreamName=self.stream, logEvents=events)
            with self._lock:
                del self._lines[: len(batch)]
                self._bytes -= size
            sent += len(batch)
            self.sent += len(batch)

    def _ensure_stream(self) -> None:
        if self._stream_made:
            return
        with contextlib.suppress(self.client.exceptions.ResourceAlreadyExistsException):
            self.client.create_log_stream(logGroupName=self.log_group, logStreamName=self.stream)
        self._stream_made = True

    def _flush_quietly(self) -> None:
        # A log line must never cost the service its call: what was not sent waits for the next flush.
        with contextlib.suppress(Exception):
            self.flush()
