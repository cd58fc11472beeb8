"""The fan-out's schema check (SchemaEnforcement warn / reject): what validating one event's data
costs once its type's schema is compiled, what the first event of a type pays to compile it, and
the import that compiling brings (kept out of cold starts). Medians over every type's example.

    .venv/bin/python -m bench.schema_validation
"""

import json
import statistics
import sys
import time
from typing import Any

ROUNDS = 2000


def measure() -> dict[str, Any]:
    started = time.perf_counter()
    import fastjsonschema  # noqa: F401 - what the first compile imports

    import_seconds = time.perf_counter() - started
    from events_core.catalogue import declarations
    from events_core.catalogue.validation import validate

    compile_seconds, per_event, invalid = [], [], []
    for declared in declarations():
        example = declared.example
        started = time.perf_counter()
        assert validate(declared.name, example) == []  # the first call compiles
        compile_seconds.append(time.perf_counter() - started)
        started = time.perf_counter()
        for _ in range(ROUNDS):
            validate(declared.name, example)
        per_event.append((time.perf_counter() - started) / ROUNDS)
        broken = {key: value for key, value in example.items() if key != next(iter(example))}
        started = time.perf_counter()
        for _ in range(ROUNDS // 10):
            validate(declared.name, broken)
        invalid.append((time.perf_counter() - started) / (ROUNDS // 10))
    return {
        "import": import_seconds,
        "compile": statistics.median(compile_seconds),
        "valid": statistics.median(per_event),
        "invalid": statistics.median(invalid),
        "types": len(per_event),
    }


def rows(results: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        ("schema check: per event, valid data (median of types)", f"{results['valid'] * 1e6:.1f} µs"),
        ("schema check: per event, invalid data (all faults named)", f"{results['invalid'] * 1e6:.1f} µs"),
        (
            "schema check: first event of a type (compile) / import",
            f"{results['compile'] * 1000:.1f} ms / {results['import'] * 1000:.1f} ms, once per environment",
        ),
    ]


def share_row(results: dict[str, Any], fanout_batch_seconds: float, batch: int = 10) -> tuple[str, str]:
    """Validation's share of a measured fan-out of `batch` events."""
    share = results["valid"] * batch / fanout_batch_seconds
    return ("schema check: share of a fan-out batch of 10 events", f"{share:.2%}")


if __name__ == "__main__":
    measured = measure()
    print(json.dumps({"rows": rows(measured), "results": measured}))
    sys.exit(0)
