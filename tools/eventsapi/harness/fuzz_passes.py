"""The schemathesis half of `eventsapi fuzz`: one pass per (kind of API key, schemathesis phase), run
a few at a time, each in its own process with its own time limit.

Why passes and not one run per key: a run goes through its phases one after another (examples,
coverage, fuzzing, stateful), so the read-write key's run was the sum of four phases of which most
is waiting (a listen long poll, a test send's name lookup) and one core sat idle. Separate passes
overlap that waiting, the longest start first, each says how long it took, and one that passes its
limit is reported as such (which phase, after how long) while the others still report.
"""

import itertools
import re
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from eventsapi.harness.progress import progress

PHASES = ("examples", "coverage", "fuzzing", "stateful")
# Passes running at once: this machine has 2 cores, the stack takes about one (its threads share one
# interpreter, moto runs beside it) and a pass is mostly waiting on answers, so three keep both busy.
PARALLEL_PASSES = 3
# Each pass's own limit. The longest (read-write fuzzing, 100 examples an operation) takes about a
# third of it on a loaded 2-core machine.
PASS_LIMIT_SECONDS = 600
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
    phase: str = ""  # the schemathesis phase; empty for the hostile shapes
    seconds: float = 0.0
    timed_out: bool = False
    slowest: tuple[float, str] = (0.0, "")  # (seconds, what was sent): the hostile phase's slowest answer

    @property
    def ok(self) -> bool:
        return not self.timed_out and self.exit_code == 0 and self.failures == 0 and self.server_errors == 0

    @property
    def label(self) -> str:
        return f"{self.key_kind} {self.phase}".strip()


@dataclass(frozen=True)
class Pass:
    kind: str
    key: str | None
    phase: str
    command: list[str]


def _count(pattern: str, text: str) -> int:
    found = re.search(pattern, text)
    return int(found.group(1)) if found else 0


def plan(
    schemathesis: str, openapi: str, url: str, keys: dict[str, str | None], examples: int, seed: int | None
) -> list[Pass]:
    """Every (key, phase) pass, the slowest first (the read-write key's fuzzing and stateful phases
    grow with `examples`), so the long ones never start last; the other keys' fuzzing passes (cheap
    to answer, a 401 or 403, but costly to generate) run beside them, before the read-write
    coverage pass, so the stack and the generators each keep a core busy. One worker a pass: the
    stack answers on one core, and more requests at once only wait longer each (an answer past
    schemathesis' 10 s limit is a failure)."""
    passes = []
    for kind, key in keys.items():
        for phase in PHASES:
            command = [
                schemathesis,
                "run",
                openapi,
                "--url",
                url,
                "--phases",
                phase,
                "--checks",
                "all",
                "--exclude-checks",
                EXCLUDED_CHECKS,
                "--max-examples",
                str(examples),
                "--no-color",
                # A listen session's long poll may wait 20 s (`?wait=`) before it answers 204.
                "--request-timeout",
                "30",
            ]
            if seed is not None:
                command += ["--seed", str(seed)]
            if key:
                command += ["-H", f"X-API-Key: {key}"]
            passes.append(Pass(kind, key, phase, command))
    return sorted(passes, key=_priority)


def _priority(step: Pass) -> int:
    writer = step.kind == "read-write"
    order = [(True, "fuzzing"), (True, "stateful"), (False, "fuzzing"), (True, "coverage"), (True, "examples")]
    return order.index((writer, step.phase)) if (writer, step.phase) in order else len(order)


def run_passes(passes: list[Pass], env: dict[str, str], limit: float = PASS_LIMIT_SECONDS) -> list[FuzzRun]:
    """All passes, PARALLEL_PASSES at a time; each one's line as it ends."""
    finished = itertools.count(1)

    def one(step: Pass) -> FuzzRun:
        run = _run(step, env, limit)
        verdict = "ok" if run.ok else ("EXCEEDED ITS LIMIT" if run.timed_out else "FAILED")
        progress(
            f"fuzz {next(finished)}/{len(passes)}: schemathesis {run.label}: {run.cases} cases in {run.seconds:.1f} s, "
            f"{verdict}"
        )
        return run

    progress(f"fuzz: schemathesis, {len(passes)} passes (key × phase), {PARALLEL_PASSES} at a time")
    with ThreadPoolExecutor(max_workers=PARALLEL_PASSES) as pool:
        runs = list(pool.map(one, passes))
    kinds = list(dict.fromkeys(p.kind for p in passes))
    return sorted(runs, key=lambda r: (kinds.index(r.key_kind), PHASES.index(r.phase)))


def _run(step: Pass, env: dict[str, str], limit: float) -> FuzzRun:
    started = time.monotonic()
    try:
        done = subprocess.run(  # noqa: S603
            step.command, capture_output=True, text=True, timeout=limit, check=False, env=env
        )
    except subprocess.TimeoutExpired as expired:  # killed at its limit: reported, the others go on
        seconds = time.monotonic() - started
        partial = _text(expired.stdout) + _text(expired.stderr)
        return FuzzRun(
            key_kind=step.kind,
            phase=step.phase,
            exit_code=-1,
            cases=0,
            failures=0,
            server_errors=0,
            output=f"schemathesis {step.kind} {step.phase}: stopped at its limit of {limit:.0f} s "
            f"(after {seconds:.1f} s)\n{partial[-5000:]}",
            seconds=seconds,
            timed_out=True,
        )
    output = done.stdout + done.stderr
    return FuzzRun(
        key_kind=step.kind,
        phase=step.phase,
        exit_code=done.returncode,
        cases=_count(r"(\d+) generated", output),
        failures=_count(r"(\d+) unique failures?", output),
        server_errors=_count(r"ST101 Server error: (\d+)", output),
        output=output,
        seconds=time.monotonic() - started,
    )


def _text(value: str | bytes | None) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else value.decode(errors="replace")
