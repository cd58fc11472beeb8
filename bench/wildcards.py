"""The fan-out's subscription lookup with wildcard webhooks: 1,000 webhooks of ten developers (the
cap is 100 each), a tenth of them wildcards (`workflow.*`, `tool.*`, `*`), all held by half the
developers; the other half have none. For one event of every catalogue type of every developer:
the Queries and the items they read (the sparse index's exact partition, the markers, the pattern
partitions), against the items the developer's partition holds (what a scan of it would read).

    .venv/bin/python -m bench.wildcards
"""

import json
import math
from collections.abc import Iterator
from typing import Any

from bench.common import in_process_stack
from events_core.delivery.fanout import SubscriptionCache
from events_core.event_types import EVENT_TYPES
from events_core.webhooks import service
from events_core.webhooks.repository import WebhookRepository

LOCAL = {"AllowHttpUrls": "true", "AllowedPrivateNetworks": "127.0.0.0/8", "FanoutCacheSeconds": "0"}
DEVELOPERS = 10
PER_DEVELOPER = 100
WILDCARDS_PER_HOLDER = 20  # half the developers hold them: 100 of the 1,000 webhooks
PATTERNS = ("workflow.*", "tool.*", "*")
QUERY_UNIT_BYTES = 4096  # an eventually consistent Query: 0.5 RRU per 4 KB read


def _developer(n: int) -> str:
    return f"dev_{n:02d}"


def _register() -> int:
    wildcards = 0
    for d in range(DEVELOPERS):
        holder = d < DEVELOPERS // 2
        for n in range(PER_DEVELOPER):
            wild = holder and n < WILDCARDS_PER_HOLDER
            event = PATTERNS[n % len(PATTERNS)] if wild else EVENT_TYPES[n % len(EVENT_TYPES)]
            service.register(_developer(d), {"event": event, "url": f"http://127.0.0.1:9999/{d}/{n}"})
            wildcards += wild
    return wildcards


def measure() -> dict[str, Any]:
    with in_process_stack(LOCAL):
        wildcards = _register()
        read = {"queries": 0, "items": 0, "units": 0.0}
        query = WebhookRepository._query

        def counted(self: WebhookRepository, **kwargs: Any) -> Iterator[dict[str, Any]]:
            items = list(query(self, **kwargs))
            read["queries"] += 1
            read["items"] += len(items)
            size = sum(len(json.dumps(item, default=str)) for item in items)
            read["units"] += 0.5 * max(1, math.ceil(size / QUERY_UNIT_BYTES))
            return iter(items)

        WebhookRepository._query = counted  # type: ignore[method-assign]
        cache = SubscriptionCache(0)
        figures: dict[str, dict[str, float]] = {}
        for kind, developers in (
            ("with", range(DEVELOPERS // 2)),
            ("without", range(DEVELOPERS // 2, DEVELOPERS)),
        ):
            read.update(queries=0, items=0, units=0.0)
            found = 0
            for d in developers:
                for event_type in EVENT_TYPES:
                    found += len(cache.active(_developer(d), event_type))
            events = len(developers) * len(EVENT_TYPES)
            figures[kind] = {
                "queries_per_event": read["queries"] / events,
                "items_per_event": read["items"] / events,
                "rru_per_event": read["units"] / events,
                "subscribers_per_event": found / events,
            }
    return {"webhooks": DEVELOPERS * PER_DEVELOPER, "wildcards": wildcards, "per_developer": PER_DEVELOPER, **figures}


def rows(r: dict[str, Any]) -> list[tuple[str, str]]:
    with_, without = r["with"], r["without"]
    return [
        (
            "fan-out lookup: items read per event, wildcards",
            f"{with_['items_per_event']:.1f} items in {with_['queries_per_event']:.1f} Queries "
            f"({with_['subscribers_per_event']:.1f} subscribers + markers; {r['webhooks']:,} webhooks, "
            f"{r['wildcards']} wildcards, a developer's partition holds {r['per_developer']})",
        ),
        (
            "fan-out lookup: items read per event, no wildcards",
            f"{without['items_per_event']:.1f} items in {without['queries_per_event']:.1f} Query "
            f"({without['subscribers_per_event']:.1f} subscribers: nothing read for patterns)",
        ),
        (
            "fan-out lookup: cost of wildcards",
            f"default path +${_usd(without['rru_per_event'] - 0.5):.4f} per million deliveries; "
            f"a developer with wildcards +${_usd(with_['rru_per_event'] - 0.5):.3f} per million events",
        ),
    ]


def _usd(rru_per_event: float) -> float:
    from bench.cost_model import MILLION, PRICES

    return max(0.0, rru_per_event) * MILLION * PRICES["dynamodb_rru"]


def _row(name: str, figures: dict[str, float]) -> str:
    return (
        f"| {name} | {figures['queries_per_event']:.2f} | {figures['items_per_event']:.1f} | "
        f"{figures['rru_per_event']:.2f} | {_usd(figures['rru_per_event'] - 0.5):.4f} |"
    )


def cost_section(r: dict[str, Any]) -> str:
    """docs/cost.md's section for wildcard webhooks."""
    with_, without = r["with"], r["without"]
    return f"""
## Wildcard webhooks (`"workflow.*"`, `"*"`)

The fan-out reads one Query of the sparse index per (developer, event type) as before. A pattern
in use puts a marker in the index partition of each type it takes (`events_core/webhooks/wildcards.py`),
so only a developer with wildcard webhooks pays more: one eventually consistent Query per pattern
an event's type has markers for (its family, `*`), cached with the subscription (`FanoutCacheSeconds`;
no cache hits counted below). Measured by `bench/wildcards.py`: {r["webhooks"]:,} webhooks of
{r["webhooks"] // r["per_developer"]} developers, {r["wildcards"]} of them wildcards, held by half the developers;
one event of every type of every developer:

| developers | Queries per event | items read per event | RRU per event | USD per million events, over one Query |
|---|---:|---:|---:|---:|
{_row("without wildcards (the default path)", without)}
{_row("with wildcards (opt-in)", with_)}

Items read per event are the event's subscribers and at most two markers, whatever the number of
webhooks (a developer's partition holds {r["per_developer"]}). The default path's budget for this was
$0.015 per million deliveries; it spends $0. Creating or deleting a webhook of a pattern writes
its markers (one WRU per type the pattern takes) in the same transaction, and removes them with
the last one.
"""


if __name__ == "__main__":
    measured = measure()
    print(json.dumps({"rows": rows(measured), "results": measured}))
