"""The one observability stack every entry point wears: Powertools' Logger (correlation id) and
Metrics (cold-start metric), and our own spans (events_core.tracing, the OpenTelemetry API),
flushed at the end of each invocation when the stack exports them.

No X-Ray SDK (end of support 25 February 2027) and no Powertools Tracer, which wraps it. Lambda's
and API Gateway's active tracing stay: they need no SDK in the function.
"""

import functools
import os
import warnings
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from events_core import tracing

# Most invocations publish no business metric; Powertools warns on each, which is only noise here.
warnings.filterwarnings("ignore", message="No application metrics to publish")

# Said by the log group or by the request id already; CloudWatch Logs bills every byte, and the
# delivery function writes a line per post.
_REDUNDANT_KEYS = ("function_arn", "function_memory_size", "location")


class LeanFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON lines without the keys the log group already says, and the X-Ray trace id
    only on the invocations X-Ray records (on the others it leads nowhere)."""

    def serialize(self, log: dict[str, Any]) -> str:  # type: ignore[override]
        for key in _REDUNDANT_KEYS:
            log.pop(key, None)
        if "xray_trace_id" in log and not sampled():
            del log["xray_trace_id"]
        return super().serialize(log)


logger = Logger(logger_formatter=LeanFormatter())
metrics = Metrics()

Handler = Callable[[dict, Any], Any]


def sampled() -> bool:
    """Whether X-Ray records this invocation (the runtime sets the trace header for each one)."""
    if os.environ.get("POWERTOOLS_TRACE_DISABLED", "").lower() in ("1", "true"):
        return False
    return "Sampled=1" in os.environ.get("_X_AMZN_TRACE_ID", "")


def entry_point(correlation_id_path: str | None = None) -> Callable[[Handler], Handler]:
    """Decorate a Lambda handler with the shared stack, outermost first: logger, span export, metrics."""

    def decorate(handler: Handler) -> Handler:
        flushed = metrics.log_metrics(capture_cold_start_metric=True)(handler)
        # Powertools prints the cold-start metric even when metrics are disabled: locally (make run)
        # that is an EMF line per function on the console, so disabled means no cold-start metric.
        quiet = metrics.log_metrics()(handler)

        def measured(event: dict, context: Any) -> Any:
            try:
                return (quiet if is_metrics_disabled() else flushed)(event, context)
            finally:
                if is_metrics_disabled():
                    # Disabled (local runs), Powertools neither prints nor clears them: they would pile up.
                    metrics.clear_metrics()

        @functools.wraps(handler)
        def exported(event: dict, context: Any) -> Any:
            try:
                return measured(event, context)
            finally:
                tracing.flush()  # nothing to do unless the stack exports spans

        return logger.inject_lambda_context(correlation_id_path=correlation_id_path, clear_state=True)(exported)

    return decorate
