"""Cold start: import time of each function's handler module (through its CodeUri and Handler, as
Lambda loads it) against a bare `import boto3`, each in a fresh interpreter. Medians."""

import json
import statistics
import subprocess
import sys

from eventsapi.local.template import Template
from eventsapi.local.wiring import REGION, STACK_NAME, TEMPLATE

PROBE = """
import importlib.util, sys, time
started = time.perf_counter()
{body}
print(time.perf_counter() - started)
"""
LOAD = """spec = importlib.util.spec_from_file_location("handler", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)"""


def _seconds(body: str, *args: str) -> float:
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(body=body), *args], capture_output=True, text=True, check=True
    )
    return float(done.stdout.strip().splitlines()[-1])


def measure(repeats: int = 5) -> dict[str, float]:
    template = Template(TEMPLATE, stack_name=STACK_NAME, region=REGION)
    results = {"import boto3": statistics.median(_seconds("import boto3") for _ in range(repeats))}
    for logical_id in template.function_logical_ids():
        path = str(template.function(logical_id).module_path)
        results[logical_id] = statistics.median(_seconds(LOAD, path) for _ in range(repeats))
    return results


def rows(results: dict[str, float]) -> list[tuple[str, str]]:
    baseline = results["import boto3"]
    table = [("cold start: bare import boto3 (median)", f"{baseline * 1000:.0f} ms")]
    for name, seconds in results.items():
        if name != "import boto3":
            table.append((f"cold start: {name} module", f"{seconds * 1000:.0f} ms  ({seconds / baseline:.2f}x boto3)"))
    return table


if __name__ == "__main__":
    measured = measure()
    print(json.dumps({"rows": rows(measured), "results": measured}))
