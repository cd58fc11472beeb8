"""README.md and the docs it leads to, walked literally: their code blocks, extracted from the files
themselves in order (README.md, then docs/receivers.md, producers.md, api.md, operators.md, in ONE
shell, so a later file uses what an earlier one set up), run against `eventsapi run` on non-default
ports, each step checked against what the file says.

The convention, for everyone who adds to these files. Every fenced code block is preceded, on the
line just before its fence, by one tag:

    <!-- walk -->           bash, run in order in ONE shell (variables and functions carry over)
                            from the repository's root. Use $EVENTS_API_URL, $EVENTS_EMULATOR_URL
                            and $KEY, never a fixed port (:3000/:5000): the walk's stack is elsewhere.
    <!-- walk: banner -->   the `export` lines `eventsapi run` prints; the walk runs the banner's own
                            lines instead, and checks the README names the same variables.
    <!-- deployed-only -->  needs a deployed stack: not run.
    <!-- illustrative -->   not run as is (make itself, a JSON shape, a layout).

In a walked block, a comment line `# → text` says what the commands above it print. The walk
finds each such text in the block's output, in order, ignoring whitespace, with `…` matching
anything. A line `# ↳ text` is what a background process (the receiver) prints, at any moment
during or after the block: the walk waits up to EXPECT_SECONDS for it, anywhere in the output
since the block began (two identical `↳` lines need two occurrences). A command that fails
(non-zero status, pipes included) fails the walk, as does an untagged block.

The stack runs with one parameter changed, `RetryDelayScale`, so that a delivery's eight attempts
take seconds rather than the two minutes the README mentions; everything else is as `make run`.
"""

import contextlib
import os
import re
import shlex
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, free_port, start_stack, stop_stack

README = ROOT / "README.md"
# Walked in this order, in one shell: the docs continue the README's walkthrough.
WALKED = (README, *(ROOT / "docs" / f"{name}.md" for name in ("receivers", "producers", "api", "operators")))
TAGS = ("walk", "walk: banner", "deployed-only", "illustrative")
EXPECT = "# → "
BACKGROUND = "# ↳ "
EXPECT_SECONDS = 20
BLOCK_SECONDS = 120
# Eight attempts within seconds (locally the schedule is already scaled by 0.001).
WALK_PARAMETERS = ("RetryDelayScale=0.00002",)

FENCE = re.compile(r"^```(\w*)\s*$")
TAG = re.compile(r"^<!--\s*(.+?)\s*-->\s*$")


@dataclass
class Block:
    line: int  # of the opening fence, 1-based
    tag: str | None
    language: str
    code: str
    file: str = "README.md"

    def expectations(self, prefix: str = EXPECT) -> list[str]:
        return [line.strip()[len(prefix) :] for line in self.code.splitlines() if line.strip().startswith(prefix)]


def blocks(text: str) -> list[Block]:
    lines = text.splitlines()
    found: list[Block] = []
    n = 0
    while n < len(lines):
        opening = FENCE.match(lines[n])
        if not opening:
            n += 1
            continue
        end = next(k for k in range(n + 1, len(lines)) if lines[k].strip() == "```")
        tag = TAG.match(lines[n - 1]) if n else None
        found.append(Block(n + 1, tag.group(1) if tag else None, opening.group(1), "\n".join(lines[n + 1 : end])))
        n = end + 1
    return found


def pattern_of(expected: str) -> re.Pattern:
    """Whitespace ignored, `…` matches anything."""
    squeezed = re.sub(r"\s+", "", expected)
    return re.compile(".*?".join(re.escape(part) for part in squeezed.split("…")), re.DOTALL)


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


class Shell:
    """One bash session, fed block by block; its output (stdout and stderr) collected as it comes."""

    def __init__(self, env: dict[str, str]):
        self.process = subprocess.Popen(
            ["bash", "--norc", "--noprofile"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # the receivers it starts go with it
        )
        self.output: list[str] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._pump, daemon=True).start()
        self.files = tempfile.TemporaryDirectory(prefix="readme-walk-")
        self.send("set -o pipefail -o errtrace\ntrap 'echo \"__WALK_FAILED__ $BASH_COMMAND\"' ERR\n")

    def _pump(self) -> None:
        for line in self.process.stdout:  # type: ignore[union-attr]
            with self.lock:
                self.output.append(line)

    def send(self, text: str) -> None:
        self.process.stdin.write(text)  # type: ignore[union-attr]
        self.process.stdin.flush()  # type: ignore[union-attr]

    def text_since(self, start: int) -> str:
        with self.lock:
            return "".join(self.output[start:])

    def mark(self) -> int:
        with self.lock:
            return len(self.output)

    def run(self, number: int, code: str) -> tuple[int, str]:
        """Run a block (sourced from a file, so a here-document or a function is whole); its output."""
        script = Path(self.files.name) / f"block-{number}.sh"
        script.write_text(code + "\n")
        start = self.mark()
        done = f"__WALK_DONE__ {number}"
        self.send(f"source {script}\necho '{done}'\n")
        deadline = time.monotonic() + BLOCK_SECONDS
        while done not in self.text_since(start):
            if time.monotonic() > deadline or self.process.poll() is not None:
                pytest.fail(f"block {number} did not finish within {BLOCK_SECONDS} s:\n{self.text_since(start)}")
            time.sleep(0.1)
        return start, self.text_since(start)

    def close(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=10)
        self.files.cleanup()


