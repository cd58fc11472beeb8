"""The bounded `make fuzz` that CI runs (same command, fewer examples). One proof a file: xdist
hands files to workers, so the long proofs run side by side and are handed out first (heavy)."""

import re

import pytest

from tests.e2e.conftest import eventsapi_tool

pytestmark = pytest.mark.heavy(rank=2)


def test_schema_fuzzing_finds_no_server_error_and_no_answer_outside_the_document():
    done = eventsapi_tool("fuzz", "--examples", "8", "--seed", "20261128", timeout=900)
    print(done.stdout)
    assert done.returncode == 0, done.stdout + done.stderr[-5000:]
    total = re.search(r"^total\s+(\d+)\s+(\d+)\s+(\d+)$", done.stdout, re.MULTILINE)
    assert total, done.stdout
    cases, failures, server_errors = map(int, total.groups())
    assert cases > 400 and failures == 0 and server_errors == 0
    assert re.search(r"fuzz (\d+)/\1: schemathesis", done.stderr)  # long runs say where they are
