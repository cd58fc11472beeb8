"""`eventsapi developers remove`: a developer leaving the platform is removed from every table, by
Queries of their own partitions (the fixture refuses Scan), and nobody else loses anything."""

import boto3

from events_core.api_keys import ApiKeyStore
from events_core.api_logs import shard_key
from eventsapi.admin import developers
from eventsapi.admin.target import Target
from eventsapi.local.wiring import REGION


def test_removing_a_developer_leaves_nothing_of_theirs_and_everything_of_others(pipeline, receiver):
    stack = pipeline.stack
    leaving, staying = stack.key("leaving_dev"), stack.key("staying_dev")
    stack.key("leaving_dev", ("read",))  # a second key
    hooks = [pipeline.webhook(leaving, receiver.url("/gone")) for _ in range(2)]
    kept = pipeline.webhook(staying, receiver.url("/kept"))
    for developer in ("leaving_dev", "staying_dev"):
        pipeline.publish(developer, "tool.executed", {"n": 1})
    pipeline.pump()
    assert len(pipeline.records()) == 3

    target = Target.of_template(stack.template, boto3.Session(region_name=REGION))
    removed = developers.remove(target, "leaving_dev")

    # Two delivery records, and each webhook's minute of health figures (events_core.stats).
    assert (removed.api_keys, removed.webhooks, removed.deliveries) == (2, 2, 4)
    assert not [i for i in stack.items("DeliveriesTable") if i["webhookKey"].startswith("leaving_dev#")]
    assert removed.api_logs == 2  # its two webhook creations were logged
    assert ApiKeyStore().authenticate(leaving) is None  # on AWS the command also flushes the authorizer cache
    for table in ("ApiKeysTable", "WebhooksTable", "ApiLogsTable"):
        owners = {item.get("developerId", item.get("userId")) for item in stack.items(table)}
        assert "leaving_dev" not in owners and "staying_dev" in owners, table
    assert {record["webhookId"] for record in pipeline.records()} == {kept["id"]}
    assert all(hook["id"] not in str(stack.items("WebhooksTable")) for hook in hooks)
    assert stack.call("GET", f"/v1/events/webhooks/{kept['id']}", key=staying).status == 200


def test_removing_twice_or_an_unknown_developer_removes_nothing(stack):
    stack.key("someone")
    target = Target.of_template(stack.template, boto3.Session(region_name=REGION))
    assert developers.remove(target, "nobody").api_keys == 0
    assert developers.remove(target, "someone").api_keys == 1
    assert developers.remove(target, "someone").api_keys == 0


def test_api_call_logs_are_removed_from_every_write_shard(stack):
    """Entries are write-sharded ("developer", "developer#1", …): each shard is emptied, up to the
    LogShards maximum, and a developer whose own id looks like a shard key keeps theirs."""
    assert stack.template.raw["Parameters"]["LogShards"]["MaxValue"] == developers.MAX_LOG_SHARDS
    target = Target.of_template(stack.template, boto3.Session(region_name=REGION))
    logs = target.table("ApiLogsTableName")
    for n, shard in enumerate((0, 1, 7, 63)):
        logs.put_item(
            Item={"userId": shard_key("leaving_dev", shard), "logId": f"{n:024x}", "developerId": "leaving_dev"}
        )
    decoy = {"userId": "leaving_dev#1", "logId": f"{9:024x}", "developerId": "leaving_dev#1"}
    logs.put_item(Item=decoy)
    assert developers.remove(target, "leaving_dev").api_logs == 4
    assert [{k: item[k] for k in decoy} for item in stack.items("ApiLogsTable")] == [decoy]
