"""The deployed tier cannot reach AWS here; its tests still run on every `make test`, against the
local stack, so the code a real deployment will run is the code that was tested."""

import subprocess
import sys

from tests.e2e.conftest import ROOT


def test_the_deployed_tier_passes_against_the_local_stack():
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/deployed", "--against-local", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "6 passed, 1 skipped" in done.stdout  # the alarm probe needs CloudWatch: deployed stacks only
