"""The producers' package: it checks events against the catalogue before sending anything, puts
them in PutEvents calls of at most 10 entries, retries the entries EventBridge refused, and
writes the Detail the stack's envelope parser reads."""

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from events_core.delivery.envelope import parse_envelope
from eventsapi_publisher import Event, InvalidEventData, Publisher, PublishFailed, entry, find

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = find("tool.executed").example  # type: ignore[union-attr]


class FakeEvents:
    """PutEvents that refuses the entries `refuse` says, call by call."""

    def __init__(self, refuse=lambda call, index, item: False):
        self.calls: list[list[dict]] = []
        self.refuse = refuse

    def put_events(self, Entries):
        self.calls.append(Entries)
        results = []
        for index, item in enumerate(Entries):
            if self.refuse(len(self.calls), index, item):
                results.append({"ErrorCode": "ThrottlingException", "ErrorMessage": "slow down"})
            else:
                results.append({"EventId": f"id-{len(self.calls)}-{index}"})
        return {"FailedEntryCount": sum("ErrorCode" in r for r in results), "Entries": results}


def publisher(client) -> Publisher:
    return Publisher("platform-events", client=client, sleep=lambda _: None)


def test_an_entry_is_what_the_stacks_envelope_parser_reads():
    item = entry(Event("tool.executed", "user_123", EXAMPLE, "run-1:step-2"), "platform-events")
    envelope = json.dumps(
        {
            "id": "e-1",
            "source": item["Source"],
            "detail-type": item["DetailType"],
            "time": "2026-04-12T08:00:00Z",
            "detail": json.loads(item["Detail"]),
        }
    )
    event = parse_envelope(envelope, "cn.invoratec.platform")
    assert (event.developer_id, event.data, event.idempotency_key) == ("user_123", EXAMPLE, "run-1:step-2")
    assert "idempotencyKey" not in entry(Event("tool.executed", "user_123", EXAMPLE), "b")["Detail"]


def test_23_events_go_in_calls_of_at_most_10_and_keep_their_order():
    client = FakeEvents()
    ids = publisher(client).publish_all(Event("tool.executed", "user_123", {**EXAMPLE, "n": n}) for n in range(23))
    assert [len(call) for call in client.calls] == [10, 10, 3]
    assert ids[0] == "id-1-0" and ids[22] == "id-3-2" and len(set(ids)) == 23


def test_refused_entries_are_sent_again_and_only_they():
    client = FakeEvents(refuse=lambda call, index, item: call == 1 and index in (1, 3))
    ids = publisher(client).publish_all([Event("tool.executed", "user_123", {**EXAMPLE, "n": n}) for n in range(5)])
    assert [json.loads(item["Detail"])["data"]["n"] for item in client.calls[1]] == [1, 3]
    assert ids == ["id-1-0", "id-2-0", "id-1-2", "id-2-1", "id-1-4"]


def test_what_stays_refused_is_raised_with_its_reason():
    client = FakeEvents(refuse=lambda call, index, item: index == 0)
    with pytest.raises(PublishFailed) as failed:
        publisher(client).publish("tool.executed", "user_123", EXAMPLE)
    assert len(client.calls) == 5
    assert [(code, message) for _, code, message in failed.value.failed] == [("ThrottlingException", "slow down")]


@pytest.mark.parametrize(
    ("event", "says"),
    [
        (Event("tool.nope", "user_123", EXAMPLE), "unknown event type"),
        (Event("tool.executed", "", EXAMPLE), "developer_id"),
        (Event("tool.executed", "user_123", {"toolName": "x"}), "/input"),
        (Event("tool.executed", "user_123", EXAMPLE, "has space"), "idempotency_key"),
        (Event("tool.executed", "user_123", EXAMPLE, "k" * 129), "idempotency_key"),
    ],
)
def test_nothing_is_sent_when_any_event_is_invalid(event, says):
    client = FakeEvents()
    with pytest.raises(InvalidEventData) as invalid:
        publisher(client).publish_all([Event("tool.executed", "user_123", EXAMPLE), event])
    assert says in str(invalid.value) and invalid.value.index == 1
    assert client.calls == []


def test_the_bus_and_source_come_from_the_stack():
    class Session:
        def client(self, service):
            if service == "events":
                return FakeEvents()
            return type(
                "CloudFormation",
                (),
                {
                    "describe_stacks": staticmethod(
                        lambda StackName: {
                            "Stacks": [
                                {
                                    "Outputs": [{"OutputKey": "EventBusName", "OutputValue": "their-bus"}],
                                    "Parameters": [{"ParameterKey": "EventSource", "ParameterValue": "com.example"}],
                                }
                            ]
                        }
                    )
                },
            )()

    found = Publisher.from_stack("events-api", session=Session())
    assert (found.bus, found.source) == ("their-bus", "com.example")


def test_make_wheel_builds_a_wheel_that_carries_the_catalogue(tmp_path):
    source = tmp_path / "publisher"
    shutil.copytree(ROOT / "publisher", source, ignore=shutil.ignore_patterns("build", "*.egg-info"))  # follows links
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(tmp_path),
         str(source)],
        capture_output=True, text=True, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    [wheel] = tmp_path.glob("eventsapi_publisher-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {
        "eventsapi_publisher/publisher.py",
        "eventsapi_publisher/catalogue/catalogue.json",
        "eventsapi_publisher/catalogue/validation.py",
    } <= names
    [metadata] = [name for name in names if name.endswith(".dist-info/METADATA")]
    described = zipfile.ZipFile(wheel).read(metadata).decode()
    assert "Description-Content-Type: text/markdown" in described
    assert "Publisher.local()" in described, "the wheel's description is its README, local recipe included"
    catalogue = zipfile.ZipFile(wheel).read("eventsapi_publisher/catalogue/catalogue.json")
    assert catalogue == (ROOT / "layers/common/events_core/catalogue/catalogue.json").read_bytes()


def test_local_finds_the_local_stack_as_eventsapi_run_makes_it(monkeypatch):
    from eventsapi.endpoints import DEFAULT_EMULATOR_URL, EMULATOR_URL_ENV
    from eventsapi.local.template import Template
    from eventsapi.local.wiring import LOCAL_PARAMETERS, REGION, TEMPLATE, local_parameters
    from eventsapi_publisher import publisher as module

    local = Template(TEMPLATE, stack_name="events-api-local", region=REGION, overrides=local_parameters()).parameters
    assert (local["EventBusName"], local["EventSource"]) == (module.LOCAL_BUS, module.DEFAULT_SOURCE)
    assert "EventBusName" not in LOCAL_PARAMETERS and "EventSource" not in LOCAL_PARAMETERS
    assert (module.LOCAL_EMULATOR_URL_ENV, module.LOCAL_EMULATOR_URL, module.LOCAL_REGION) == (
        EMULATOR_URL_ENV,
        DEFAULT_EMULATOR_URL,
        REGION,
    )
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "a-real-looking-one")
    monkeypatch.setenv(EMULATOR_URL_ENV, "http://127.0.0.1:5106")
    found = Publisher.local()
    assert found.bus == "platform-events"
    assert found.client.meta.endpoint_url == "http://127.0.0.1:5106"
    assert found.client.meta.region_name == "us-east-1"
    assert found.client._request_signer._credentials.access_key == "testing"
    assert Publisher.local("http://127.0.0.1:5999").client.meta.endpoint_url == "http://127.0.0.1:5999"
