"""Where the API is and which key to use: the rule every eventsapi command follows.

A flag (an argument) wins; else the environment (`EVENTS_API_URL`, `EVENTS_API_KEY`, which
`eventsapi run` prints ready to export); else the local stack of `make run` (http://127.0.0.1:3000).
There is no default key: a call without one is refused by the API, so the client says so first.
"""

import os

API_URL_ENV = "EVENTS_API_URL"
API_KEY_ENV = "EVENTS_API_KEY"
DEFAULT_API_URL = "http://127.0.0.1:3000"


class NoApiKey(ValueError):
    """No key given and none in EVENTS_API_KEY."""


class BadApiUrl(ValueError):
    """The API's URL is not http:// or https://."""


def api_url(given: str | None = None) -> str:
    url = (given or os.environ.get(API_URL_ENV) or DEFAULT_API_URL).rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise BadApiUrl(f"the API's URL must be http:// or https://, not {url!r}")
    return url


def api_key(given: str | None = None) -> str:
    key = given or os.environ.get(API_KEY_ENV)
    if not key:
        raise NoApiKey(f"no API key: give --api-key or set {API_KEY_ENV} (make run prints the local one)")
    return key
