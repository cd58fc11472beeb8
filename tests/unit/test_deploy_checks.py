"""What `make validate` and the deploy rehearsal decide before anything is created: the real SAM
transform refuses what CloudFormation would refuse, in its own words; parameters and Rules are
judged as CloudFormation judges them (moto judges neither); an upgrade that would replace or delete
a stateful resource is refused unless the operators' guide says what the operator does."""

import copy
import json
import tomllib
from pathlib import Path

import pytest

from eventsapi.deploy import upgrade, validate
from eventsapi.deploy.evaluate import Deployment
from eventsapi.deploy.transform import TransformRejected, load_yaml, transform, transform_file

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"


def transformed(**parameters: str) -> dict:
    return transform_file(TEMPLATE, parameters)


# -- the transform CloudFormation runs


def test_validate_fails_with_the_translators_message_when_an_event_says_api_key_required_false(tmp_path):
    text = TEMPLATE.read_text()
    assert "ApiKeyRequired: false" in text  # the API's own setting: the per-event ones are refused
    broken = load_yaml(TEMPLATE)
    console = broken["Resources"]["ConsoleFunction"]["Properties"]["Events"]
    next(iter(console.values()))["Properties"]["Auth"]["ApiKeyRequired"] = False
    (tmp_path / "template.yaml").write_text(json.dumps(broken))  # JSON is YAML
    with pytest.raises(validate.ValidationFailed) as failed:
        list(validate.transformed_templates(tmp_path / "template.yaml", tmp_path))
    message = str(failed.value)
    assert "Unable to set ApiKeyRequired [False] on API method [get] for path [/console]" in message
    assert "\n" not in message and "(defaults)" in message
    assert validate.main(["--root", str(tmp_path), "--no-lint"]) == 1  # what make validate runs


def test_the_transform_accepts_every_conditional_parameter_set(tmp_path):
    written = list(validate.transformed_templates(TEMPLATE, tmp_path))
    labels = [label for label, _ in written]
    assert labels[0] == "defaults" and len(labels) > 10
    assert any(label.startswith("ExistingEventBusName=") for label in labels)
    for _, path in written:
        assert "AWS::Serverless::Function" not in path.read_text()


def test_a_rejection_is_one_line_from_the_translator():
    sam = load_yaml(TEMPLATE)
    event = next(iter(sam["Resources"]["VerifyLinkFunction"]["Properties"]["Events"].values()))
    event["Properties"]["Auth"]["ApiKeyRequired"] = False
    with pytest.raises(TransformRejected, match=r"related API does not specify any ApiKeyRequired"):
        transform(sam)


# -- parameters and Rules, judged as CloudFormation judges them


def samconfig_overrides(environment: str) -> dict[str, str]:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    overrides = config[environment]["deploy"]["parameters"]["parameter_overrides"]
    return dict(pair.split("=", 1) for pair in overrides.split())


def test_samconfigs_placeholder_fails_with_alarm_emails_constraint_description():
    given = samconfig_overrides("default")
    refusals = Deployment(transformed(**given), given).refusals()
    assert refusals == [
        "Parameter AlarmEmail failed to satisfy constraint: an email address (replace samconfig's placeholder),"
        " or empty with AlarmTopicArn set"
    ]


def test_no_alarm_destination_fails_with_the_rules_assert_description():
    given = {"AlarmEmail": "", "AlarmTopicArn": ""}
    assert Deployment(transformed(), given).refusals() == [
        "AlarmsReachSomeone: Set AlarmEmail or AlarmTopicArn, so that an alarm reaches a person."
    ]
    assert Deployment(transformed(), {"AlarmEmail": "ops@invoratec.example"}).refusals() == []


def test_the_default_bus_is_refused_by_a_rule():
    given = {"AlarmEmail": "ops@invoratec.example", "ExistingEventBusName": "default"}
    [refusal] = Deployment(transformed(**given), given).refusals()
    assert refusal.startswith("PlatformBusIsCustom: ExistingEventBusName cannot be the account's default bus")
    other = {**given, "ExistingEventBusName": "the-platform"}
    assert Deployment(transformed(**other), other).refusals() == []


def test_bounds_and_allowed_values_are_checked():
    given = {"AlarmEmail": "ops@invoratec.example", "ApiReservedConcurrency": "23", "LogLevel": "LOUD"}
    refusals = Deployment(transformed(), given).refusals()
    assert "Parameter ApiReservedConcurrency failed to satisfy constraint: must be at most 21" in refusals
    assert any(r.startswith("Parameter LogLevel failed to satisfy constraint: must be one of") for r in refusals)
    assert Deployment(transformed(), {"NoSuchThing": "1"}).refusals()[0] == (
        "Parameter NoSuchThing does not exist in the template"
    )


# -- the upgrade check


@pytest.fixture(scope="module")
def released() -> dict:
    return json.loads((ROOT / upgrade.RELEASED).read_text())


def test_todays_template_upgrades_the_release_without_replacing_or_deleting_state():
    assert upgrade.check(ROOT) == []


def test_a_changed_key_schema_is_refused(released):
    today = copy.deepcopy(transformed())
    today["Resources"]["WebhooksTable"]["Properties"]["KeySchema"][0]["AttributeName"] = "somethingElse"
    found = upgrade.replaced_or_removed(released, today)
    assert list(found) == ["WebhooksTable"] and "KeySchema changes" in found["WebhooksTable"]
    [refusal] = upgrade.check(ROOT, today)
    assert refusal.startswith("WebhooksTable: AWS::DynamoDB::Table KeySchema changes")


def test_a_removed_retained_queue_is_refused(released):
    today = copy.deepcopy(transformed())
    assert today["Resources"]["DeliveryFaultQueue"]["DeletionPolicy"] == "Retain"
    del today["Resources"]["DeliveryFaultQueue"]
    [refusal] = upgrade.check(ROOT, today)
    assert refusal.startswith("DeliveryFaultQueue: AWS::SQS::Queue removed")


def test_a_create_only_property_from_the_schema_is_refused(released):
    today = copy.deepcopy(transformed())
    today["Resources"]["EventsDeadLetterQueue"]["Properties"]["FifoQueue"] = True
    assert "create-only" in upgrade.replaced_or_removed(released, today)["EventsDeadLetterQueue"]


def test_the_upgrade_notes_naming_the_resource_with_what_to_do_let_the_change_through(tmp_path, released):
    today = copy.deepcopy(transformed())
    del today["Resources"]["DeliveryFaultQueue"]
    (tmp_path / "deploy/released").mkdir(parents=True)
    (tmp_path / upgrade.RELEASED).write_text(json.dumps(released))
    notes = tmp_path / upgrade.UPGRADE_NOTES
    notes.parent.mkdir(parents=True)
    readme = (ROOT / upgrade.UPGRADE_NOTES).read_text()
    assert upgrade.UPGRADE_SECTION + "\n" in readme
    notes.write_text(readme)
    assert upgrade.check(tmp_path, today)
    named = readme.replace(
        upgrade.UPGRADE_SECTION + "\n",
        upgrade.UPGRADE_SECTION + "\n- `DeliveryFaultQueue` goes: drain it with `eventsapi dlq redrive` first.\n",
    )
    notes.write_text(named)
    assert upgrade.check(tmp_path, today) == []
    bare = readme.replace(upgrade.UPGRADE_SECTION + "\n", upgrade.UPGRADE_SECTION + "\n- `DeliveryFaultQueue`\n")
    notes.write_text(bare)
    assert upgrade.check(tmp_path, today), "a name alone says nothing the operator can do"
