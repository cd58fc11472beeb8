"""`eventsapi mcp`: an MCP client over stdio lists the tools, creates a webhook, sends a test and
reads the delivery's attempts; with a read-only key it sees no tool that writes. Every developer
operation of openapi.yaml has a tool, and each tool calls one."""

import copy
import json
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from eventsapi.harness import contract
from eventsapi_client import mcp_server
from tests.integration.test_developer_client import served  # noqa: F401 - the fixture
from tests.unit.test_eventsapi_client import developer_operations

EVENTSAPI = str(Path(sys.executable).with_name("eventsapi"))


def missing_tools(document: dict) -> set[str]:
    return developer_operations(document) - set(mcp_server.tool_operations().values())


def test_every_developer_operation_has_a_tool_and_each_tool_calls_one():
    assert missing_tools(contract.document()) == set()
    assert set(mcp_server.tool_operations().values()) <= developer_operations(contract.document())


def test_a_developer_operation_without_a_tool_is_found():
    document = copy.deepcopy(contract.document())
    document["paths"]["/v1/events/signing-keys"]["get"]["operationId"] = "listSigningKeysAgain"
    assert missing_tools(document) == {"listSigningKeysAgain"}


class McpClient:
    """The client side of MCP's stdio transport: one JSON-RPC message a line."""

    def __init__(self, *argv: str) -> None:
        self.process = subprocess.Popen(
            [EVENTSAPI, "mcp", *argv], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, encoding="utf-8"
        )
        self.next_id = 0

    def notify(self, method: str, params: dict | None = None) -> None:
        self._send({"jsonrpc": "2.0", "method": method, **({"params": params} if params else {})})

    def call(self, method: str, params: dict | None = None) -> dict:
        self.next_id += 1
        self._send({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params or {}})
        answer = json.loads(self.process.stdout.readline())  # type: ignore[union-attr]
        assert answer["id"] == self.next_id
        return answer

    def tool(self, name: str, **arguments: object) -> dict:
        return self.call("tools/call", {"name": name, "arguments": arguments})["result"]

    def _send(self, message: dict) -> None:
        self.process.stdin.write(json.dumps(message) + "\n")  # type: ignore[union-attr]
        self.process.stdin.flush()  # type: ignore[union-attr]

    def close(self) -> None:
        self.process.stdin.close()  # type: ignore[union-attr]
        assert self.process.wait(timeout=10) == 0


