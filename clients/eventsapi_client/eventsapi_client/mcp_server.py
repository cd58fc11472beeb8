"""An MCP server for agents, on stdio, built on the official `mcp` SDK (major 1; 2.x renamed the
server class): the developer operations as tools, the event catalogue as resources, and a prompt
that walks "why is my webhook failing?" from the data.

    eventsapi mcp                         # or: eventsapi-mcp, python -m eventsapi_client.mcp_server
    EVENTS_API_URL / EVENTS_API_KEY (or --api-url / --api-key) as every other command

The SDK is the `mcp` extra (`pip install 'eventsapi-client[mcp]'`): only this module imports it,
so the client package's base install keeps no dependency. What is offered (tools, their input
schemas, the prompt's text) is eventsapi_client.mcp_tools; the SDK's low-level server speaks the
protocol, with each tool's schema exactly as declared there. Scoped by the key: a key without the
write scope lists no tool that writes (and calling one is refused); tools that delete or replace
carry `destructiveHint`.
"""

import argparse
import json
import sys
from collections.abc import Callable, Iterable
from typing import Any

import anyio
import anyio.to_thread
from mcp import types
from mcp.server.lowlevel import Server
from mcp.server.lowlevel.helper_types import ReadResourceContents
from mcp.server.stdio import stdio_server
from mcp.shared.exceptions import McpError
from mcp.shared.message import SessionMessage

from eventsapi_client.client import Client
from eventsapi_client.errors import ClientError
from eventsapi_client.mcp_tools import (
    INSTRUCTIONS,
    PROMPT,
    PROMPT_DESCRIPTION,
    SERVER_NAME,
    SERVER_VERSION,
    TOOLS,
    TYPE_URI,
    Tool,
    failing_story,
    tool_operations,
)

__all__ = ["TOOLS", "Tool", "build", "main", "serve", "tool_operations"]


class _Session:
    """The API client of one MCP session, made on first use: `initialize` answers even when the
    key is missing (the error then comes with the first call), and the key's scope is read once."""

    def __init__(self, make_client: Callable[[], Client]) -> None:
        self._make_client = make_client
        self._api: Client | None = None
        self._may_write: bool | None = None

    @property
    def api(self) -> Client:
        if self._api is None:
            self._api = self._make_client()
        return self._api

    def may_write(self) -> bool:
        if self._may_write is None:
            self._may_write = self.api.can_write()
        return self._may_write

    def tools(self) -> list[Tool]:
        writes = self.may_write()
        return [tool for tool in TOOLS if writes or not tool.writes]


def _invalid(message: str) -> McpError:
    return McpError(types.ErrorData(code=types.INVALID_PARAMS, message=message))


async def _blocking(call: Callable[[], Any]) -> Any:
    """The client is synchronous (urllib): its calls run off the event loop; an API error, no key
    or a bad URL is said to the agent as an invalid-params error, not a crash."""
    try:
        return await anyio.to_thread.run_sync(call)
    except (ClientError, ValueError) as error:
        raise _invalid(str(error)) from None


def _tool_error(text: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], isError=True)


