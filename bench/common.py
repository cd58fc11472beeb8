"""Shared pieces of the benchmarks: the in-process stack (the same setup the tests use) and timing."""

import statistics
import time
from collections.abc import Callable

from eventsapi.local.inprocess import in_process_stack

__all__ = ["in_process_stack", "median_seconds"]


def median_seconds(run: Callable[[], object], repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)
