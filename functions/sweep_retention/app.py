"""Scheduled (daily): apply each developer's chosen retention to what is already kept
(events_core.lifecycle.sweep). Answers what it did; the next run goes on where one stopped."""

from dataclasses import asdict
from typing import Any

from events_core.lifecycle import sweep
from events_core.observability import entry_point, logger


@entry_point()
def lambda_handler(event: dict, context: Any) -> dict:
    done = sweep.sweep(seconds_left=sweep.remaining(context))
    logger.info("retention swept", extra=asdict(done))
    return asdict(done)
