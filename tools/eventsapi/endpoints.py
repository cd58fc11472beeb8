"""Where a local stack is: the one rule every eventsapi command uses to find it.

A flag wins; else the environment (`EVENTS_API_URL`, `EVENTS_EMULATOR_URL`, which `eventsapi run`
prints ready to export); else the defaults of `make run` (:3000 and :5000). There is deliberately
no "last started" file: with two stacks running it would pick the wrong one.
"""

import os

API_URL_ENV = "EVENTS_API_URL"
EMULATOR_URL_ENV = "EVENTS_EMULATOR_URL"
DEFAULT_API_PORT = 3000
DEFAULT_EMULATOR_PORT = 5000
DEFAULT_API_URL = f"http://127.0.0.1:{DEFAULT_API_PORT}"
DEFAULT_EMULATOR_URL = f"http://127.0.0.1:{DEFAULT_EMULATOR_PORT}"

API_URL_HELP = f"the local API (default: ${API_URL_ENV}, else {DEFAULT_API_URL})"
EMULATOR_URL_HELP = f"the local AWS emulator (default: ${EMULATOR_URL_ENV}, else {DEFAULT_EMULATOR_URL})"


def _chosen(flag: str | None, variable: str, default: str) -> str:
    return (flag or os.environ.get(variable) or default).rstrip("/")


def api_url(flag: str | None = None) -> str:
    """The local API's base URL: the flag, else $EVENTS_API_URL, else http://127.0.0.1:3000."""
    return _chosen(flag, API_URL_ENV, DEFAULT_API_URL)


def emulator_url(flag: str | None = None) -> str:
    """The local emulator's URL: the flag, else $EVENTS_EMULATOR_URL, else http://127.0.0.1:5000."""
    return _chosen(flag, EMULATOR_URL_ENV, DEFAULT_EMULATOR_URL)


def where_from(flag: str | None, variable: str) -> str:
    """How a URL was chosen, for an error message: 'the flag', '$VAR' or 'the default'."""
    if flag:
        return "the flag"
    return f"${variable}" if os.environ.get(variable) else "the default"


API_KEY_ENV = "EVENTS_API_KEY"  # what the developer's commands (listen, trigger, webhooks…) read


def exports(api: str, emulator: str, key: str | None = None) -> list[str]:
    """The lines to paste into another shell so every other command finds this stack (and, given
    the seeded key, uses it: KEY for the README's curl lines, EVENTS_API_KEY for the commands)."""
    lines = [f"export {API_URL_ENV}={api}", f"export {EMULATOR_URL_ENV}={emulator}"]
    return lines + ([f"export KEY={key}", f"export {API_KEY_ENV}={key}"] if key else [])
