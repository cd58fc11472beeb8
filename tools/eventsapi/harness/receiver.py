"""A real webhook receiver on 127.0.0.1 for tests, the soak and benchmarks: records every POST and answers
as each path is told to (status, delay, any headers such as Retry-After, a body, a redirect, a
connection reset, or an answer dripped out a byte at a time)."""

import io
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int | None = None  # the status sent back; None when the connection was reset
    received_at: float = field(default_factory=time.monotonic)

    @property
    def accepted(self) -> bool:
        return self.answered is not None and 200 <= self.answered < 300


@dataclass
class Behaviour:
    status: int = 200
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    reset: bool = False
    body: bytes = b"ok"
    drip: float = 0.0  # seconds between the bytes of the answer (a slowloris receiver)
    answer: Callable[[bytes], bytes] | None = None  # the answer's body worked out from the request's


Chooser = Callable[[], Behaviour]


class Receiver:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.behaviours: dict[str, Behaviour | Chooser] = {}
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    behaviour = receiver.behaviours.get(self.path, Behaviour())
                if callable(behaviour):
                    chooser: Callable[..., Behaviour] = behaviour
                    behaviour = chooser(body) if getattr(chooser, "reads_body", False) else chooser()
                with receiver._lock:
                    receiver.received.append(
                        Received(
                            self.path, dict(self.headers.items()), body, None if behaviour.reset else behaviour.status
                        )
                    )
                if behaviour.delay:
                    time.sleep(behaviour.delay)
                if behaviour.reset:
                    # Linger 0 makes close() send a TCP RST: the receiver vanishes mid-request.
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.rfile.close()
                    self.wfile.close()
                    self.connection.close()
                    self.wfile = io.BytesIO()  # the server's final flush goes nowhere
                    self.close_connection = True
                    return
                if behaviour.drip:
                    head = f"HTTP/1.1 {behaviour.status} OK\r\nContent-Length: {len(behaviour.body)}\r\n\r\n"
                    for byte in head.encode() + behaviour.body:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(behaviour.drip)
                    return
                if behaviour.answer is not None:
                    behaviour = Behaviour(
                        behaviour.status, behaviour.delay, behaviour.headers, body=behaviour.answer(body)
                    )
                self.send_response(behaviour.status)
                for name, value in behaviour.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(behaviour.body)))
                self.end_headers()
                self.wfile.write(behaviour.body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address) -> None:
                """A client that hangs up (its timeout, a reset) is part of the tests, not an error."""

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def behave(self, path: str, chooser: Chooser | None = None, **kwargs) -> str:
        """Fix how `path` answers, or give a chooser that decides anew for every request."""
        self.behaviours[path] = chooser or Behaviour(**kwargs)
        return self.url(path)

    def behave_by_body(self, path: str, decide: Callable[[bytes], Behaviour]) -> str:
        """`decide` answers each request from its body (a receiver failing one key's posts)."""

        def chooser(body: bytes) -> Behaviour:
            return decide(body)

        chooser.reads_body = True  # type: ignore[attr-defined]
        self.behaviours[path] = chooser  # type: ignore[assignment]
        return self.url(path)

    def at(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path == path]

    def __enter__(self) -> "Receiver":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()
