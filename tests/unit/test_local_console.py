"""Review L6 residue: what a client sends never reaches `make run`'s console raw, and the metric
lines the functions print for CloudWatch stay off the local console."""

import json

from eventsapi.local.gateway import SHOWN_CHARS, printable


def test_control_characters_are_escaped_not_sent_to_the_terminal():
    shown = printable("/v1/\x1b[31mFAKE\x1b[0m\x08\x08\x07\r\n\x9b2J\u202egnp.exe")
    assert shown == "/v1/\\x1b[31mFAKE\\x1b[0m\\x08\\x08\\x07\\x0d\\x0a\\x9b2J\\u202egnp.exe"
    assert all(ch.isprintable() for ch in shown)


def test_long_paths_are_shortened_saying_how_much_was_left_out():
    shown = printable("/v1/events/logs?limit=" + "9" * 5000)
    assert len(shown) < SHOWN_CHARS + 30 and shown.endswith(f"…(+{5022 - SHOWN_CHARS} chars)")
    assert printable("/v1/events/webhooks") == "/v1/events/webhooks"


def test_no_metric_line_reaches_a_local_console(monkeypatch, capsys):
    from aws_lambda_powertools.metrics.provider import cold_start

    from events_core.observability import entry_point

    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    monkeypatch.setattr(cold_start, "is_cold_start", True)  # as in a fresh function

    @entry_point()
    def handler(event, context):
        return {"ok": True}

    class Context:
        function_name = "local"
        memory_limit_in_mb = 256
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:local"
        aws_request_id = "r-1"

    assert handler({}, Context()) == {"ok": True}
    printed = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert not [line for line in printed if "_aws" in json.loads(line)]  # no EMF (cold start included)
