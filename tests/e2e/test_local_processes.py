"""The local runtime never leaves an emulator process behind: not when its start fails, not when
the process that started it is killed outright."""

import os
import socket
import subprocess
import sys
import time

import pytest

from eventsapi.local.runtime import LocalRuntime

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
