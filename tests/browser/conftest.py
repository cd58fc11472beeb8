"""The browser tier: the developer console in headless Chromium (Debian's /usr/bin/chromium, driven by
Playwright for Python) against `eventsapi run` on free ports, with webhook receivers on 127.0.0.1.

Nothing here reaches any address but 127.0.0.1: Chromium runs with its background networking off.
"""

import http.client
import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from eventsapi.harness.receiver import Receiver
from tests.e2e.conftest import RunningStack, start_stack, stop_stack

playwright_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the browser tier)")
# The stack runs beside other work on the machine: give the page's assertions room (Playwright's default is 5 s).
playwright_api.expect.set_options(timeout=10_000)

CHROMIUM = os.environ.get("CONSOLE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
KEY = "claw_browser_console_key_0000000000000000000000"
# Failed posts retried after about 1 s and 1 s, then dead: a failing delivery is dead within seconds.
FAST_RETRIES = "RetrySchedule=1000,1000"
VIEWPORT = {"width": 1280, "height": 900}
NETWORK_STATUS = re.compile(r"Failed to load resource: the server responded with a status of (\d{3})")


class ConsoleWatch:
    """What the page logged: console errors, uncaught exceptions and JavaScript dialogs. Chromium also
    logs every HTTP error answer as a console error; a test names the ones it provokes on purpose."""

    def __init__(self, page, api_url: str) -> None:
        self.api_url = api_url
        self.errors: list[str] = []
        self.http_errors: list[int] = []
        self.dialogs: list[str] = []
        self.expected: set[int] = set()
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        page.on("dialog", self._dialog)

    def _console(self, message) -> None:
        if message.type not in ("error", "warning"):
            return
        found = NETWORK_STATUS.search(message.text)
        url = (message.location or {}).get("url", "")
        if message.type == "error" and found and url.startswith(self.api_url + "/v1/"):
            self.http_errors.append(int(found.group(1)))
            if int(found.group(1)) in self.expected:
                return
        self.errors.append(f"console {message.type}: {message.text} ({url})")

    def _dialog(self, dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def expect_http(self, *statuses: int) -> None:
        """This test provokes these API answers on purpose (a wrong key, a bad field)."""
        self.expected.update(statuses)

    def assert_clean(self) -> None:
        assert self.errors == [], "the console logged errors:\n" + "\n".join(self.errors)
        assert self.dialogs == [], f"the page opened dialogs: {self.dialogs}"


@pytest.fixture(scope="session")
def stack() -> Iterator[RunningStack]:
    running = start_stack(FAST_RETRIES, key=KEY)
    yield running
    stop_stack(running)


@pytest.fixture(scope="session")
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def _open_page(browser, stack: RunningStack, **context_options):
    options = {"viewport": VIEWPORT, "locale": "en-US", "timezone_id": "UTC", **context_options}
    context = browser.new_context(**options)
    context.set_default_timeout(20_000)
    page = context.new_page()
    return context, page, ConsoleWatch(page, stack.api_url)


@pytest.fixture
def console(browser, stack):
    """A fresh browser context (its own sessionStorage, localStorage and cookies) with one page."""
    context, page, watch = _open_page(browser, stack)
    page.watch = watch
    yield page
    context.close()
    watch.assert_clean()


@pytest.fixture
def open_console(browser, stack):
    """Open more pages with other options (viewport, colour scheme); each is checked like `console`."""
    opened = []

    def open_page(**options):
        context, page, watch = _open_page(browser, stack, **options)
        page.watch = watch
        opened.append((context, watch))
        return page

    yield open_page
    for context, watch in opened:
        context.close()
        watch.assert_clean()


@pytest.fixture
def shots(tmp_path):
    """Save a screenshot to tmp_path; the published ones also to $CONSOLE_SCREENSHOTS when that names a folder
    (the README's pictures: CONSOLE_SCREENSHOTS=docs/img)."""
    folder = os.environ.get("CONSOLE_SCREENSHOTS")

    def save(page, name: str, *, publish: bool = False) -> Path:
        path = tmp_path / name
        page.screenshot(path=str(path), full_page=True, animations="disabled", caret="hide")
        if publish and folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, Path(folder) / name)
        return path

    return save


def call(stack: RunningStack, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    """The API as a plain client would call it (set-up and checks beside the browser)."""
    address = urlsplit(stack.api_url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    try:
        connection.request(
            method,
            path,
            body=None if body is None else json.dumps(body),
            headers={"X-API-Key": stack.key, "Content-Type": "application/json"},
        )
        answer = connection.getresponse()
        return answer.status, json.loads(answer.read() or b"null")
    finally:
        connection.close()


def create_webhook(stack: RunningStack, **body) -> dict:
    status, webhook = call(stack, "POST", "/v1/events/webhooks", body)
    assert status == 201, webhook
    return webhook


def sign_in(page, stack: RunningStack, path: str = "") -> None:
    page.goto(f"{stack.api_url}/console{path}")
    page.get_by_label("API key").fill(stack.key)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Sign out").wait_for()
