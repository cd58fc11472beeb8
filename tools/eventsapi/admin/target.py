"""Where an operator command acts: the local stack's emulator, or a deployed stack found by name."""

from dataclasses import dataclass, field
from typing import Any

import boto3

from events_core.data_map import TABLES
from eventsapi.local.template import Template, physical_name
from eventsapi.local.wiring import STACK_NAME, emulator_session, stated_parameters

LOCAL_TABLES = tuple(store.logical_id for store in TABLES)  # every table the data map declares
LOCAL_QUEUES = (
    "EventsQueue",
    "DeliveryQueue",
    "EventsDeadLetterQueue",
    "DeliveryDeadLetterQueue",
    "EventsFaultQueue",
    "DeliveryFaultQueue",
)
LOCAL_BUS = "platform-events"  # the template's default EventBusName, which `eventsapi run` keeps


@dataclass
class Target:
    session: boto3.Session
    endpoint_url: str | None
    outputs: dict[str, str]
    deployed: bool
    api_url: str | None = None  # the local API (its gateway's authorizer cache is flushed on revoke)
    parameters: dict[str, str] = field(default_factory=dict)  # the stack's, as far as known
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(service, endpoint_url=self.endpoint_url)
        return self._clients[service]

    def table(self, output: str) -> Any:
        return self.session.resource("dynamodb", endpoint_url=self.endpoint_url).Table(self.outputs[output])

    @classmethod
    def local(cls, endpoint_url: str, api_url: str | None = None) -> "Target":
        """The emulator, with its dummy credentials (and the local API in front of it, if known)."""
        session = emulator_session()

        def name(logical_id: str) -> str:
            return physical_name(STACK_NAME, logical_id)

        sqs = session.client("sqs", endpoint_url=endpoint_url)
        outputs = {
            **{f"{table}Name": name(table) for table in LOCAL_TABLES},
            "EventBusName": LOCAL_BUS,
            **{f"{queue}Url": sqs.get_queue_url(QueueName=name(queue))["QueueUrl"] for queue in LOCAL_QUEUES},
            "SecretsKeyArn": f"alias/{name('SecretsKey')}",
        }
        parameters = stated_parameters(session.client("dynamodb", endpoint_url=endpoint_url), name("WebhooksTable"))
        return cls(session, endpoint_url, outputs, deployed=False, api_url=api_url, parameters=parameters)

    @classmethod
    def of_template(cls, template: Template, session: boto3.Session, endpoint_url: str | None = None) -> "Target":
        """A provisioned local template, its outputs resolved as the deployed stack's would be."""
        outputs = {
            name: str(template.resolve(spec["Value"]))
            for name, spec in template.raw.get("Outputs", {}).items()
            if "Condition" not in spec or template.condition(spec["Condition"])
        }
        return cls(session, endpoint_url, outputs, deployed=False, parameters=dict(template.parameters))

    @classmethod
    def account(cls, region: str | None) -> "Target":
        """The AWS account the shell's credentials name, before any stack exists there."""
        session = boto3.Session(region_name=region) if region else boto3.Session()
        return cls(session, None, {}, deployed=True)

    @classmethod
    def stack(cls, name: str, region: str | None) -> "Target":
        session = boto3.Session(region_name=region) if region else boto3.Session()
        described = session.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]
        outputs = {item["OutputKey"]: item["OutputValue"] for item in described.get("Outputs", [])}
        parameters = {item["ParameterKey"]: item.get("ParameterValue", "") for item in described.get("Parameters", [])}
        return cls(session, None, outputs, deployed=True, parameters=parameters)
