"""The gate is the only way out, read from the code: no module of the deployed code but the gate
uses the sender (events_core.delivery.sender), and none but the sender opens a socket or imports
an HTTP client. A new way out fails here before it can skip the gate's steps."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEPLOYED = [ROOT / "layers" / "common" / "events_core", ROOT / "functions"]
GATE = "layers/common/events_core/delivery/gate.py"
SENDER = "layers/common/events_core/delivery/sender.py"
NETGUARD = "layers/common/events_core/netguard.py"  # name resolution and address checks: no connection
# Requests to the operator's own infrastructure, never to a URL a tenant chose (as the AWS SDK's are):
# the span export posts to the collector the stack's TraceExportEndpoint parameter names.
OPERATOR_ENDPOINTS = {"layers/common/events_core/tracing_export.py"}

SENDER_MODULE = "events_core.delivery.sender"
# What the sender module offers that is not a way out: its result type and its header parsing.
SENDER_DATA = {"PostResult", "parse_retry_after"}
HTTP_CLIENTS = {"http.client", "urllib.request", "urllib3", "requests", "httpx", "aiohttp", "ssl", "smtplib", "ftplib"}
SOCKET_CALLS = {"socket", "create_connection", "connect", "connect_ex", "socketpair", "fromfd"}


def modules() -> list[tuple[str, ast.Module]]:
    found = []
    for top in DEPLOYED:
        for path in sorted(top.rglob("*.py")):
            if "/build/" in str(path) or "/.aws-sam/" in str(path):
                continue
            found.append((str(path.relative_to(ROOT)), ast.parse(path.read_text(), str(path))))
    return found


def ways_out(name: str, tree: ast.Module) -> list[str]:
    """What in one module could send a byte without the gate."""
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported = {alias.name for alias in node.names}
            if node.module == SENDER_MODULE and imported - SENDER_DATA and name != GATE:
                problems.append(f"{name}:{node.lineno} imports {sorted(imported - SENDER_DATA)} from the sender")
            if node.module == "events_core.delivery" and "sender" in imported and name != GATE:
                problems.append(f"{name}:{node.lineno} imports the sender module")
            if node.module.split(".")[0] == "socket" and name not in (SENDER, NETGUARD):
                problems.append(f"{name}:{node.lineno} imports from socket")
            if (
                (node.module in HTTP_CLIENTS or node.module.split(".")[0] in HTTP_CLIENTS - {"http"})
                and name != SENDER
                and name not in OPERATOR_ENDPOINTS
            ):
                problems.append(f"{name}:{node.lineno} imports an HTTP client ({node.module})")
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == SENDER_MODULE and name != GATE:
                    problems.append(f"{name}:{node.lineno} imports the sender module")
                if alias.name == "socket" and name not in (SENDER, NETGUARD):
                    problems.append(f"{name}:{node.lineno} imports socket")
                if alias.name in HTTP_CLIENTS and name != SENDER and name not in OPERATOR_ENDPOINTS:
                    problems.append(f"{name}:{node.lineno} imports an HTTP client ({alias.name})")
        if isinstance(node, ast.Call) and name != SENDER:
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            owner = func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else ""
            if owner == "socket" and called in SOCKET_CALLS:
                problems.append(f"{name}:{node.lineno} opens a socket (socket.{called})")
            if called in ("connect", "connect_ex", "create_connection") and owner != "socket":
                problems.append(f"{name}:{node.lineno} connects ({called})")
            if called == "post" and "sender" in owner.lower() and name != GATE:
                problems.append(f"{name}:{node.lineno} posts through a sender ({owner}.post)")
    return problems


def test_only_the_gate_calls_the_sender_and_only_the_sender_opens_a_socket():
    found = [problem for name, tree in modules() for problem in ways_out(name, tree)]
    assert found == [], "ways out that skip the gate:\n" + "\n".join(found)


def test_the_scan_sees_the_deployed_code_and_knows_a_way_out_when_it_sees_one():
    names = {name for name, _ in modules()}
    assert {GATE, SENDER, "functions/test_webhook/app.py"} <= names
    bypass = ast.parse(
        "from events_core.delivery.sender import sender\n"
        "import socket\n"
        "def diagnostic(config, url):\n"
        "    socket.create_connection(('example.com', 443))\n"
        "    return sender(config).post(url, b'{}', {})\n"
    )
    found = ways_out("layers/common/events_core/delivery/probe.py", bypass)
    assert [problem.split(" ", 1)[1] for problem in found] == [
        "imports ['sender'] from the sender",
        "imports socket",
        "opens a socket (socket.create_connection)",
    ]
