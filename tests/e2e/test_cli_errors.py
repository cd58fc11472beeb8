"""A newcomer's mistakes at the command line get one clear line, not a traceback."""

import os
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
