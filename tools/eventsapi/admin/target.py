"""Where an operator command acts: the local stack's emulator, or a deployed stack found by name."""

from dataclasses import dataclass, field
from typing import Any

import boto3

from eventsapi.local.template import physical_name
from eventsapi.local.wiring import STACK_NAME, emulator_session


@dataclass
class Target:
    session: boto3.Session
    endpoint_url: str | None
    outputs: dict[str, str]
    deployed: bool
    api_url: str | None = None  # the local API (its gateway's authorizer cache is flushed on revoke)
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
            "ApiKeysTableName": name("ApiKeysTable"),
            "WebhooksTableName": name("WebhooksTable"),
            "DeliveriesTableName": name("DeliveriesTable"),
            "SecretsKeyArn": f"alias/{name('SecretsKey')}",
            **{
                f"{queue}Url": sqs.get_queue_url(QueueName=name(queue))["QueueUrl"]
                for queue in ("EventsQueue", "DeliveryQueue", "EventsDeadLetterQueue", "DeliveryDeadLetterQueue")
            },
        }
        return cls(session, endpoint_url, outputs, deployed=False, api_url=api_url)

    @classmethod
    def stack(cls, name: str, region: str | None) -> "Target":
        session = boto3.Session(region_name=region) if region else boto3.Session()
        described = session.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]
        outputs = {item["OutputKey"]: item["OutputValue"] for item in described.get("Outputs", [])}
        return cls(session, None, outputs, deployed=True)
