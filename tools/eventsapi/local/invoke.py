"""Runs a template function in this process, as Lambda would: its CodeUri and Handler, its
environment, a context object. Like Lambda, an execution environment (here: one loaded instance of
the handler module) serves one invocation at a time and is reused warm; concurrent invocations get
environments of their own, so module-level state is never shared by two invocations at once."""

import importlib.util
import itertools
import threading
import time
import uuid
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from eventsapi.local.template import FunctionSpec


@dataclass
class LambdaContext:
    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    timeout_seconds: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class LocalFunction:
    def __init__(self, spec: FunctionSpec, physical_name: str, arn: str):
        self.spec = spec
        self.physical_name = physical_name
        self.arn = arn
        self._idle: list[ModuleType] = []
        self._lock = threading.Lock()
        self._serial = itertools.count()

    def _new_environment(self) -> ModuleType:
        """A cold start: the handler module loaded afresh from CodeUri."""
        path = self.spec.module_path
        if not path.is_file():
            raise FileNotFoundError(f"{self.spec.logical_id}: handler module {path} does not exist")
        name = f"lambda_{self.spec.logical_id}_{next(self._serial)}"
        module_spec = importlib.util.spec_from_file_location(name, path)
        if module_spec is None or module_spec.loader is None:
            raise ImportError(f"{self.spec.logical_id}: cannot load {path}")
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
        return module

    def _handler(self, module: ModuleType) -> Any:
        handler = getattr(module, self.spec.attribute, None)
        if not callable(handler):
            raise AttributeError(
                f"{self.spec.logical_id}: {self.spec.handler} is not a function in {self.spec.module_path}"
            )
        return handler

    def context(self) -> LambdaContext:
        return LambdaContext(
            function_name=self.physical_name,
            memory_limit_in_mb=self.spec.memory_size,
            invoked_function_arn=self.arn,
            timeout_seconds=self.spec.timeout,
        )

    def invoke(self, event: dict) -> Any:
        with self._lock:
            module = self._idle.pop() if self._idle else None
        if module is None:
            module = self._new_environment()
        try:
            return self._handler(module)(event, self.context())
        finally:
            with self._lock:
                self._idle.append(module)