def build(make_client: Callable[[], Client]) -> Server:
    """The SDK's server with every handler of this one registered."""
    session = _Session(make_client)
    server: Server = Server(SERVER_NAME, version=SERVER_VERSION, instructions=INSTRUCTIONS)

    @server.list_tools()
    async def list_tools() -> list[types.Tool]:
        listed = await _blocking(session.tools)
        return [types.Tool.model_validate(tool.listed()) for tool in listed]

    @server.call_tool()
    async def call_tool(name: str, arguments: dict[str, Any]) -> types.CallToolResult:
        tool = next((t for t in TOOLS if t.name == name), None)
        if tool is None:
            return _tool_error(f"no tool {name!r}")
        if tool.writes and not await _blocking(session.may_write):
            return _tool_error(f"{name} writes, and this API key lacks the 'write' scope")
        try:
            result = await anyio.to_thread.run_sync(lambda: tool.call(session.api, dict(arguments)))
        except ClientError as error:
            return _tool_error(str(error))
        except (KeyError, TypeError, ValueError) as error:
            return _tool_error(f"bad arguments for {name}: {error}")
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=json.dumps(result, ensure_ascii=False))],
            structuredContent=result if isinstance(result, dict) else {"items": result},
            isError=False,
        )

    @server.list_resources()
    async def list_resources() -> list[types.Resource]:
        names = await _blocking(session.api.event_types)
        return [
            types.Resource(
                uri=TYPE_URI + name,  # pydantic parses the URI
                name=name,
                description=f"The event type {name}: its data's JSON Schema and an example",
                mimeType="application/json",
            )
            for name in names
        ]

    @server.read_resource()
    async def read_resource(uri: Any) -> Iterable[ReadResourceContents]:
        address = str(uri)
        if not address.startswith(TYPE_URI):
            raise _invalid(f"no resource {address!r}; the catalogue's are {TYPE_URI}<type>")
        declared = await _blocking(lambda: session.api.event_type(address.removeprefix(TYPE_URI)))
        return [ReadResourceContents(json.dumps(declared, ensure_ascii=False), "application/json")]

    @server.list_prompts()
    async def list_prompts() -> list[types.Prompt]:
        argument = types.PromptArgument(name="webhook_id", description="the webhook's id", required=True)
        return [types.Prompt(name=PROMPT, description=PROMPT_DESCRIPTION, arguments=[argument])]

    @server.get_prompt()
    async def get_prompt(name: str, arguments: dict[str, str] | None) -> types.GetPromptResult:
        if name != PROMPT:
            raise _invalid(f"no prompt {name!r}; there is {PROMPT!r}")
        webhook_id = (arguments or {}).get("webhook_id")
        if not webhook_id:
            raise _invalid("the prompt needs webhook_id")
        story = await _blocking(lambda: failing_story(session.api, webhook_id))
        return types.GetPromptResult(
            description=f"Why webhook {webhook_id} is failing",
            messages=[types.PromptMessage(role="user", content=types.TextContent(type="text", text=story))],
        )

    return server


DRAIN_SECONDS = 60.0  # at most this long, after stdin closes, for the requests already read


async def _answering_before_closing(server: Server) -> None:
    """The SDK's server over stdio, except that stdin closing does not cancel the requests already
    read: a client that writes its requests and closes its end (a shell pipe) still gets every
    answer. The SDK's loop cancels in-flight handlers when its read stream ends, so the read stream
    it is given ends only once each request read has been answered."""
    pending: set[Any] = set()
    async with stdio_server() as (reading, writing):
        to_server, server_reads = anyio.create_memory_object_stream[SessionMessage | Exception](0)
        server_writes, to_client = anyio.create_memory_object_stream[SessionMessage](0)

        async def inbound() -> None:
            async with to_server:
                async for message in reading:
                    if isinstance(message, SessionMessage) and isinstance(message.message.root, types.JSONRPCRequest):
                        pending.add(message.message.root.id)
                    await to_server.send(message)
                with anyio.move_on_after(DRAIN_SECONDS):
                    while pending:
                        await anyio.sleep(0.01)

        async def outbound() -> None:
            async with to_client:
                async for message in to_client:
                    if isinstance(message.message.root, types.JSONRPCResponse | types.JSONRPCError):
                        pending.discard(message.message.root.id)
                    await writing.send(message)

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(inbound)
            tasks.start_soon(outbound)
            await server.run(server_reads, server_writes, server.create_initialization_options())
            tasks.cancel_scope.cancel()
        await writing.aclose()  # stdio's writer ends with it, as when the SDK's session closes it


def serve(api_url: str | None, api_key: str | None) -> None:
    """Answer MCP messages on stdin until it closes (and every request read has its answer)."""
    anyio.run(_answering_before_closing, build(lambda: Client(api_url, api_key)))


def main(argv: list[str] | None = None) -> int:
    options = argparse.ArgumentParser(prog="eventsapi mcp", description=(__doc__ or "").split("\n\n")[0])
    options.add_argument("--api-url")
    options.add_argument("--api-key")
    args = options.parse_args(argv)
    serve(args.api_url, args.api_key)
    return 0


if __name__ == "__main__":
    sys.exit(main())
