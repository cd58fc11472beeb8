"""`eventsapi`'s global flags mean the same before and after the subcommand (`eventsapi keys list
--local …` was refused as an unrecognized argument), and a command's own copy of a global flag no
longer resets the value given before the subcommand (`eventsapi --api-url X listen …` lost X)."""

import pytest

from eventsapi.cli import parser

GLOBALS = ("local", "stack", "region", "endpoint_url", "api_url", "api_key", "json")


def parsed(*argv: str) -> dict:
    return {name: value for name, value in vars(parser().parse_args(list(argv))).items() if name in GLOBALS}


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("--local keys list --developer u", "keys list --developer u --local"),
        ("--local admin keys list --developer u", "admin keys list --developer u --local"),
        ("--stack s --region r dlq list --queue events", "dlq list --queue events --stack s --region r"),
        ("--stack s events send tool.executed --developer u", "events send tool.executed --developer u --stack s"),
        ("--api-url http://a --api-key k --json webhooks list", "webhooks list --api-url http://a --api-key k --json"),
        ("--api-url http://a listen --forward-to http://b", "listen --forward-to http://b --api-url http://a"),
        (
            "--endpoint-url http://e --api-url http://a trigger t",
            "trigger t --endpoint-url http://e --api-url http://a",
        ),
    ],
)
def test_a_global_flag_means_the_same_before_and_after_the_subcommand(before, after):
    given = parsed(*before.split())
    assert given == parsed(*after.split())
    assert any(value not in (None, False) for value in given.values())


def test_not_given_a_global_flag_keeps_its_default():
    assert parsed("webhooks", "list") == {
        "local": False, "stack": None, "region": None, "endpoint_url": None, "api_url": None, "api_key": None,
        "json": False,
    }  # fmt: skip


def test_the_old_spellings_are_the_admin_commands():
    for old in ("keys list --developer u", "dlq redrive --queue events", "webhooks require-verification"):
        then, now = parser().parse_args(old.split()).func, parser().parse_args(["admin", *old.split()]).func
        assert then.__qualname__ == now.__qualname__
