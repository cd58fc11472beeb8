"""One W3C trace context as a value (events_core.tracing reads and makes them; the span export,
events_core.tracing_export, builds them from its spans): a module of its own, so that the export,
loaded by the tracing module, does not import it back."""

import secrets
from typing import Any

EXPORT_ENDPOINT = "TRACE_EXPORT_ENDPOINT"  # the environment variable that turns span export on
SAMPLED = "01"


class TraceContext:
    """One W3C context: a trace, the span it names (the parent of what follows), its flags and
    tracestate. Immutable. A plain slotted class, not a dataclass: it is imported by every
    function, and a cold start pays for each class a dataclass generates."""

    __slots__ = ("flags", "span_id", "state", "trace_id")
    trace_id: str  # 32 lowercase hex
    span_id: str  # 16 lowercase hex
    flags: str
    state: str | None  # tracestate, passed on unchanged

    def __init__(self, trace_id: str, span_id: str, flags: str = SAMPLED, state: str | None = None):
        for name, value in (("trace_id", trace_id), ("span_id", span_id), ("flags", flags), ("state", state)):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"TraceContext is immutable: {name}")

    def _key(self) -> tuple[str, str, str, str | None]:
        return (self.trace_id, self.span_id, self.flags, self.state)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TraceContext) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"TraceContext({self.traceparent!r}, state={self.state!r})"

    @property
    def traceparent(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-{self.flags}"

    def headers(self) -> dict[str, str]:
        """The W3C headers of a request made in this context."""
        return {"traceparent": self.traceparent, **({"tracestate": self.state} if self.state else {})}

    def child(self) -> "TraceContext":
        """A new span of the same trace (the next hop's context when nothing records spans)."""
        return TraceContext(self.trace_id, new_span_id(), self.flags, self.state)


def new_span_id() -> str:
    while True:
        span_id = secrets.token_hex(8)
        if span_id != "0" * 16:
            return span_id
