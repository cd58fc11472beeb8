"""A rebuild adopts tables CloudFormation then never changes: what a later release adds to their
declaration (an index, TTL, point-in-time recovery) must be found before the deploy and added by a
command of ours, never by a hand-typed AWS CLI call."""

import boto3
from moto import mock_aws

from eventsapi.admin import preflight, tables
from eventsapi.admin.target import Target
from eventsapi.local.template import Template
from eventsapi.local.wiring import FAKE_CREDENTIALS, REGION, TEMPLATE

ADOPTED = {"ExistingListenTableName": "old-listen", "ExistingWebhooksTableName": "old-webhooks"}


def bare_table(dynamodb, template: Template, logical_id: str, name: str) -> None:
    """The table as an older stack made it: its keys only (no index, TTL or point-in-time recovery)."""
    declared = template.resolve(template.raw["Resources"][logical_id]["Properties"])
    keys = [key["AttributeName"] for key in declared["KeySchema"]]
    dynamodb.create_table(
        TableName=name,
        AttributeDefinitions=[d for d in declared["AttributeDefinitions"] if d["AttributeName"] in keys],
        KeySchema=declared["KeySchema"],
        BillingMode="PAY_PER_REQUEST",
    )


def declared_gaps(template: Template, logical_id: str) -> set[str]:
    declared = template.resolve(template.raw["Resources"][logical_id]["Properties"])
    wanted = {f"no index {index['IndexName']}" for index in declared.get("GlobalSecondaryIndexes", [])}
    ttl = declared.get("TimeToLiveSpecification") or {}
    if ttl.get("Enabled"):
        wanted.add(f"time to live off (the template's attribute: {ttl['AttributeName']})")
    if (declared.get("PointInTimeRecoverySpecification") or {}).get("PointInTimeRecoveryEnabled"):
        wanted.add("point-in-time recovery off")
    return wanted


def test_an_adopted_table_gets_what_the_template_declares_and_a_second_run_adds_nothing(monkeypatch):
    for name, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        session = boto3.Session(region_name=REGION)
        dynamodb = session.client("dynamodb")
        template = Template(TEMPLATE, stack_name="rebuilt", region=REGION, overrides=ADOPTED)
        assert tables.adopted(template) == {"ListenTable": "old-listen", "WebhooksTable": "old-webhooks"}
        for logical_id, name in tables.adopted(template).items():
            bare_table(dynamodb, template, logical_id, name)

        before = tables.gaps(dynamodb, template, poll=0)
        for logical_id in ("ListenTable", "WebhooksTable"):
            found = {gap.missing for gap in before if gap.logical_id == logical_id}
            assert found == declared_gaps(template, logical_id) != set(), logical_id
        assert {gap.missing for gap in before} >= {"no index ReadyByTime", "point-in-time recovery off"}

        account = Target(session, None, {}, deployed=True)
        blocking = [f for f in preflight.adopted_tables(account, template, "rebuilt") if f.blocking]
        assert len(blocking) == len(before) and "admin tables upgrade" in blocking[0].message

        assert len(tables.upgrade(dynamodb, template, poll=0)) == len(before)
        described = dynamodb.describe_table(TableName="old-listen")["Table"]
        assert {index["IndexName"] for index in described["GlobalSecondaryIndexes"]} == {"ReadyByTime"}
        assert tables.gaps(dynamodb, template, poll=0) == []
        assert tables.upgrade(dynamodb, template, poll=0) == []


def test_a_stack_that_adopts_nothing_has_nothing_to_upgrade():
    template = Template(TEMPLATE, stack_name="fresh", region=REGION)
    assert tables.adopted(template) == {}


def test_an_adopted_table_that_does_not_exist_is_named(monkeypatch):
    for name, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        dynamodb = boto3.Session(region_name=REGION).client("dynamodb")
        template = Template(
            TEMPLATE, stack_name="rebuilt", region=REGION, overrides={"ExistingPayloadsTableName": "gone"}
        )
        (gap,) = tables.gaps(dynamodb, template, poll=0)
        assert gap.missing == "no such table in this account and region"
