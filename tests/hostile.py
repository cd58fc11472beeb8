"""A hostile webhook receiver on 127.0.0.1, at the socket level: each path behaves as badly as a
receiver can (drips its answer, hangs, closes kept-alive connections, talks too much, stalls TLS,
answers with odd headers). What a well-behaved receiver does lives in eventsapi.harness.receiver."""

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

Behaviour = Callable[[socket.socket, bytes], None]


def read_request(conn: socket.socket) -> bytes:
    """The request line, headers and body (by Content-Length), or what arrived before the peer closed."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def drip(text: bytes, every: float) -> Behaviour:
    """Send `text` one byte at a time, `every` seconds apart (a slowloris in reverse)."""

    def behave(conn: socket.socket, _: bytes) -> None:
        for byte in text:
            conn.sendall(bytes([byte]))
            time.sleep(every)

    return behave


def answer(
    status: int = 200, headers: dict[str, str] | None = None, body: bytes = b"ok", close: bool = False
) -> Behaviour:
    """A proper answer; with `close`, the connection is closed after it without saying so."""

    def behave(conn: socket.socket, _: bytes) -> None:
        lines = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)  # UTF-8 bytes, as a hostile one may
        if close:
            raise ConnectionAbortedError  # the server closes the socket

    return behave


def hang(conn: socket.socket, _: bytes) -> None:
    time.sleep(30)


def firehose(conn: socket.socket, _: bytes) -> None:
    """An endless answer body."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n")
    block = b"x" * 65536
    for _ in range(16000):
        conn.sendall(block)


@dataclass
class Hostile:
    behaviours: dict[str, Behaviour] = field(default_factory=dict)
    requests: list[tuple[str, bytes]] = field(default_factory=list)
    connections: int = 0

    def __post_init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def at(self, path: str) -> list[bytes]:
        return [request for found, request in self.requests if found == path]

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            while True:
                try:
                    request = read_request(conn)
                except OSError:
                    return
                if not request:
                    return
                path = request.split(b" ", 2)[1].decode()
                self.requests.append((path, request))
                try:
                    self.behaviours.get(path, answer())(conn, request)
                except OSError:
                    return

    def close(self) -> None:
        self._stop.set()
        self.server.close()

    def __enter__(self) -> "Hostile":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


class StalledTls:
    """Accepts TCP and never says a word: a TLS client waits for a ServerHello that never comes."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self) -> None:
        for conn in self.held:
            conn.close()
        self.server.close()
