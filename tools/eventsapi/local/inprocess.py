"""The template on in-process moto (`mock_aws`): every resource it declares provisioned, every
function loadable through its CodeUri and Handler, and its API behind the local gateway. The one
setup the integration tests and the benchmarks share; the process environment is restored after."""

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import boto3
from moto import mock_aws

from events_core import aws
from events_core.config import settings
from eventsapi.local.atomic import make_dynamodb_writes_atomic
from eventsapi.local.gateway import LocalGateway
from eventsapi.local.invoke import LocalFunction
from eventsapi.local.template import Template
from eventsapi.local.wiring import REGION, STACK_NAME, TEMPLATE, emulator_environment, stand_up


@dataclass
class InProcessStack:
    template: Template
    functions: dict[str, LocalFunction]
    gateway: LocalGateway

    def physical(self, logical_id: str) -> str:
        return self.template.physical[logical_id].ref


@contextmanager
def in_process_stack(parameters: Mapping[str, str] | None = None) -> Iterator[InProcessStack]:
    """template.yaml with `parameters` overriding its defaults (production defaults otherwise)."""
    make_dynamodb_writes_atomic()
    saved = dict(os.environ)
    os.environ.update(emulator_environment(None))  # dummy credentials, no endpoint: never a real account
    os.environ.pop("AWS_ENDPOINT_URL", None)
    try:
        with mock_aws():
            template = Template(TEMPLATE, stack_name=STACK_NAME, region=REGION, overrides=dict(parameters or {}))
            functions, gateway = stand_up(template)
            yield InProcessStack(template, functions, gateway)
    finally:
        aws.reset()
        settings.cache_clear()
        boto3.DEFAULT_SESSION = None
        os.environ.clear()
        os.environ.update(saved)
