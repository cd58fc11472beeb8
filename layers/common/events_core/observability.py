"""The one Powertools stack every entry point wears: Logger (correlation id), Tracer, Metrics."""

import warnings
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer

# Most invocations publish no business metric; Powertools warns on each, which is only noise here.
warnings.filterwarnings("ignore", message="No application metrics to publish")

logger = Logger()
tracer = Tracer()
metrics = Metrics()

Handler = Callable[[dict, Any], Any]


def entry_point(correlation_id_path: str | None = None) -> Callable[[Handler], Handler]:
    """Decorate a Lambda handler with the shared stack, outermost first: logger, tracer, metrics."""

    def decorate(handler: Handler) -> Handler:
        wrapped = metrics.log_metrics(capture_cold_start_metric=True)(handler)
        wrapped = tracer.capture_lambda_handler(wrapped)
        return logger.inject_lambda_context(correlation_id_path=correlation_id_path, clear_state=True)(wrapped)

    return decorate
