"""The delivery batch's step that keeps its webhooks' health figures.

Figures are added up in the execution environment across batches and written as one ADD update per
(webhook, minute): when that minute has ended, when they were kept `StatsFlushSeconds` (60), or at
once when a batch is short of full (the queue is draining: this environment may go idle and be
retired with nothing written). Under load an environment handles about 2,000 posts a minute, so a
busy webhook costs one write a minute per environment instead of one per batch (docs/cost.md).
What an environment retired right after a full batch still kept is lost: at most its last minute's
figures, never a delivery. `StatsFlushSeconds: 0` writes every batch (exact).
"""

import time
from collections.abc import Iterable, Mapping
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from events_core.clock import now_ms
from events_core.config import Settings
from events_core.observability import logger, metrics
from events_core.stats.store import StatsStore
from events_core.stats.tally import MINUTE_MS, Figures, Key, minute_of, tally

FULL_BATCH = 10  # the DeliverFunction event source's BatchSize (template.yaml; a unit test compares)


class HealthRecorder:
    def __init__(self, config: Settings, store: StatsStore | None = None, clock: Any = time.monotonic):
        self.settings = config
        self.store = store or StatsStore()
        self.clock = clock
        self.kept: dict[Key, Figures] = {}
        self.since: dict[Key, float] = {}  # when each was first kept (monotonic seconds)

    def record(
        self,
        attempted: Iterable[Any],
        verdicts: Mapping[str, Any],
        due: Iterable[tuple[Any, Any]],
        *,
        batch_size: int = FULL_BATCH,
    ) -> None:
        """Add the batch's figures; write those due. Bookkeeping after the posts: a failed write is
        logged and counted, and its figures are kept for the next batch."""
        now = self.clock()
        for key, figures in tally(attempted, verdicts, due).items():
            if key in self.kept:
                self.kept[key].add(figures)
            else:
                self.kept[key], self.since[key] = figures, now
        everything = batch_size < FULL_BATCH or self.settings.stats_flush_seconds <= 0
        current = minute_of(now_ms())
        due_keys = [
            key
            for key in self.kept
            if everything or key[2] < current or now - self.since[key] >= self.settings.stats_flush_seconds
        ]
        self._write(due_keys)

    def flush(self) -> None:
        """Write everything kept."""
        self._write(list(self.kept))

    def _write(self, keys: list[Key]) -> None:
        for key in keys:
            try:
                self.store.add(key, self.kept[key], self.settings.expires_at(key[2] * MINUTE_MS))
            except Exception:  # noqa: BLE001 - kept for the next batch; deliveries are not affected
                logger.exception("health figures not written", extra={"webhook_id": key[1]})
                metrics.add_metric(name="BookkeepingFailed", unit=MetricUnit.Count, value=1)
                continue
            del self.kept[key], self.since[key]
