"""A mergeable latency histogram with fixed boundaries (milliseconds).

Bucket i holds the latencies in (BOUNDS_MS[i-1], BOUNDS_MS[i]]; bucket 0 holds [0, 1]; the last
bucket (index len(BOUNDS_MS)) holds everything above a day. The boundaries never change: counts
written under them merge by adding, minute into hour into day. Receiver latency uses the low end
(a post may take at most the delivery's total timeout); event-to-delivered latency reaches the far
end (a delivery retried for days).
"""

import math
from bisect import bisect_left
from collections.abc import Mapping, Sequence

BOUNDS_MS: tuple[int, ...] = (
    1, 2, 5, 10, 20, 50, 100, 200, 500,
    1_000, 2_000, 5_000, 10_000, 30_000, 60_000,
    300_000, 900_000, 3_600_000, 21_600_000, 86_400_000,
)  # fmt: skip
BUCKETS = len(BOUNDS_MS) + 1


def bucket_of(latency_ms: float) -> int:
    """The index of the bucket holding `latency_ms` (negative clock skew counts as 0)."""
    return bisect_left(BOUNDS_MS, max(latency_ms, 0))


def bounds_of(index: int) -> tuple[int, int | None]:
    """(lower, upper] of bucket `index`; upper None for the last, open-ended bucket."""
    lower = 0 if index == 0 else BOUNDS_MS[index - 1]
    return lower, BOUNDS_MS[index] if index < len(BOUNDS_MS) else None


def percentile(counts: Sequence[int] | Mapping[int, int], q: float) -> int | None:
    """The q-quantile (0 < q ≤ 1) of the latencies counted, interpolated linearly inside the bucket
    holding its rank, so it always lies within that bucket; None when nothing was counted."""
    found = [int(counts[i]) if i in counts else 0 for i in range(BUCKETS)] if isinstance(counts, Mapping) else counts
    total = sum(found)
    if total == 0:
        return None
    rank = max(1, math.ceil(q * total))
    seen = 0
    for index, count in enumerate(found):
        if count and seen + count >= rank:
            lower, upper = bounds_of(index)
            if upper is None:
                return lower
            return math.ceil(lower + (upper - lower) * (rank - seen) / count)
        seen += count
    return None  # unreachable: rank ≤ total
