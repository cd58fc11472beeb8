"""A newcomer's mistakes at the command line get one clear line, not a traceback."""

import os
import socket
import subprocess
import sys
from pathlib import Path

EVENTSAPI = Path(sys.executable).with_name("eventsapi")


def test_run_refuses_a_malformed_local_api_key_before_starting_anything():
    done = subprocess.run(
        [str(EVENTSAPI), "run", "--port", "0", "--moto-port", "0"],
        env={**os.environ, "LOCAL_API_KEY": "claw_short"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "LOCAL_API_KEY: a key is claw_ followed by at least 32 characters" in done.stderr
    assert "Traceback" not in done.stderr


def test_no_stack_at_the_chosen_emulator_says_where_it_looked_and_how_to_point_elsewhere():
    # newcomer review 2: the message named :5000 and no way to reach a stack on other ports
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        nobody = f"http://127.0.0.1:{probe.getsockname()[1]}"
    done = subprocess.run(
        [str(EVENTSAPI), "--local", "dlq", "list", "--queue", "events"],
        env={**os.environ, "EVENTS_EMULATOR_URL": nobody},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    assert f"no local stack answers at {nobody} ($EVENTS_EMULATOR_URL)" in done.stderr
    assert "--endpoint-url" in done.stderr and "Traceback" not in done.stderr
