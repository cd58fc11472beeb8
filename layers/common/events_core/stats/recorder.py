"""The delivery batch's step that writes its health figures: one update per (webhook, minute)."""

from collections.abc import Iterable, Mapping
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from events_core.config import Settings
from events_core.observability import logger, metrics
from events_core.stats.store import StatsStore
from events_core.stats.tally import MINUTE_MS, tally


class HealthRecorder:
    def __init__(self, config: Settings, store: StatsStore | None = None):
        self.settings = config
        self.store = store or StatsStore()

    def record(self, attempted: Iterable[Any], verdicts: Mapping[str, Any], due: Iterable[tuple[Any, Any]]) -> None:
        """Add the batch's figures. Bookkeeping after the posts: a failure is logged and counted,
        never undoes what the posts did."""
        for key, figures in tally(attempted, verdicts, due).items():
            try:
                self.store.add(key, figures, self.settings.expires_at(key[2] * MINUTE_MS))
            except Exception:  # noqa: BLE001 - the figures of this minute are short; deliveries are not
                logger.exception("health figures not written", extra={"webhook_id": key[1]})
                metrics.add_metric(name="BookkeepingFailed", unit=MetricUnit.Count, value=1)
