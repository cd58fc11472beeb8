"""What the local runtime and the in-process setup share: where the template is, the local
parameter overrides and credentials, and how the template's functions and SQS event sources are
wired up from it."""

import functools
import os
from pathlib import Path
from typing import Any

import boto3
from botocore.loaders import Loader, create_loader

from events_core import aws
from events_core.config import settings
from eventsapi.local.access_logs import wire_access_logs
from eventsapi.local.gateway import LocalGateway
from eventsapi.local.invoke import LocalFunction
from eventsapi.local.provision import Provisioner
from eventsapi.local.sqs_source import SqsEventSource
from eventsapi.local.template import Template

ROOT = Path(__file__).resolve().parents[3]
TEMPLATE = ROOT / "template.yaml"
STACK_NAME = "events-api-local"
REGION = "us-east-1"
# How the emulator's process knows who started it, to exit with them (eventsapi.local.moto_server).
EMULATOR_PARENT_ENV = "EVENTSAPI_PARENT_PID"
# Local runs admit http:// receivers on loopback and use a short retry schedule.
LOCAL_PARAMETERS = {
    # The only target where the local-only parameters below may change (the template's Rules).
    "DeployTarget": "local-emulator",
    "AllowHttpUrls": "true",
    "AllowedPrivateNetworks": "127.0.0.0/8,::1/128",
    "LogLevel": "WARNING",
    # 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h become about 1 s, 1 s, 2 s, 8 s, 18 s, 36 s, 36 s.
    "RetryDelayScale": "0.001",
    # A webhook created or changed a moment ago receives the very next event.
    "FanoutCacheSeconds": "0",
}
# What the operator commands must know of a local stack's parameters (a deployed stack's are in
# describe_stacks): stated as tags on its webhooks table, which lives and dies with the emulator.
STATED_PARAMETERS = ("EndpointVerification",)
PARAMETER_TAG = "eventsapi:parameter:"
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


@functools.cache
def _models() -> Loader:
    return create_loader()


def shared_models(session: boto3.Session) -> boto3.Session:
    """The session reads AWS service models through this process's one loader: each stack the tests
    stand up would otherwise parse the same JSON models again (a third of a stack's setup)."""
    session._session.register_component("data_loader", _models())
    return session


def emulator_session() -> boto3.Session:
    """The emulator's dummy credentials: never whatever AWS account the shell is set up for."""
    return boto3.Session(
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=REGION,
    )


def local_parameters(template_path: Path = TEMPLATE, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The local defaults, for the parameters this template declares, plus explicit overrides."""
    declared = Template(template_path, stack_name=STACK_NAME, region=REGION).parameters
    return {**{k: v for k, v in LOCAL_PARAMETERS.items() if k in declared}, **(extra or {})}


def emulator_environment(endpoint: str | None) -> dict[str, str]:
    """Dummy credentials, no tracing or metrics, and the emulator's endpoint (None: in-process moto)."""
    return {
        **FAKE_CREDENTIALS,
        **({"AWS_ENDPOINT_URL": endpoint} if endpoint else {}),
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }


def stand_up(template: Template) -> tuple[dict[str, LocalFunction], LocalGateway]:
    """What a deployment does, on the emulator this process points at: every resource the template
    declares, the functions' environment (this process's), the functions, the API in front."""
    Provisioner(template, shared_models(boto3.Session(region_name=template.region))).provision()
    os.environ.update(function_environment(template))
    settings.cache_clear()  # the functions read the environment just set
    aws.reset()
    boto3.setup_default_session(region_name=REGION)
    shared_models(boto3.DEFAULT_SESSION)
    state_parameters(template, settings().webhooks_table, boto3.client("dynamodb", region_name=template.region))
    functions = local_functions(template)
    api = next(iter(template.rest_api_logical_ids()))
    gateway = LocalGateway(template, functions, api)
    wire_access_logs(template, functions, gateway)  # delivered at once until the runtime batches them
    return functions, gateway


def state_parameters(template: Template, webhooks_table: str, dynamodb: Any) -> None:
    """Tag the webhooks table (the stack's own, or the one it adopted) with the parameters operator
    commands ask about."""
    arn = dynamodb.describe_table(TableName=webhooks_table)["Table"]["TableArn"]
    tags = [{"Key": PARAMETER_TAG + name, "Value": template.parameters[name]} for name in STATED_PARAMETERS]
    dynamodb.tag_resource(ResourceArn=arn, Tags=tags)


def stated_parameters(dynamodb: Any, table_name: str) -> dict[str, str]:
    """The parameters a running local stack stated (empty for one started before it did)."""
    arn = dynamodb.describe_table(TableName=table_name)["Table"]["TableArn"]
    tags = dynamodb.list_tags_of_resource(ResourceArn=arn).get("Tags", [])
    return {
        tag["Key"].removeprefix(PARAMETER_TAG): tag["Value"] for tag in tags if tag["Key"].startswith(PARAMETER_TAG)
    }


def function_environment(template: Template) -> dict[str, str]:
    """The union of every function's environment. Handlers share this process, so two functions
    may not give one variable different values (the template keeps settings in Globals)."""
    merged: dict[str, str] = {}
    for logical_id in template.function_logical_ids():
        for name, raw in template.function(logical_id).environment.items():
            value = str(template.resolve(raw))
            if merged.setdefault(name, value) != value:
                raise ValueError(f"{logical_id} sets {name}={value!r}, another function {merged[name]!r}")
    return merged


def local_functions(template: Template) -> dict[str, LocalFunction]:
    return {
        logical_id: LocalFunction(
            template.function(logical_id),
            physical_name=template.physical[logical_id].ref,
            arn=template.physical[logical_id].attributes["Arn"],
        )
        for logical_id in template.function_logical_ids()
    }


def event_sources(template: Template, functions: dict[str, LocalFunction], sqs: Any) -> list[SqsEventSource]:
    """The template's SQS event-source mappings, as pollers (not yet started)."""
    sources = []
    for props in template.of_type("AWS::Lambda::EventSourceMapping").values():
        function = functions[template.logical_id_of(props["FunctionName"])]
        queue = template.physical[template.logical_id_of(props["EventSourceArn"])]
        concurrency = int(template.resolve(props.get("ScalingConfig", {})).get("MaximumConcurrency", 2))
        sources.append(
            SqsEventSource(
                sqs,
                queue_url=queue.ref,
                queue_arn=queue.attributes["Arn"],
                function=function,
                batch_size=int(props.get("BatchSize", 10)),
                report_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
                region=template.region,
                # As many concurrent invocations as the mapping allows, within this machine's means.
                pollers=max(1, min(concurrency, 2)),
            )
        )
    return sources
