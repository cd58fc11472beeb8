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
from eventsapi.local.provision import Provisioner
from eventsapi.local.template import Template
from eventsapi.local.wiring import (
    FAKE_CREDENTIALS,
    REGION,
    STACK_NAME,
    TEMPLATE,
    function_environment,
    local_functions,
)


@dataclass
class InProcessStack:
    template: Template
    functions: dict[str, LocalFunction]
    gateway: LocalGateway

    def physical(self, logical_id: str) -> str:
        return self.template.physical[logical_id].ref


def _isolated_environment() -> dict[str, str]:
    """Dummy credentials and no endpoint: nothing here can reach a real AWS account."""
    return {
        **FAKE_CREDENTIALS,
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }


@contextmanager
def in_process_stack(parameters: Mapping[str, str] | None = None) -> Iterator[InProcessStack]:
    """template.yaml with `parameters` overriding its defaults (production defaults otherwise)."""
    make_dynamodb_writes_atomic()
    saved = dict(os.environ)
    os.environ.update(_isolated_environment())
    os.environ.pop("AWS_ENDPOINT_URL", None)
    try:
        with mock_aws():
            template = Template(TEMPLATE, stack_name=STACK_NAME, region=REGION, overrides=dict(parameters or {}))
            Provisioner(template).provision()
            os.environ.update(function_environment(template))
            settings.cache_clear()
            aws.reset()
            boto3.setup_default_session(region_name=REGION)
            functions = local_functions(template)
            api_id = next(iter(template.of_type("AWS::Serverless::Api")))
            yield InProcessStack(template, functions, LocalGateway(template, functions, api_id))
    finally:
        aws.reset()
        settings.cache_clear()
        boto3.DEFAULT_SESSION = None
        os.environ.clear()
        os.environ.update(saved)
