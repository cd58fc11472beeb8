"""A tiny OTLP/HTTP traces receiver on 127.0.0.1 (JSON encoding, what events_core.tracing_export
sends): it keeps every span it is sent, flattened, for assertions."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def _value(encoded: dict[str, Any]) -> Any:
    for kind in ("stringValue", "boolValue", "doubleValue"):
        if kind in encoded:
            return encoded[kind]
    if "intValue" in encoded:
        return int(encoded["intValue"])
    return None


class OtlpReceiver:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        received = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                ok = self.path == "/v1/traces" and self.headers.get("Content-Type") == "application/json"
                if ok:
                    received.append(json.loads(body))
                self.send_response(200 if ok else 415)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def spans(self) -> list[dict[str, Any]]:
        """Every span received: name, traceId, spanId, parentSpanId, attributes (plain values), times."""
        found = []
        for request in self.requests:
            for resource in request["resourceSpans"]:
                for scope in resource["scopeSpans"]:
                    for span in scope["spans"]:
                        found.append(
                            {
                                **span,
                                "attributes": {item["key"]: _value(item["value"]) for item in span["attributes"]},
                                "service": {
                                    item["key"]: _value(item["value"]) for item in resource["resource"]["attributes"]
                                }.get("service.name"),
                            }
                        )
        return found

    def __enter__(self) -> "OtlpReceiver":
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()
