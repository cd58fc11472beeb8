"""The Events API as a client sees it: one small HTTP client the end-to-end tier (against `make
run`) and the deployed tier (against a real stack) share, so both test the same calls."""

import time
from collections.abc import Callable
from typing import Any

import requests


class ApiError(AssertionError):
    pass


class EventsApi:
    def __init__(self, base_url: str, key: str | None, timeout: float = 60):
        self.base_url = base_url.rstrip("/")
        self.http = requests.Session()
        self.timeout = timeout
        if key:
            self.http.headers["X-API-Key"] = key

    def raw(self, method: str, path: str, body: Any = None, data: bytes | None = None) -> requests.Response:
        return self.http.request(
            method, f"{self.base_url}{path}", json=body if data is None else None, data=data, timeout=self.timeout
        )

    def __call__(self, method: str, path: str, body: Any = None, expect: int | None = None) -> dict:
        answer = self.raw(method, path, body)
        if expect is not None and answer.status_code != expect:
            raise ApiError(f"{method} {path}: expected {expect}, got {answer.status_code} {answer.text[:500]}")
        return answer.json()

    # The routes, by name.
    def create(self, body: dict) -> dict:
        return self("POST", "/v1/events/webhooks", body, expect=201)

    def webhook(self, webhook_id: str) -> dict:
        return self("GET", f"/v1/events/webhooks/{webhook_id}", expect=200)

    def change(self, webhook_id: str, body: dict) -> dict:
        return self("PATCH", f"/v1/events/webhooks/{webhook_id}", body, expect=200)

    def deliveries(self, webhook_id: str, query: str = "") -> list[dict]:
        return self("GET", f"/v1/events/webhooks/{webhook_id}/deliveries{query}", expect=200)["deliveries"]

    def delivery(self, webhook_id: str, delivery_id: str) -> dict:
        return self("GET", f"/v1/events/webhooks/{webhook_id}/deliveries/{delivery_id}", expect=200)


def wait_for(predicate: Callable[[], Any], seconds: float = 30.0, every: float = 0.1) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"timed out after {seconds} s")
