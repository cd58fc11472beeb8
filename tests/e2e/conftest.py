"""The end-to-end tier: `eventsapi run` (what `make run` starts) in a subprocess on free ports."""

import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EVENTSAPI = str(Path(sys.executable).with_name("eventsapi"))
LOCAL_KEY = "claw_e2e_local_key_00000000000000000000000000000"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class RunningStack:
    process: subprocess.Popen
    api_url: str
    endpoint: str
    key: str
    output: list[str] = field(default_factory=list)

    def eventsapi_command(self) -> list[str]:
        return [EVENTSAPI, "--endpoint-url", self.endpoint, "--api-url", self.api_url]

    def eventsapi(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*self.eventsapi_command(), *args],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
            check=False,
        )


def start_stack(*params: str, key: str = LOCAL_KEY) -> RunningStack:
    api_port, moto_port = free_port(), free_port()
    env = {**os.environ, "LOCAL_API_KEY": key, "PYTHONUNBUFFERED": "1"}
    env.pop("AWS_ENDPOINT_URL", None)
    command = [EVENTSAPI, "run", "--port", str(api_port), "--moto-port", str(moto_port)]
    for param in params:
        command += ["--param", param]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str] = queue.Queue()
    stack = RunningStack(process, f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{moto_port}", key)

    def pump() -> None:
        for line in process.stdout:  # type: ignore[union-attr]
            stack.output.append(line)
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if lines.get(timeout=1).strip() == key:
                return stack
        except queue.Empty:
            if process.poll() is not None:
                break
    process.kill()
    raise RuntimeError("the local stack did not start:\n" + "".join(stack.output))


def stop_stack(stack: RunningStack) -> None:
    stack.process.terminate()
    try:
        stack.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        stack.process.kill()


@pytest.fixture(scope="session")
def running_stack() -> Iterator[RunningStack]:
    stack = start_stack()
    yield stack
    stop_stack(stack)


def eventsapi_tool(*args: str, timeout: int) -> subprocess.CompletedProcess:
    """An `eventsapi` command that starts a stack of its own (fuzz, soak), from the repository root."""
    return subprocess.run([EVENTSAPI, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT, check=False)
