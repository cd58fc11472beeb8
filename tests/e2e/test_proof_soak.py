"""The bounded `make soak` that CI runs (same command, fewer events). One proof a file: xdist
hands files to workers, so the long proofs run side by side and are handed out first (heavy)."""

import re

import pytest

from tests.e2e.conftest import eventsapi_tool

pytestmark = pytest.mark.heavy(rank=3)


def test_the_soak_loses_nothing():
    # The ordered phase (a key stalled for minutes) is `make soak`'s, not this smoke's.
    done = eventsapi_tool("soak", "--events", "40", "--timeout", "300", "--without-ordered", timeout=600)
    print(done.stdout)
    assert done.returncode == 0, done.stdout + done.stderr[-5000:]
    figures = dict(re.findall(r"^(.+?)\s{2,}(\S+)$", done.stdout, re.MULTILINE))
    assert figures["faulted: lost"] == "0"
    assert figures["LOST"] == "0"
    assert figures["DEAD AFTER RECOVERY"] == "0"
    assert figures["delivered to the wrong developer"] == "0"
    assert figures["bad signatures"] == "0"
    assert figures["DUPLICATES BY KEY (two delivery ids)"] == "0"
    assert int(figures["published twice with one idempotency key"]) > 0
    assert (
        figures["of those, rejected to the events dead-letter queue"]
        == figures["published with data that does not match its schema"]
    )
    assert int(figures["expected (event, webhook) pairs"]) > 50
    assert int(figures["after recovery: accepted, valid signature"]) == int(figures["expected (event, webhook) pairs"])
    assert "HOLDS" in done.stdout.splitlines()[-1]
    assert "soak 5/5: delivering" in done.stderr  # long runs say where they are (issue 17)