@pytest.fixture
def connect(served) -> Iterator:  # noqa: F811 - the fixture, imported
    opened: list[McpClient] = []

    def open_with(key: str) -> McpClient:
        client = McpClient("--api-url", served, "--api-key", key)
        opened.append(client)
        started = client.call(
            "initialize",
            {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
        )
        assert started["result"]["protocolVersion"] == "2025-06-18"
        assert started["result"]["serverInfo"]["name"] == "eventsapi"
        client.notify("notifications/initialized")
        return client

    yield open_with
    for client in opened:
        client.close()


def test_an_agent_creates_a_webhook_sends_a_test_and_reads_its_attempts(connect, pipeline, receiver):
    agent = connect(pipeline.stack.key())
    tools = {tool["name"]: tool for tool in agent.call("tools/list")["result"]["tools"]}
    assert {"create_webhook", "send_test", "list_deliveries", "get_delivery", "recover"} <= set(tools)
    assert tools["delete_webhook"]["annotations"]["destructiveHint"] is True
    assert tools["list_webhooks"]["annotations"]["readOnlyHint"] is True

    created = agent.tool("create_webhook", event="tool.executed", url=receiver.url("/agent"), secret="s3cret")
    assert created["isError"] is False
    hook = created["structuredContent"]
    sent = agent.tool("send_test", webhook_id=hook["id"])["structuredContent"]
    assert sent["delivered"] is True and len(receiver.at("/agent")) == 1
    [delivery] = agent.tool("list_deliveries", webhook_id=hook["id"])["structuredContent"]["items"]
    detail = agent.tool("get_delivery", webhook_id=hook["id"], delivery_id=delivery["deliveryId"])["structuredContent"]
    assert detail["attempts"][0]["status"] == 200

    refused = agent.tool("get_webhook", webhook_id="0" * 24)
    assert refused["isError"] is True and "not found" in refused["content"][0]["text"]

    resources = agent.call("resources/list")["result"]["resources"]
    assert "eventsapi://types/tool.executed" in {r["uri"] for r in resources}
    read = agent.call("resources/read", {"uri": "eventsapi://types/tool.executed"})["result"]["contents"][0]
    assert "elapsed_ms" in json.loads(read["text"])["schema"]["properties"]
    [prompt] = agent.call("prompts/list")["result"]["prompts"]
    story = agent.call("prompts/get", {"name": prompt["name"], "arguments": {"webhook_id": hook["id"]}})["result"]
    assert hook["id"] in story["messages"][0]["content"]["text"]
    # An unknown method is a JSON-RPC error (the SDK answers it as invalid params), and the session goes on.
    assert agent.call("no/such")["error"]["code"] in (-32601, -32602)
    assert agent.call("ping")["result"] == {}


def test_a_read_only_key_sees_no_tool_that_writes(connect, pipeline, receiver):
    agent = connect(pipeline.stack.key(scopes=("read",)))
    listed = agent.call("tools/list")["result"]["tools"]
    writers = {tool.name for tool in mcp_server.TOOLS if tool.writes}
    assert {tool["name"] for tool in listed}.isdisjoint(writers)
    assert all(tool["annotations"]["readOnlyHint"] for tool in listed)
    assert "list_deliveries" in {tool["name"] for tool in listed}
    refused = agent.tool("create_webhook", event="tool.executed", url=receiver.url("/x"))
    assert refused["isError"] is True and "write" in refused["content"][0]["text"]


def test_the_official_sdk_client_initializes_lists_and_calls_over_stdio(served, pipeline):  # noqa: F811
    """The protocol as the `mcp` SDK speaks it, not as this repository reads it."""
    import anyio
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    read_only = pipeline.stack.key(scopes=("read",))
    server = StdioServerParameters(command=EVENTSAPI, args=["mcp", "--api-url", served, "--api-key", read_only])

    async def session() -> tuple:
        async with stdio_client(server) as (reading, writing), ClientSession(reading, writing) as agent:
            started = await agent.initialize()
            listed = await agent.list_tools()
            called = await agent.call_tool("list_webhooks", {})
            return started, listed, called

    # A thread of its own: another test in this worker (the browser's sync API) may have left an
    # event loop running in this one, and anyio refuses to start a second.
    with ThreadPoolExecutor(max_workers=1) as own_thread:
        started, listed, called = own_thread.submit(anyio.run, session).result(timeout=120)
    assert started.serverInfo.name == "eventsapi"
    names = {tool.name for tool in listed.tools}
    assert "list_webhooks" in names and "create_webhook" not in names
    assert "list_listen_deliveries" in names and "replay_listen_delivery" not in names
    assert all(tool.annotations and tool.annotations.readOnlyHint for tool in listed.tools)
    assert called.isError is False
    assert called.structuredContent is not None and called.structuredContent["items"] == []


def test_a_client_that_closes_its_end_after_writing_still_gets_every_answer(served, pipeline):  # noqa: F811
    """A shell pipe (the README's walk) writes its requests and closes stdin at once."""
    lines = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18",
         "capabilities": {}, "clientInfo": {"name": "sh", "version": "1"}}},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
    ]  # fmt: skip
    answered = subprocess.run(
        [EVENTSAPI, "mcp", "--api-url", served, "--api-key", pipeline.stack.key(scopes=("read",))],
        input="".join(json.dumps(line) + "\n" for line in lines),
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    first, second = (json.loads(line) for line in answered.stdout.splitlines())
    assert first["id"] == 1 and second["id"] == 2
    assert "list_webhooks" in {tool["name"] for tool in second["result"]["tools"]}
