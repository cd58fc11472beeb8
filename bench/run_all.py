"""Every benchmark, each in a fresh interpreter, one table; then docs/cost.md and docs/scale.md
from the figures.

make bench                                   # full sizes
.venv/bin/python -m bench.run_all --quick    # the bounded run CI makes
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

from bench import api_call_logs_model, cost_model, erasure, lifecycle, scale_model, schema_validation, stats, wildcards
from eventsapi.harness.progress import progress

ROOT = Path(__file__).resolve().parents[1]


def run(module: str, *args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", f"bench.{module}", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench.{module} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="bounded sizes (CI)")
    parser.add_argument("--cost-out", type=Path, default=ROOT / "docs" / "cost.md", help="where the cost model goes")
    parser.add_argument("--scale-out", type=Path, default=ROOT / "docs" / "scale.md", help="where the scale model goes")
    parser.add_argument("--results-out", type=Path, help="also keep every benchmark's figures here (JSON)")
    parser.add_argument(
        "--from-results", type=Path, help="run nothing: rebuild the table and the models from figures kept earlier"
    )
    args = parser.parse_args()
    plan = [
        # Quick sizes keep every figure (and every row the proof reads); fewer rounds, so wider medians.
        ("delivery_batch", ("3",) if args.quick else ()),
        ("fanout_bounds", ()),
        ("cold_start", ("3",) if args.quick else ()),
        ("hostile_bodies", ()),
        ("scaling", ("10000",) if args.quick else ("100000",)),
        ("local_e2e", ("60", "5") if args.quick else ("200", "30")),
        ("throttle", ("40", "5") if args.quick else ("100", "5")),
        ("ordered", ("60", "6") if args.quick else ("200", "10")),
        ("listen", ("20",) if args.quick else ("100",)),
        ("api_call_logs", ("10000", "100000")),
        ("schema_validation", ()),
        ("lifecycle", ("500",) if args.quick else ("10000",)),
        ("wildcards", ()),
        ("stats", ()),
        ("erasure", ("2000",) if args.quick else ("100000",)),
    ]
    results: dict[str, dict] = {}
    rows: list[tuple[str, str]] = []
    if args.from_results:
        kept = json.loads(args.from_results.read_text())
        results, rows = kept["results"], [tuple(row) for row in kept["rows"]]
        plan = []
    for step, (module, module_args) in enumerate(plan, start=1):
        progress(f"bench {step}/{len(plan)}: {module} {' '.join(module_args)}".rstrip())
        answer = run(module, *module_args)
        results[module] = answer["results"]
        rows.extend(answer["rows"])
    if args.results_out:
        args.results_out.write_text(json.dumps({"results": results, "rows": rows}, indent=1))
    rows.append(schema_validation.share_row(results["schema_validation"], results["delivery_batch"]["fanout_batch"]))
    progress("bench: cost and scale models")
    measured = cost_model.measured_from(results)
    scale = scale_model.inputs_from(results)
    rows.extend(cost_model.rows(measured))
    rows.extend(scale_model.rows(scale))
    rows.extend(api_call_logs_model.rows(results["api_call_logs"]))
    width = max(len(name) for name, _ in rows)
    print(f"\nEvents API benchmarks{' (quick)' if args.quick else ''}: medians unless marked; one run, side by side")
    print("-" * (width + 34))
    for name, value in rows:
        print(f"{name.ljust(width)}  {value}")
    args.cost_out.write_text(
        cost_model.render(measured)
        + api_call_logs_model.cost_section(results["api_call_logs"])
        + (lifecycle.cost_section(results["lifecycle"]) if "lifecycle" in results else "")
        + (wildcards.cost_section(results["wildcards"]) if "wildcards" in results else "")
        + (stats.cost_section(results["stats"]) if "stats" in results else "")
        + (erasure.cost_section(results["erasure"]) if "erasure" in results else "")
    )
    args.scale_out.write_text(scale_model.render(scale) + api_call_logs_model.scale_section(results["api_call_logs"]))
    print(f"\ncost model written to {args.cost_out}, scale model to {args.scale_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
