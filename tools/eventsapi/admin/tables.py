"""Adopted tables (the `Existing…TableName` parameters of a rebuild) brought up to what the template
declares. CloudFormation manages nothing of an adopted table, so an index, TTL or point-in-time
recovery a later release adds reaches only tables the stack created; `check` lists what an adopted
table lacks (preflight blocks on it) and `upgrade` adds it, one index at a time as DynamoDB wants."""

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eventsapi.local.template import Template

INDEX_WAIT_SECONDS = 1800  # a new index backfills before the next may be created
POLL_SECONDS = 5.0


@dataclass(frozen=True)
class Gap:
    logical_id: str
    table: str
    missing: str
    apply: Callable[[], None]

    def __str__(self) -> str:
        return f"{self.logical_id} ({self.table}): {self.missing}"


def adopted(template: Template) -> dict[str, str]:
    """Logical id → the adopted table's name, for every Existing<LogicalId>Name parameter that is set."""
    return {
        logical_id: value
        for name, value in template.parameters.items()
        if name.startswith("Existing") and name.endswith("TableName") and value
        for logical_id in [name.removeprefix("Existing").removesuffix("Name")]
        if template.raw["Resources"].get(logical_id, {}).get("Type") == "AWS::DynamoDB::Table"
    }


def _wait_until_active(dynamodb: Any, table: str, poll: float) -> None:
    deadline = time.monotonic() + INDEX_WAIT_SECONDS
    while time.monotonic() < deadline:
        described = dynamodb.describe_table(TableName=table)["Table"]
        statuses = [described["TableStatus"], *(i["IndexStatus"] for i in described.get("GlobalSecondaryIndexes", []))]
        if all(status == "ACTIVE" for status in statuses):
            return
        time.sleep(poll)
    raise TimeoutError(f"{table}: indexes still building after {INDEX_WAIT_SECONDS} s; run upgrade again later")


def gaps(dynamodb: Any, template: Template, poll: float = POLL_SECONDS) -> list[Gap]:
    """What each adopted table lacks of its declaration (a table that does not exist is one gap too)."""
    found: list[Gap] = []
    for logical_id, table in adopted(template).items():
        declared = template.resolve(template.raw["Resources"][logical_id]["Properties"])
        try:
            described = dynamodb.describe_table(TableName=table)["Table"]
        except dynamodb.exceptions.ResourceNotFoundException:
            found.append(Gap(logical_id, table, "no such table in this account and region", lambda: None))
            continue
        have = {index["IndexName"] for index in described.get("GlobalSecondaryIndexes", [])}
        types = {d["AttributeName"]: d["AttributeType"] for d in declared["AttributeDefinitions"]}
        for index in declared.get("GlobalSecondaryIndexes", []):
            if index["IndexName"] in have:
                continue
            keys = [key["AttributeName"] for key in index["KeySchema"]]

            def create(index: dict = index, keys: list[str] = keys, table: str = table, types: dict = types) -> None:
                _wait_until_active(dynamodb, table, poll)
                dynamodb.update_table(
                    TableName=table,
                    AttributeDefinitions=[{"AttributeName": k, "AttributeType": types[k]} for k in keys],
                    GlobalSecondaryIndexUpdates=[
                        {"Create": {k: index[k] for k in ("IndexName", "KeySchema", "Projection")}}
                    ],
                )
                _wait_until_active(dynamodb, table, poll)

            found.append(Gap(logical_id, table, f"no index {index['IndexName']}", create))
        ttl = declared.get("TimeToLiveSpecification") or {}
        if ttl.get("Enabled"):
            status = dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
            if status.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
                turn_on = functools.partial(
                    dynamodb.update_time_to_live,
                    TableName=table,
                    TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
                )
                missing = f"time to live off (the template's attribute: {ttl['AttributeName']})"
                found.append(Gap(logical_id, table, missing, turn_on))
        if (declared.get("PointInTimeRecoverySpecification") or {}).get("PointInTimeRecoveryEnabled"):
            backups = dynamodb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
            if backups.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus") != "ENABLED":
                recover = functools.partial(
                    dynamodb.update_continuous_backups,
                    TableName=table,
                    PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
                )
                found.append(Gap(logical_id, table, "point-in-time recovery off", recover))
    return found


def upgrade(dynamodb: Any, template: Template, poll: float = POLL_SECONDS) -> list[Gap]:
    """Adds what each adopted table lacks; answers what it added (safe to repeat: a second run adds nothing)."""
    done = []
    for gap in gaps(dynamodb, template, poll):
        if gap.missing.startswith("no such table"):
            raise LookupError(str(gap))
        gap.apply()
        done.append(gap)
    return done
