"""The whole template, locally, in one process: moto server as AWS, every table/queue/bus/rule the
template declares, the API Gateway stand-in on HTTP, and the SQS event sources, all invoking the
same handler code through the template's CodeUri and Handler. No Docker."""

import logging
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3

from eventsapi.local.gateway import LocalGateway, printable
from eventsapi.local.schedules import Schedule, schedules
from eventsapi.local.sqs_source import SqsEventSource
from eventsapi.local.template import Template
from eventsapi.local.wiring import (
    EMULATOR_PARENT_ENV,
    REGION,
    STACK_NAME,
    TEMPLATE,
    emulator_environment,
    event_sources,
    local_parameters,
    stand_up,
)

log = logging.getLogger("eventsapi.local")


class _Handler(BaseHTTPRequestHandler):
    gateway: LocalGateway
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as two writes; no 40 ms delayed-ACK stall

    def _serve(self) -> None:
        started = time.perf_counter()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        answer = self.gateway.handle(self.command, self.path, list(self.headers.items()), body, self.client_address[0])
        try:
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)
            gone = ""
        except (BrokenPipeError, ConnectionResetError):
            # The client hung up first (a stopped `eventsapi listen` mid long poll): the request was
            # handled, only its answer has no one to read it. One line, not a traceback.
            self.close_connection = True
            gone = "  (the client had gone; answer not sent)"
        log.info(
            "%s %s → %d  %s  %.1f ms%s",
            printable(self.command, 16),
            printable(without_tokens(self.path)),  # a client chose it: never raw control bytes on the console
            answer.status,
            answer.function,
            (time.perf_counter() - started) * 1000,
            gone,
        )

    def __getattr__(self, name: str):
        # Every method, TRACE and the like included, goes to the gateway, which answers as API Gateway would.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def log_message(self, format: str, *args: object) -> None:
        """One readable line per request is written by _serve instead."""


_SINGLE_USE = re.compile(r"([?&]token=)[^&#]*")


def without_tokens(path: str) -> str:
    """A request line as the console shows it: single-use tokens (the verify link's) left out."""
    return _SINGLE_USE.sub(r"\1[redacted]", path)


class PortTaken(OSError):
    """One of the two ports the stack listens on is in use: which one, and the flag that moves it."""

    def __init__(self, port: int, flag: str, cause: OSError):
        super().__init__(f"port {port} ({flag}) is already in use: {cause.strerror or cause}")
        self.port = port
        self.flag = flag


class LocalRuntime:
    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        api_port: int = 3000,
        moto_port: int = 5000,
        parameters: dict[str, str] | None = None,
        template_path: Path = TEMPLATE,
        pollers: bool = True,
        on_emulator_exit: Callable[[str], None] | None = None,
    ):
        """`pollers=False`: no SQS event sources (a benchmark invokes the functions itself).
        `on_emulator_exit(reason)` is called once if the emulator's process ends before `stop()`."""
        self.host = host
        self.pollers = pollers
        self.api_port = api_port
        self.moto_port = moto_port
        self.template_path = template_path
        # Verify links point at this run's API (never at a request's Host header).
        self.parameters = local_parameters(template_path, {"VerifyLinkBase": self.api_url, **(parameters or {})})
        self.sources: list[SqsEventSource] = []
        self.schedules: list[Schedule] = []
        self._moto: subprocess.Popen | None = None
        self._http: ThreadingHTTPServer | None = None
        self._stopping = threading.Event()
        self._on_emulator_exit = on_emulator_exit

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.api_port}"

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.moto_port}"

    def _check_ports_free(self) -> None:
        for port, flag in ((self.moto_port, "--moto-port"), (self.api_port, "--port")):
            if port:
                with socket.socket() as probe:
                    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as both servers do
                    try:
                        probe.bind((self.host, port))
                    except OSError as error:
                        raise PortTaken(port, flag, error) from error

    def _start_moto(self) -> None:
        """moto server in a child process: the emulator gets a core of its own (the GIL is per process)."""
        if not self.moto_port:
            with socket.socket() as probe:
                probe.bind((self.host, 0))
                self.moto_port = probe.getsockname()[1]
        self._moto = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [sys.executable, "-m", "eventsapi.local.moto_server", "-H", self.host, "-p", str(self.moto_port)],
            env={**os.environ, EMULATOR_PARENT_ENV: str(os.getpid())},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._moto.poll() is not None:
                raise OSError(f"moto server exited with {self._moto.returncode} (is port {self.moto_port} free?)")
            try:
                with socket.create_connection((self.host, self.moto_port), timeout=0.2):
                    threading.Thread(
                        target=self._watch_emulator, args=(self._moto,), name="emulator-watch", daemon=True
                    ).start()
                    return
            except OSError:
                time.sleep(0.05)
        raise OSError(f"moto server did not listen on {self.endpoint} within 30 s")

    def _watch_emulator(self, emulator: subprocess.Popen) -> None:
        """Say once that the emulator is gone (killed, crashed) rather than let every poller fail on it."""
        code = emulator.wait()
        if self._stopping.is_set():
            return
        for source in self.sources:
            source.stop_soon()
        reason = f"moto server, pid {emulator.pid}, exited with code {code}"
        if self._on_emulator_exit is not None:
            self._on_emulator_exit(reason)
        else:
            log.error("the AWS emulator (%s) is gone", reason)

    def start(self) -> "LocalRuntime":
        self._check_ports_free()
        for noisy in ("werkzeug", "botocore", "boto3", "urllib3"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
        self._start_moto()
        try:
            return self._start_the_rest()
        except BaseException:
            self.stop()  # never leave the emulator's process behind
            raise

    def _start_the_rest(self) -> "LocalRuntime":
        os.environ.update(emulator_environment(self.endpoint))
        self.template = Template(self.template_path, stack_name=STACK_NAME, region=REGION, overrides=self.parameters)
        self.functions, self.gateway = stand_up(self.template)
        handler = type("Handler", (_Handler,), {"gateway": self.gateway})
        self._http = ThreadingHTTPServer((self.host, self.api_port), handler)
        self.api_port = self._http.server_address[1]
        threading.Thread(target=self._http.serve_forever, name="local-api", daemon=True).start()
        if self.pollers:
            self._start_event_sources()
        self.gateway.log_delivery.start()  # access-log lines reach the ingest in batches, as CloudWatch Logs sends them
        return self

    def _start_event_sources(self) -> None:
        self.sources = event_sources(self.template, self.functions, boto3.client("sqs", region_name=REGION))
        for source in self.sources:
            source.start()
        self.schedules = schedules(self.template, self.functions)
        for schedule in self.schedules:
            schedule.start()

    def stop(self) -> None:
        self._stopping.set()
        for source in self.sources:
            source.stop()
        for schedule in self.schedules:
            schedule.stop()
        gateway = getattr(self, "gateway", None)
        if gateway is not None and gateway.log_delivery is not None:
            gateway.log_delivery.stop()
        if self._http:
            self._http.shutdown()
            self._http.server_close()
        if self._moto:
            self._moto.terminate()
            self._moto.wait(timeout=10)
