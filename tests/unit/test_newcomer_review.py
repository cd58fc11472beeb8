"""The newcomer review of 2026-11-30, the parts that need no stack: each test fails without its fix."""

import re
import subprocess
from pathlib import Path

import pytest

from events_core.errors import BadRequest
from events_core.webhooks.filters import validate_filter
from eventsapi import cli, endpoints

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def clean_environment(monkeypatch):
    monkeypatch.delenv(endpoints.API_URL_ENV, raising=False)
    monkeypatch.delenv(endpoints.EMULATOR_URL_ENV, raising=False)
    return monkeypatch


def test_a_flag_wins_then_the_environment_then_the_defaults(clean_environment):
    # review 2: every command went to :5000 whatever port the stack was started on
    assert endpoints.api_url(None) == "http://127.0.0.1:3000"
    assert endpoints.emulator_url(None) == "http://127.0.0.1:5000"
    clean_environment.setenv("EVENTS_API_URL", "http://127.0.0.1:3320/")
    clean_environment.setenv("EVENTS_EMULATOR_URL", "http://127.0.0.1:5320")
    assert endpoints.api_url(None) == "http://127.0.0.1:3320"
    assert endpoints.emulator_url(None) == "http://127.0.0.1:5320"
    assert endpoints.emulator_url("http://127.0.0.1:5999") == "http://127.0.0.1:5999"
    assert endpoints.exports("http://a", "http://b") == [
        "export EVENTS_API_URL=http://a",
        "export EVENTS_EMULATOR_URL=http://b",
    ]
    # With the seeded key: the README's KEY and the name the developer's commands read.
    assert endpoints.exports("http://a", "http://b", "claw_k")[2:] == [
        "export KEY=claw_k",
        "export EVENTS_API_KEY=claw_k",
    ]


def test_the_local_target_of_every_command_follows_the_rule(clean_environment, monkeypatch):
    clean_environment.setenv("EVENTS_EMULATOR_URL", "http://127.0.0.1:5320")
    clean_environment.setenv("EVENTS_API_URL", "http://127.0.0.1:3320")
    seen = {}
    monkeypatch.setattr(cli.Target, "local", classmethod(lambda cls, url, api=None: seen.update(url=url, api=api)))
    cli._target(cli.parser().parse_args(["--local", "dlq", "list", "--queue", "events"]))
    assert seen == {"url": "http://127.0.0.1:5320", "api": "http://127.0.0.1:3320"}


def test_run_documents_its_ports_in_its_help(capsys):
    # review 2: --port and --moto-port had no help text
    with pytest.raises(SystemExit):
        cli.parser().parse_args(["run", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert "--port PORT the API and the console" in shown
    assert "--moto-port MOTO_PORT the AWS emulator" in shown and "prints what to export" in shown


def test_an_unknown_param_is_one_line_and_exit_2(capsys):
    # review 15 / issue: a traceback before
    assert cli.main(["run", "--param", "NoSuchParameter=1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no parameter 'NoSuchParameter'" in err[0]
    assert cli.main(["run", "--param", "RetrySchedule"]) == 2


def test_make_help_lists_every_target():
    # review 12: install, lint, typecheck, validate, clean and lock were missing
    makefile = (ROOT / "Makefile").read_text()
    phony = re.search(r"^\.PHONY:(.*?)(?<!\\)\n", makefile, re.S | re.M).group(1).replace("\\", " ").split()
    shown = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    listed = set(re.findall(r"^make (\w+)", shown, re.M))
    missing = set(phony) - listed - {"help", "unit", "integration", "e2e", "browser"} - {"deployed"}
    assert missing == set(), f"make help does not list {sorted(missing)}"
    assert {"unit", "integration", "e2e", "browser", "deployed"} <= listed


def test_python_version_names_only_the_python_the_project_needs():
    # review 14: it also named 3.11.7, which a pyenv without it cannot honour
    assert (ROOT / ".python-version").read_text().split() == ["3.13"]


def test_a_numeric_filter_error_lists_the_operators_as_text_not_a_python_list():
    # review 15
    with pytest.raises(BadRequest) as refused:
        validate_filter({"n": [{"numeric": ["~", 1]}]})
    assert "one of <, <=, =, >, >= and a number" in str(refused.value)
    assert "[" not in str(refused.value).split("one of")[1]


def _user_docs() -> str:
    """README.md and docs/: a table may move from one to the other, as long as a reader finds it."""
    return "\n".join(path.read_text() for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))])


def test_the_routes_table_lists_every_operation_of_openapi():
    import yaml

    document = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    docs = _user_docs()
    missing = [
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        for method in operations
        if method in ("get", "post", "put", "patch", "delete") and f"| {method.upper()} {path}" not in docs
    ]
    assert missing == [], f"routes with no row in the API table: {missing}"


def test_every_make_help_target_is_named_in_the_docs():
    shown = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    targets = sorted(set(re.findall(r"^make ([a-z][a-z0-9-]*)", shown, re.M)))
    docs = _user_docs()
    unnamed = [target for target in targets if not re.search(rf"`make {target}\b|`{target}`", docs)]
    assert unnamed == [], f"make help targets the docs never name: {unnamed}"
