"""`eventsapi listen`'s own logic, without a stack: a delivery handed out again after a lost answer is
reported, never forwarded twice; reports that could not be sent are kept and sent after reconnecting;
a refused key or a bad URL is exit 2."""

import pytest

from eventsapi import listen
from eventsapi.cli import main
from eventsapi.listen import Api, BadSetup, Listener, Outcome, Reply, Unreachable


class FakeApi(Api):
    def __init__(self, polls, fail_reports=0):
        super().__init__("http://127.0.0.1:1", "claw_x")
        self.polls = list(polls)
        self.fail_reports = fail_reports
        self.reports: list[tuple[str, dict]] = []

    def call(self, method, path, body=None, timeout=15.0):
        if path.endswith("/result"):
            if self.fail_reports:
                self.fail_reports -= 1
                raise Unreachable("network down")
            self.reports.append((path.split("/")[-2], body))
            return Reply(204, b"")
        if "/next" in path:
            if not self.polls:
                raise KeyboardInterrupt  # the test is over
            answer = self.polls.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer
        raise AssertionError(path)


def delivery(delivery_id: str) -> dict:
    return {"deliveryId": delivery_id, "event": "tool.executed", "headers": {"X-Webhook-Id": delivery_id}, "body": "{}"}


def deliveries(*ids: str) -> Reply:
    import json

    return Reply(200, json.dumps({"deliveries": [delivery(i) for i in ids]}).encode())


def run(api, monkeypatch) -> list[str]:
    forwarded: list[str] = []

    def fake_forward(url, headers, body):
        forwarded.append(headers["X-Webhook-Id"])
        return Outcome(200, 3, "ok", None)

    monkeypatch.setattr(listen, "forward", fake_forward)
    monkeypatch.setattr(listen, "BACKOFF", (0.0,))
    listener = Listener(api, "http://127.0.0.1:2/x?y=1", [], {}, session_id="ls_0" + "0" * 20)
    with pytest.raises(KeyboardInterrupt):
        listener.run()
    return forwarded


def test_a_delivery_handed_out_again_is_reported_not_forwarded_twice(monkeypatch):
    api = FakeApi([deliveries("msg_a"), Reply(204, b""), deliveries("msg_a", "msg_b")])
    assert run(api, monkeypatch) == ["msg_a", "msg_b"]
    assert [delivery_id for delivery_id, _ in api.reports] == ["msg_a", "msg_a", "msg_b"]


def test_reports_lost_to_an_outage_are_sent_after_reconnecting(monkeypatch):
    api = FakeApi([deliveries("msg_a"), Unreachable("down"), Reply(204, b"")], fail_reports=2)
    assert run(api, monkeypatch) == ["msg_a"]
    assert api.reports == [("msg_a", {"status": 200, "latencyMs": 3, "body": "ok"})]


def test_an_outage_longer_than_the_limit_gives_up(monkeypatch):
    api = FakeApi([Unreachable("down")] * 50)
    monkeypatch.setattr(listen, "BACKOFF", (0.0,))
    listener = Listener(api, "http://127.0.0.1:2/x", [], {}, give_up_after=0.0, session_id="ls_0" + "0" * 20)
    with pytest.raises(Unreachable):
        listener.run()


@pytest.mark.parametrize("url", ["localhost:3000", "ftp://host/x", "http://", "http://host:99999/x"])
def test_a_bad_forward_url_exits_2(url, capsys):
    assert main(["listen", "--forward-to", url, "--api-key", "claw_x"]) == 2
    assert "--forward-to" in capsys.readouterr().err


def test_no_key_exits_2(monkeypatch, capsys):
    for name in ("EVENTS_API_KEY", "LOCAL_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    assert main(["listen", "--forward-to", "http://127.0.0.1:1/x"]) == 2
    assert "API key" in capsys.readouterr().err


def test_a_refused_key_is_bad_setup():
    class Refusing(Api):
        def call(self, method, path, body=None, timeout=15.0):
            raise BadSetup("the API refused the key (401)")

    with pytest.raises(BadSetup):
        Listener(Refusing("http://127.0.0.1:1", "claw_x"), "http://127.0.0.1:2/", [], {}).open()
