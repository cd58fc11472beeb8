"""Schema fuzzing: schemathesis against the local stack, once per kind of API key (none, unknown,
read-only, read-write). Every answer must be documented by openapi.yaml and none may be a 5xx."""

import re
import subprocess
from dataclasses import dataclass

from events_core.api_keys import ApiKeyStore
from eventsapi.local.runtime import LocalRuntime
from eventsapi.local.wiring import ROOT

OPENAPI = ROOT / "openapi.yaml"
SCHEMATHESIS = str(ROOT / ".venv" / "bin" / "schemathesis")
# API Gateway answers an undeclared method with the template's 404 Gateway Response, not 405.
EXCLUDED_CHECKS = "unsupported_method"


@dataclass
class FuzzRun:
    key_kind: str
    exit_code: int
    cases: int
    failures: int
    server_errors: int
    output: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and self.failures == 0 and self.server_errors == 0


def _count(pattern: str, text: str) -> int:
    found = re.search(pattern, text)
    return int(found.group(1)) if found else 0


def fuzz(stack: LocalRuntime, *, examples: int, seed: int | None, timeout: int = 900) -> list[FuzzRun]:
    store = ApiKeyStore()
    keys = {
        "none": None,
        "unknown": "claw_unknown_key_000000000000000000000000000000",
        "read-only": store.create("fuzz_reader", ("read",)).key,
        "read-write": store.create("fuzz_writer", ("read", "write")).key,
    }
    runs = []
    for kind, key in keys.items():
        command = [
            SCHEMATHESIS,
            "run",
            str(OPENAPI),
            "--url",
            stack.api_url,
            "--checks",
            "all",
            "--exclude-checks",
            EXCLUDED_CHECKS,
            "--max-examples",
            str(examples),
            "--no-color",
        ]
        if seed is not None:
            command += ["--seed", str(seed)]
        if key:
            command += ["-H", f"X-API-Key: {key}"]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)  # noqa: S603
        output = done.stdout + done.stderr
        runs.append(
            FuzzRun(
                key_kind=kind,
                exit_code=done.returncode,
                cases=_count(r"(\d+) generated", output),
                failures=_count(r"(\d+) unique failures?", output),
                server_errors=_count(r"ST101 Server error: (\d+)", output),
                output=output,
            )
        )
    return runs


def report(runs: list[FuzzRun]) -> str:
    lines = [
        "schemathesis against the local stack (openapi.yaml, all checks but unsupported_method)",
        f"{'API key':<12} {'test cases':>10} {'failures':>9} {'5xx':>5}  result",
    ]
    for run in runs:
        lines.append(
            f"{run.key_kind:<12} {run.cases:>10} {run.failures:>9} {run.server_errors:>5}  "
            f"{'ok' if run.ok else 'FAILED'}"
        )
    total_cases = sum(run.cases for run in runs)
    total_failures = sum(run.failures for run in runs)
    total_errors = sum(run.server_errors for run in runs)
    lines.append(f"{'total':<12} {total_cases:>10} {total_failures:>9} {total_errors:>5}")
    return "\n".join(lines)


def run_fuzz(examples: int, seed: int | None) -> list[FuzzRun]:
    """A fresh local stack on free ports, fuzzed once per kind of key."""
    stack = LocalRuntime(api_port=0, moto_port=0).start()
    try:
        return fuzz(stack, examples=examples, seed=seed)
    finally:
        stack.stop()
