"""The deploy rehearsed: the packaged artifacts uploaded to an emulator of the test's own (never
`eventsapi run`'s), the transformed stack created from a TemplateURL, and what the emulator created
compared with what the template declares. Every stateful resource must be created; a resource type
the emulator skips that is not in emulator_skips.txt fails the test."""

from pathlib import Path

import pytest

from eventsapi.deploy import rehearse
from eventsapi.deploy.evaluate import ParametersRefused
from eventsapi.deploy.transform import load_yaml

ROOT = Path(__file__).resolve().parents[2]

OPERATOR = {"AlarmEmail": "ops@invoratec.example"}


@pytest.fixture(scope="module")
def rehearsal() -> rehearse.Rehearsal:
    return rehearse.rehearse(ROOT, OPERATOR)


def test_the_stack_is_created_with_every_stateful_resource(rehearsal):
    assert rehearsal.stack_status == "CREATE_COMPLETE"
    assert rehearsal.stateful_missing() == {}
    created = set(rehearsal.created.values())
    assert created >= rehearse.STATEFUL_TYPES
    kinds = {name: kind for name, kind in rehearsal.created.items()}
    for name in (
        "WebhooksTable",
        "DeliveryQueue",
        "DeliveryFaultQueue",
        "SecretsKey",
        "PlatformEventBus",
        "PlatformEventsRule",
        "AlarmTopic",
        "ApiAccessLogs",
        "ServiceCallLogs",
    ):
        assert name in kinds, name
    assert "layers/common" in rehearsal.artifacts and "functions/deliver" in rehearsal.artifacts


def test_what_the_emulator_skipped_is_printed_and_known(rehearsal):
    lines = rehearse.report(rehearsal)
    assert lines[0].startswith("stack CREATE_COMPLETE:")
    assert rehearsal.skipped_types <= rehearse.known_skips(), rehearsal.skipped_types - rehearse.known_skips()
    for kind in rehearsal.skipped_types:
        assert any(line.startswith(f"skipped by the emulator: {kind} ×") for line in lines)


def test_a_new_skipped_type_is_noticed(rehearsal):
    grown = rehearse.Rehearsal(
        rehearsal.stack_status, rehearsal.created, {**rehearsal.expected, "Thing": "AWS::Made::Up"}
    )
    assert grown.skipped_types - rehearse.known_skips() == {"AWS::Made::Up"}


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ({"AlarmEmail": "replace-me@alarms.invalid"}, "Parameter AlarmEmail failed to satisfy constraint: an email"),
        ({"AlarmEmail": "", "AlarmTopicArn": ""}, "AlarmsReachSomeone: Set AlarmEmail or AlarmTopicArn"),
    ],
)
def test_parameters_and_rules_refuse_before_create_stack(given, said, monkeypatch):
    monkeypatch.setattr(rehearse, "own_emulator", lambda: pytest.fail("an emulator was started"))
    with pytest.raises(ParametersRefused) as refused:
        rehearse.rehearse(ROOT, given)
    assert refused.value.problems[0].startswith(said)


def test_the_command_prints_the_refusal(capsys):
    assert rehearse.main(["--root", str(ROOT), "--param", "AlarmEmail=replace-me@alarms.invalid"]) == 1
    assert "an email address (replace samconfig's placeholder)" in capsys.readouterr().out


def test_the_template_has_stateful_resources_of_every_kind_the_rehearsal_checks():
    kinds = {spec["Type"] for spec in load_yaml(ROOT / "template.yaml")["Resources"].values()}
    assert kinds >= rehearse.STATEFUL_TYPES


def test_the_emulator_fixes_last_only_as_long_as_the_rehearsal(rehearsal):
    from moto.events.models import EventBus
    from moto.iam.policy_validation import BaseIAMPolicyValidator

    assert not hasattr(EventBus, "physical_resource_id")
    assert BaseIAMPolicyValidator._validate_version.__module__ == "moto.iam.policy_validation"
