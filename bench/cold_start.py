"""Cold start: import time of each function's handler module (through its CodeUri and Handler, as
Lambda loads it) against a bare `import boto3`, in a fresh interpreter each. Every function imports
boto3, so each probe times `import boto3` first and then the rest of the module, in the same
process: the module's figure is the sum, its ratio (sum / boto3) is measured side by side, and a
busy moment of this shared machine hits both alike. The layer's code is compiled to bytecode first,
as the layer build does (a layer is read-only: nothing compiles it later). Medians of the rounds.

    .venv/bin/python -m bench.cold_start [ROUNDS]    # 9 by default; a fresh interpreter per function a round
"""

import json
import statistics
import subprocess
import sys

from eventsapi.local.template import Template
from eventsapi.local.wiring import REGION, ROOT, STACK_NAME, TEMPLATE

TARGET = 1.3
PROBE = """
import importlib.util, sys, time
started = time.perf_counter()
import boto3
baseline = time.perf_counter() - started
spec = importlib.util.spec_from_file_location("handler", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(baseline, time.perf_counter() - started)
"""


def _probe(path: str) -> tuple[float, float]:
    """(import boto3, the whole module) in one fresh interpreter."""
    done = subprocess.run([sys.executable, "-c", PROBE, path], capture_output=True, text=True, check=True)
    baseline, total = done.stdout.strip().splitlines()[-1].split()
    return float(baseline), float(total)


def compile_bytecode() -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "compileall",
            "-q",
            str(ROOT / "layers" / "common" / "events_core"),
            str(ROOT / "functions"),
        ],
        check=True,
        capture_output=True,
    )


def measure(rounds: int = 9) -> dict[str, dict[str, float]]:
    compile_bytecode()
    template = Template(TEMPLATE, stack_name=STACK_NAME, region=REGION)
    modules = {name: str(template.function(name).module_path) for name in template.function_logical_ids()}
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in modules}
    for _ in range(rounds):
        for name, path in modules.items():
            samples[name].append(_probe(path))
    return {
        name: {
            "boto3": statistics.median(b for b, _ in values),
            "module": statistics.median(t for _, t in values),
            "ratio": statistics.median(t / b for b, t in values),
        }
        for name, values in samples.items()
    }


def rows(results: dict[str, dict[str, float]]) -> list[tuple[str, str]]:
    baseline = statistics.median(figures["boto3"] for figures in results.values())
    table = [("cold start: bare import boto3 (median)", f"{baseline * 1000:.0f} ms")]
    for name, figures in results.items():
        verdict = "ok" if figures["ratio"] <= TARGET else "OVER"
        table.append(
            (
                f"cold start: {name} module",
                f"{figures['module'] * 1000:.0f} ms  ({figures['ratio']:.2f}x boto3; target ≤ {TARGET}x: {verdict})",
            )
        )
    return table


if __name__ == "__main__":
    measured = measure(int(sys.argv[1]) if len(sys.argv) > 1 else 9)
    print(json.dumps({"rows": rows(measured), "results": measured}))
