"""The local runtime never leaves an emulator process behind: not when its start fails, not when
the process that started it is killed outright; and it stops cleanly, in one line, on Ctrl-C or
when the emulator dies."""

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from eventsapi.local.runtime import LocalRuntime
from tests.e2e.conftest import EVENTSAPI, LOCAL_KEY

PARENT = """
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-m", "eventsapi.local.moto_server", "-H", "127.0.0.1", "-p", sys.argv[1]],
                         env={**os.environ, "EVENTSAPI_PARENT_PID": str(os.getpid())},
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(child.pid, flush=True)
time.sleep(120)
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie has exited: only its entry is left
        return stat.read().split(") ")[1][0] != "Z"


def gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.1)
    return False


def test_the_emulator_exits_when_its_parent_is_killed():
    # Given a process that started the emulator, when it is killed with SIGKILL (no cleanup runs)
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(free_port())], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    assert alive(child)
    parent.kill()
    parent.wait(timeout=10)
    # Then the emulator notices within a couple of seconds and exits
    assert gone_within(child, 10), "the moto server outlived the process that started it"


def test_a_start_that_fails_after_the_emulator_is_up_stops_it(monkeypatch):
    stack = LocalRuntime(api_port=0, moto_port=free_port())

    def broken(self):
        raise RuntimeError("provisioning failed")

    monkeypatch.setattr(LocalRuntime, "_start_the_rest", broken)
    with pytest.raises(RuntimeError):
        stack.start()
    assert stack._moto is not None
    assert stack._moto.poll() is not None, "the emulator was left running"


def started(*extra: str) -> tuple[subprocess.Popen, list[str]]:
    """`eventsapi run` in a session of its own (as a terminal's foreground job), up and printing."""
    command = [str(EVENTSAPI), "run", "--port", str(free_port()), "--moto-port", str(free_port()), *extra]
    env = {**os.environ, "LOCAL_API_KEY": LOCAL_KEY, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    lines: list[str] = []
    for line in process.stdout:  # type: ignore[union-attr]
        lines.append(line)
        if line.strip() == LOCAL_KEY:
            return process, lines
    raise AssertionError("the stack did not start:\n" + "".join(lines))


def children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as listed:
        return [int(child) for child in listed.read().split()]


def test_ctrl_c_stops_the_stack_with_one_line():
    # newcomer review 9: the emulator died first and every poller printed tracebacks on the way out
    process, _ = started()
    time.sleep(2)  # the pollers are polling
    os.killpg(process.pid, signal.SIGINT)  # what a terminal sends its foreground job: every process in it
    rest, _ = process.communicate(timeout=30)
    assert process.returncode == 0
    assert rest.strip().splitlines() == ["stopping the local stack (Ctrl-C)"], rest


def test_when_the_emulator_dies_the_runtime_says_so_once_and_stops():
    # newcomer review 9: the pollers printed a traceback every 0.1 s and went on
    process, _ = started()
    [emulator] = children(process.pid)
    os.kill(emulator, signal.SIGKILL)
    rest, _ = process.communicate(timeout=30)
    assert process.returncode == 1
    assert "Traceback" not in rest
    said = [line for line in rest.splitlines() if "emulator" in line]
    assert len(said) == 1 and "the AWS emulator stopped" in said[0], rest