def banner_exports(output: list[str]) -> list[str]:
    return [line.strip() for line in output if line.strip().startswith("export ")]


def _missing(shell: Shell, block: Block, start: int, expected: str) -> None:
    pytest.fail(
        f"{block.file} line {block.line}: expected {expected!r}\n--- the block printed:\n"
        f"{shell.text_since(start)}\n--- the block:\n{block.code}"
    )


def check_expectations(shell: Shell, block: Block, start: int) -> None:
    position = 0
    for expected in block.expectations(EXPECT):  # the commands' own output, in order
        pattern = pattern_of(expected)
        deadline = time.monotonic() + EXPECT_SECONDS
        while not (found := pattern.search(squeeze(shell.text_since(start)), position)):
            if time.monotonic() > deadline:
                _missing(shell, block, start, expected)
            time.sleep(0.2)
        position = found.end()
    wanted: dict[str, int] = {}
    for expected in block.expectations(BACKGROUND):  # a background process's, whenever it comes
        wanted[expected] = wanted.get(expected, 0) + 1
        pattern = pattern_of(expected)
        deadline = time.monotonic() + EXPECT_SECONDS
        while len(pattern.findall(squeeze(shell.text_since(start)))) < wanted[expected]:
            if time.monotonic() > deadline:
                _missing(shell, block, start, expected)
            time.sleep(0.2)


def walked_blocks() -> list[Block]:
    """Every file's blocks, in walking order, each knowing its file."""
    found = []
    for path in WALKED:
        for block in blocks(path.read_text()):
            block.file = str(path.relative_to(ROOT))
            found.append(block)
    return found


def test_every_code_block_is_tagged():
    untagged = [f"{block.file}:{block.line}" for block in walked_blocks() if block.tag not in TAGS]
    assert untagged == [], f"code blocks without a tag ({', '.join(TAGS)}): {untagged}"


def test_every_walked_file_has_walked_blocks_and_a_banner_only_in_the_readme():
    walked = {block.file for block in walked_blocks() if block.tag == "walk"}
    assert walked == {str(path.relative_to(ROOT)) for path in WALKED}
    assert [block.file for block in walked_blocks() if block.tag == "walk: banner"] == ["README.md"]


def test_walked_blocks_name_no_fixed_port_and_need_nothing_make_does_not_install():
    for block in walked_blocks():
        if block.tag == "walk":
            where = f"{block.file} line {block.line}"
            assert not re.search(r"127\.0\.0\.1:(3000|5000)\b|localhost:", block.code), where
            assert not re.search(r"(^|[\s;|&(])aws\s", block.code, re.M), f"{where}: the aws CLI"


def test_the_expectation_syntax_matches_like_the_readme_says():
    assert pattern_of('{"id": "…", "event": "x"}').search(squeeze('{"id":"6b0a","event":"x"}'))
    assert not pattern_of('{"queued": 1}').search(squeeze('{"queued": 10}'))
    twice = squeeze('valid {"data":{"n":5}}\nvalid {"data":{"n":5}}')
    assert len(pattern_of('valid {…"n":5}}').findall(twice)) == 2  # two `↳` lines need two occurrences


@pytest.fixture(scope="module")
def walk_stack():
    stack = start_stack(*WALK_PARAMETERS)
    yield stack
    stop_stack(stack)


def test_the_readme_and_the_docs_walk_as_written_on_other_ports(walk_stack):
    assert (ROOT / ".venv" / "bin" / "eventsapi").exists(), "the README's commands need `make install` (.venv)"
    assert not walk_stack.api_url.endswith(":3000")
    env = {name: value for name, value in os.environ.items() if not name.startswith(("EVENTS_", "AWS_"))}
    env.update(RECEIVER_PORT=str(free_port()), PYTHONUNBUFFERED="1")
    shell = Shell(env)
    exports = banner_exports(walk_stack.output)
    try:
        for number, block in enumerate(walked_blocks()):
            if block.tag == "walk: banner":
                readme_names = [line.split("=")[0] for line in block.code.splitlines() if line.startswith("export ")]
                assert readme_names == [line.split("=")[0] for line in exports], "README and banner disagree"
                code = "\n".join(exports)
            elif block.tag == "walk":
                assert block.language == "bash", f"{block.file} line {block.line}: walked blocks are bash"
                code = block.code
            else:
                continue
            start, printed = shell.run(number, code)
            failed = [line for line in printed.splitlines() if line.startswith("__WALK_FAILED__")]
            assert not failed, f"{block.file} line {block.line}: a command failed: {failed}\n{printed}"
            check_expectations(shell, block, start)
    finally:
        shell.close()


def test_json_id_shows_the_apis_error_when_there_is_no_id():
    [helper] = [line for line in README.read_text().splitlines() if line.startswith("json_id()")]

    def run(answer: str) -> subprocess.CompletedProcess:
        script = f"{helper}\nprintf '%s' {shlex.quote(answer)} | json_id"
        return subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=False)

    found = run('{"id": "wh_1", "event": "tool.executed"}')
    assert (found.returncode, found.stdout) == (0, "wh_1\n")
    refused = run('{"error": {"code": "unauthorized", "message": "no API key"}}')
    assert refused.returncode == 1 and refused.stdout == ""
    assert '"code": "unauthorized"' in refused.stderr and "KeyError" not in refused.stderr
