"""The upgrade check: today's transformed template against the last release's (deploy/released/),
refusing a change that would make CloudFormation replace or delete a stateful resource of a running
stack — a removed logical id, a changed type, or a changed property the resource's CloudFormation
schema lists as create-only (cfn-lint ships the schemas) — unless docs/operators.md "Upgrading a
deployed stack" names the resource with what the operator does about it.

`eventsapi deploy release` writes deploy/released/template.json: run it for each release."""

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from eventsapi.deploy import transform as sam_transform

RELEASED = Path("deploy/released/template.json")
# What a replacement or deletion loses: data, messages, keys, subscriptions, names others use.
STATEFUL_TYPES = {
    "AWS::DynamoDB::Table",
    "AWS::SQS::Queue",
    "AWS::KMS::Key",
    "AWS::Events::EventBus",
    "AWS::Events::Rule",
    "AWS::SNS::Topic",
    "AWS::Logs::LogGroup",
    "AWS::Kinesis::Stream",
}
# Properties CloudFormation's documentation marks "Update requires: Replacement" that the registry
# schema does not list as create-only (the DynamoDB handler replaces a table for a new key schema).
ALSO_REPLACED_BY = {"AWS::DynamoDB::Table": ["/properties/KeySchema"]}
UPGRADE_NOTES = Path("docs/operators.md")  # the operators' guide, relative to the repository
UPGRADE_SECTION = "## Upgrading a deployed stack"
# In that section: `LogicalId` … : what the operator does (a sentence, not just the name).
ACKNOWLEDGED = re.compile(r"`(?P<id>[A-Za-z0-9]+)`[^:\n]*:\s*(?P<what>\S.{19,})")


def create_only(kind: str, region: str = sam_transform.DEFAULT_REGION) -> list[str]:
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, kind).schema
    return [*schema.get("createOnlyProperties", []), *ALSO_REPLACED_BY.get(kind, [])]


def _at(properties: Mapping[str, Any], pointer: str) -> Any:
    node: Any = {"properties": properties}
    for part in pointer.strip("/").split("/"):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def replaced_or_removed(released: Mapping[str, Any], today: Mapping[str, Any]) -> dict[str, str]:
    """Stateful logical id of the release → why an upgrade to today's template would replace or delete it."""
    found = {}
    now = today.get("Resources", {})
    for logical_id, before in released.get("Resources", {}).items():
        kind = before["Type"]
        if kind not in STATEFUL_TYPES:
            continue
        after = now.get(logical_id)
        if after is None:
            found[logical_id] = f"{kind} removed (CloudFormation deletes it, or orphans it when retained)"
        elif after["Type"] != kind:
            found[logical_id] = f"{kind} becomes {after['Type']} (replaced)"
        else:
            for pointer in create_only(kind):
                old, new = _at(before.get("Properties", {}), pointer), _at(after.get("Properties", {}), pointer)
                if old != new:
                    found[logical_id] = f"{kind} {pointer.removeprefix('/properties/')} changes (create-only: replaced)"
                    break
    return found


def acknowledged(notes: str) -> set[str]:
    """Logical ids the "Upgrading a deployed stack" section names with what the operator does."""
    section = notes.partition(UPGRADE_SECTION)[2].split("\n## ", 1)[0]
    return {match["id"] for match in ACKNOWLEDGED.finditer(section)}


def check(root: Path, today: Mapping[str, Any] | None = None) -> list[str]:
    """Refusals, one line each; empty when the upgrade keeps every stateful resource (or says why not)."""
    released_path = root / RELEASED
    if not released_path.exists():
        return [f"{RELEASED} is missing: run `eventsapi deploy release` for the release running in production"]
    released = json.loads(released_path.read_text())
    if today is None:
        today = sam_transform.transform_file(root / "template.yaml")
    known = acknowledged((root / UPGRADE_NOTES).read_text())
    return [
        f"{logical_id}: {why}; name it in {UPGRADE_NOTES} '{UPGRADE_SECTION[3:]}' with what the operator does"
        for logical_id, why in replaced_or_removed(released, today).items()
        if logical_id not in known
    ]


def release(root: Path) -> Path:
    """Record today's transformed template (defaults) as the released one: the next upgrade's baseline."""
    path = root / RELEASED
    path.parent.mkdir(parents=True, exist_ok=True)
    transformed = sam_transform.transform_file(root / "template.yaml")
    path.write_text(json.dumps(transformed, indent=1, sort_keys=True) + "\n")
    return path
