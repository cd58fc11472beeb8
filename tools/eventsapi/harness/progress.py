"""One line to stderr per step of a long local run (bench, soak, fuzz): which part runs and how far
it got, with the time since the run started. stdout keeps the report alone."""

import sys
import time

_STARTED = time.monotonic()


def progress(message: str) -> None:
    elapsed = time.monotonic() - _STARTED
    print(f"[{int(elapsed // 60):02d}:{elapsed % 60:04.1f}] {message}", file=sys.stderr, flush=True)  # noqa: T201
