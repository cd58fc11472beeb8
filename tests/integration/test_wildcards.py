"""Wildcard webhooks (`"workflow.*"`, `"*"`) on the template: the posts carry the real type and
verify with the reference's snippets; the fan-out finds them through markers, never a scan."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from events_core.webhooks import wildcards
from tests.reference.verify import verify

SECRET = "wildcard-secret"
VERIFY_JS = Path(__file__).resolve().parents[1] / "reference" / "verify.js"
WORKFLOW = {"workflowId": "wf_1", "status": "done"}


def _node_verify(body: bytes, signature: str) -> bool:
    done = subprocess.run(
        ["node", str(VERIFY_JS), SECRET, signature], input=body, capture_output=True, check=True, timeout=30
    )
    return done.stdout.decode().strip() == "true"


def _markers(pipeline) -> set[str]:
    return {
        item["webhookId"] for item in pipeline.stack.items("WebhooksTable") if wildcards.is_marker(item["webhookId"])
    }


def test_a_family_and_every_type_receive_the_real_types_signed(pipeline, receiver):
    key = pipeline.stack.key()
    family = pipeline.webhook(key, receiver.url("/workflow"), event="workflow.*", secret=SECRET)
    every = pipeline.webhook(key, receiver.url("/every"), event="*", secret=SECRET)
    assert (family["event"], every["event"]) == ("workflow.*", "*")  # answers keep the value given
    assert {hook["event"] for hook in pipeline.listed(key).values()} == {"workflow.*", "*"}

    for event_type in ("workflow.failed", "workflow.completed", "tool.failed"):
        pipeline.publish("user_123", event_type, WORKFLOW)
    pipeline.pump()

    got = {
        path: sorted(json.loads(post.body)["event"] for post in receiver.at(path)) for path in ("/workflow", "/every")
    }
    assert got == {
        "/workflow": ["workflow.completed", "workflow.failed"],
        "/every": ["tool.failed", "workflow.completed", "workflow.failed"],
    }
    for post in receiver.received:
        assert post.headers["X-Webhook-Event"] == json.loads(post.body)["event"]  # the type, never the pattern
        assert verify(post.body, post.headers["X-Webhook-Signature"], SECRET)
        if shutil.which("node"):
            assert _node_verify(post.body, post.headers["X-Webhook-Signature"])


def test_an_unknown_namespace_is_a_400_listing_the_namespaces_and_changes_nothing(pipeline, receiver):
    key = pipeline.stack.key()
    answer = pipeline.stack.call(
        "POST", "/v1/events/webhooks", key=key, body={"event": "nosuch.*", "url": receiver.url("/x")}
    )
    assert answer.status == 400
    assert "nosuch.*" in answer.error["message"] and "workflow.*" in answer.error["message"]
    for bad in ("workflow.**", "workflow", ".*", "**"):
        assert (
            pipeline.stack.call(
                "POST", "/v1/events/webhooks", key=key, body={"event": bad, "url": receiver.url("/x")}
            ).status
            == 400
        )
    assert pipeline.listed(key) == {} and _markers(pipeline) == set()


def test_filters_apply_to_the_data_of_whichever_type_arrived(pipeline, receiver):
    key = pipeline.stack.key()
    pipeline.webhook(key, receiver.url("/failed-only"), event="workflow.*", filter={"status": "failed"})
    pipeline.publish("user_123", "workflow.completed", {"status": "done"})
    pipeline.publish("user_123", "workflow.failed", {"status": "failed"})
    pipeline.pump()
    assert [json.loads(post.body)["event"] for post in receiver.at("/failed-only")] == ["workflow.failed"]


def test_single_type_webhooks_and_wildcards_each_get_one_post(pipeline, receiver):
    key = pipeline.stack.key()
    pipeline.webhook(key, receiver.url("/exact"), event="workflow.failed")
    pipeline.webhook(key, receiver.url("/family"), event="workflow.*")
    pipeline.webhook(pipeline.stack.key("bob"), receiver.url("/bob"), event="*")  # another tenant's wildcard
    pipeline.publish("user_123", "workflow.failed", WORKFLOW)
    pipeline.pump()
    assert [len(receiver.at(path)) for path in ("/exact", "/family", "/bob")] == [1, 1, 0]


def test_markers_follow_the_patterns_in_use(pipeline, receiver):
    key = pipeline.stack.key()
    first = pipeline.webhook(key, receiver.url("/a"), event="workflow.*")
    second = pipeline.webhook(key, receiver.url("/b"), event="workflow.*")
    assert _markers(pipeline) == {
        wildcards.marker_id(t, "workflow.*") for t in ("workflow.completed", "workflow.failed")
    }
    assert pipeline.stack.call("DELETE", f"/v1/events/webhooks/{first['id']}", key=key).status in (200, 204)
    assert len(_markers(pipeline)) == 2  # another webhook still takes the pattern
    # A change from a pattern to a type (and back) moves the markers with it.
    assert (
        pipeline.stack.call(
            "PATCH", f"/v1/events/webhooks/{second['id']}", key=key, body={"event": "tool.failed"}
        ).status
        == 200
    )
    assert _markers(pipeline) == set()
    assert (
        pipeline.stack.call("PATCH", f"/v1/events/webhooks/{second['id']}", key=key, body={"event": "*"}).status == 200
    )
    assert len(_markers(pipeline)) == 10
    pipeline.publish("user_123", "app.installed", {})
    pipeline.pump()
    assert len(receiver.at("/b")) == 1
    assert pipeline.stack.call("DELETE", f"/v1/events/webhooks/{second['id']}", key=key).status in (200, 204)
    assert _markers(pipeline) == set()
    assert pipeline.listed(key) == {}


def test_a_test_send_to_a_wildcard_posts_a_type_of_its_pattern(pipeline, receiver):
    key = pipeline.stack.key()
    hook = pipeline.webhook(key, receiver.url("/t"), event="workflow.*", secret=SECRET)
    path = f"/v1/events/webhooks/{hook['id']}/test"
    assert pipeline.stack.call("POST", path, key=key, body={}).status == 200
    assert pipeline.stack.call("POST", path, key=key, body={"event": "workflow.failed"}).status == 200
    outside = pipeline.stack.call("POST", path, key=key, body={"event": "tool.failed"})
    assert outside.status == 400 and "workflow.*" in outside.error["message"]
    posts = receiver.at("/t")
    assert [post.headers["X-Webhook-Event"] for post in posts] == ["workflow.completed", "workflow.failed"]
    assert all(verify(post.body, post.headers["X-Webhook-Signature"], SECRET) for post in posts)


@pytest.mark.parametrize(
    ("events", "taken"), [(["workflow.*"], ["workflow.failed"]), (["*"], ["tool.failed", "workflow.failed"])]
)
def test_a_listen_session_takes_patterns(pipeline, events, taken):
    key = pipeline.stack.key()
    opened = pipeline.stack.call("POST", "/v1/events/listen", key=key, body={"events": events})
    assert opened.status == 201, opened.json
    assert opened.json["events"] == events
    assert pipeline.stack.call("POST", "/v1/events/listen", key=key, body={"events": ["nosuch.*"]}).status == 400
    pipeline.publish("user_123", "tool.failed", WORKFLOW)
    pipeline.publish("user_123", "workflow.failed", WORKFLOW)
    pipeline.pump()
    answer = pipeline.stack.call("GET", f"/v1/events/listen/{opened.json['sessionId']}/next?wait=0&limit=10", key=key)
    assert sorted(delivery["event"] for delivery in answer.json["deliveries"]) == taken


def test_a_type_declared_later_reaches_every_type_webhooks_and_the_operator_marks_it(pipeline, receiver, monkeypatch):
    import boto3

    from eventsapi.admin.target import Target
    from eventsapi.admin.wildcards import mark_all

    key = pipeline.stack.key()
    every = pipeline.webhook(key, receiver.url("/every"), event="*")
    pipeline.webhook(pipeline.stack.key("plain"), receiver.url("/plain"), event="tool.failed")
    # As if workflow.failed were declared after the markers were written: none for it, not marked.
    table = pipeline.stack.table("WebhooksTable")
    table.delete_item(Key={"developerId": "user_123", "webhookId": wildcards.marker_id("workflow.failed", "*")})
    monkeypatch.setattr(wildcards, "MARKED_TYPES", wildcards.MARKED_TYPES - {"workflow.failed"})
    pipeline.publish("user_123", "workflow.failed", WORKFLOW)
    pipeline.pump()
    assert len(receiver.at("/every")) == 1  # read from the pattern's partition directly

    target = Target(
        boto3.Session(region_name="us-east-1"),
        None,
        {"WebhooksTableName": table.name, "DeliveriesTableName": pipeline.stack.table("DeliveriesTable").name},
        deployed=False,
    )
    assert mark_all(target) == (1, 1)  # the developer without wildcards is not touched
    assert len(_markers(pipeline)) == 10
    monkeypatch.setattr(wildcards, "MARKED_TYPES", wildcards.MARKED_TYPES | {"workflow.failed"})
    pipeline.publish("user_123", "workflow.failed", WORKFLOW)
    pipeline.pump()
    assert len(receiver.at("/every")) == 2  # through its marker now

    assert pipeline.stack.call("DELETE", f"/v1/events/webhooks/{every['id']}", key=key).status in (200, 204)
    assert mark_all(target) == (0, 0) and _markers(pipeline) == set()  # never resurrects a pattern no one takes
