"""As a new user would, on `eventsapi run`: `eventsapi webhooks create` then `eventsapi events send`
delivers and `eventsapi deliveries list` shows it; an MCP client over stdio lists the tools,
creates a webhook, sends a test and reads the delivery's attempts; with a read-only key it sees
no tool that writes."""

import json
import subprocess
import time

from eventsapi.harness.receiver import Receiver
from eventsapi_client import mcp_server, verify
from tests.integration.test_mcp_server import McpClient


def test_a_webhook_from_the_terminal_receives_an_event_and_its_delivery_is_listed(running_stack, monkeypatch):
    monkeypatch.setenv("EVENTS_API_KEY", running_stack.key)
    with Receiver() as receiver:
        created = running_stack.eventsapi(
            "webhooks", "create", "--event", "workflow.completed", "--url", receiver.url("/new"),
            "--secret", "newcomer-secret", "--json",
        )  # fmt: skip
        assert created.returncode == 0, created.stderr
        hook_id = json.loads(created.stdout)["id"]
        sent = running_stack.eventsapi("events", "send", "workflow.completed", "--developer", "user_123")
        assert sent.returncode == 0, sent.stderr
        deadline = time.monotonic() + 30
        while not receiver.at("/new") and time.monotonic() < deadline:
            time.sleep(0.2)
        [post] = receiver.at("/new")
        assert verify(post.body, post.headers, "newcomer-secret")
        while time.monotonic() < deadline:
            listed = running_stack.eventsapi("deliveries", "list", hook_id)
            if "succeeded" in listed.stdout:
                break
            time.sleep(0.2)
        assert listed.returncode == 0 and "workflow.completed" in listed.stdout and "succeeded" in listed.stdout
        assert running_stack.eventsapi("webhooks", "delete", hook_id).returncode == 0


def mcp(running_stack, key: str) -> McpClient:
    client = McpClient("--api-url", running_stack.api_url, "--api-key", key)
    client.call("initialize", {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "e2e"}})
    client.notify("notifications/initialized")
    return client


def test_an_agent_over_stdio_creates_a_webhook_sends_a_test_and_reads_the_attempts(running_stack):
    with Receiver() as receiver:
        agent = mcp(running_stack, running_stack.key)
        try:
            names = {tool["name"] for tool in agent.call("tools/list")["result"]["tools"]}
            assert {"create_webhook", "send_test", "get_delivery"} <= names
            hook = agent.tool("create_webhook", event="tool.failed", url=receiver.url("/agent"))["structuredContent"]
            sent = agent.tool("send_test", webhook_id=hook["id"])["structuredContent"]
            assert sent["delivered"] is True
            detail = agent.tool("get_delivery", webhook_id=hook["id"], delivery_id=sent["deliveryId"])
            assert detail["structuredContent"]["attempts"][0]["status"] == 200
            assert agent.tool("delete_webhook", webhook_id=hook["id"])["isError"] is False
        finally:
            agent.close()


def test_an_agent_with_a_read_only_key_sees_no_tool_that_writes(running_stack):
    issued = running_stack.eventsapi(
        "admin", "keys", "create", "--developer", "user_123", "--scopes", "read", "--local"
    )
    assert issued.returncode == 0, issued.stderr
    agent = mcp(running_stack, issued.stdout.strip().splitlines()[-1])
    try:
        names = {tool["name"] for tool in agent.call("tools/list")["result"]["tools"]}
    finally:
        agent.close()
    assert "list_deliveries" in names
    assert names.isdisjoint({tool.name for tool in mcp_server.TOOLS if tool.writes})


def test_a_purge_with_no_terminal_to_ask_on_says_to_pass_yes(running_stack):
    asked = subprocess.run(
        [*running_stack.eventsapi_command(), "--local", "dlq", "purge", "--queue", "events"],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert asked.returncode == 2 and asked.stderr.strip() == "no terminal to confirm on: pass --yes"
    assert "Traceback" not in asked.stderr
