"""The local stack's console output when something at its edge goes wrong: a port already taken
names that port, and a client that hangs up before its answer leaves one line, no traceback."""

import logging
import socket
import threading
import time
from http.server import ThreadingHTTPServer

from eventsapi import cli
from eventsapi.local.gateway import HttpAnswer
from eventsapi.local.runtime import _Handler


def _taken_port() -> socket.socket:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    return holder


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_taken_port_is_named_with_the_flag_that_moves_it(capsys):
    with _taken_port() as holder:
        taken = holder.getsockname()[1]
        assert cli.main(["run", "--port", str(taken), "--moto-port", str(_free_port())]) == 1
    said = capsys.readouterr().err
    assert f"port {taken} (--port) is already in use" in said
    assert "pick another with --port" in said
    assert "Traceback" not in said


class _SlowGateway:
    """Answers once the client has hung up, with more than a socket buffer holds."""

    def __init__(self) -> None:
        self.client_gone = threading.Event()

    def handle(self, method, path, headers, body, source):
        self.client_gone.wait(5)
        time.sleep(0.2)
        return HttpAnswer(200, {"Content-Type": "application/json"}, b"x" * 4_000_000, "NextListenDeliveries")


def test_a_client_that_hangs_up_leaves_one_line_not_a_traceback(capfd, caplog):
    gateway = _SlowGateway()
    handler = type("Handler", (_Handler,), {"gateway": gateway})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with caplog.at_level(logging.INFO, logger="eventsapi.local"):
            with socket.create_connection(server.server_address) as client:
                client.sendall(b"GET /v1/events/listen/x/next?wait=20 HTTP/1.1\r\nHost: local\r\n\r\n")
                time.sleep(0.1)
            gateway.client_gone.set()
            deadline = time.monotonic() + 5
            while not any("answer not sent" in r.getMessage() for r in caplog.records):
                assert time.monotonic() < deadline, "no line for the request whose client hung up"
                time.sleep(0.05)
    finally:
        server.shutdown()
        server.server_close()
    said = capfd.readouterr().err
    assert "Traceback" not in said
    assert "BrokenPipeError" not in said
