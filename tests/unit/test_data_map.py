"""The data map declares every store the template makes: a table, queue, stream or log group added
to the template without an entry here fails, and so does an entry whose key, index, output or
retention ceiling no longer matches the template."""

import pytest

from events_core import data_map
from events_core.data_map import FUNCTION_LOGS, STORE_TYPES, STORES, TABLES, Query, Scope
from eventsapi.local.template import load_yaml
from eventsapi.local.wiring import TEMPLATE

RAW = load_yaml(TEMPLATE)
RESOURCES = RAW["Resources"]  # every resource, conditional ones included


def _ref(value):
    return value.get("Ref") if isinstance(value, dict) else None


def _function_log_groups() -> set[str]:
    return {
        _ref(spec["Properties"]["LoggingConfig"]["LogGroup"])
        for spec in RESOURCES.values()
        if spec["Type"] == "AWS::Serverless::Function" and "LogGroup" in spec["Properties"].get("LoggingConfig", {})
    }


def test_every_store_in_the_template_is_in_the_map():
    declared = {store.logical_id for store in STORES}
    function_logs = _function_log_groups()
    undeclared = {
        logical_id
        for logical_id, spec in RESOURCES.items()
        if spec["Type"] in STORE_TYPES and logical_id not in declared and logical_id not in function_logs
    }
    assert undeclared == set(), f"declare these in events_core/data_map.py: {sorted(undeclared)}"


def test_every_store_in_the_map_is_in_the_template_with_its_kind():
    for store in STORES:
        if store is FUNCTION_LOGS:
            continue
        assert store.logical_id in RESOURCES, store.logical_id
        assert STORE_TYPES[RESOURCES[store.logical_id]["Type"]] == store.kind, store.logical_id


def test_no_function_gets_a_log_group_sam_would_make_and_keep_forever():
    """A function without LoggingConfig.LogGroup logs to /aws/lambda/<name>, which SAM does not
    declare and which never expires: no function may have one."""
    missing = [
        logical_id
        for logical_id, spec in RESOURCES.items()
        if spec["Type"] == "AWS::Serverless::Function" and "LogGroup" not in spec["Properties"].get("LoggingConfig", {})
    ]
    assert missing == []
    for group in _function_log_groups():
        assert RESOURCES[group]["Type"] == "AWS::Logs::LogGroup"
        assert _ref(RESOURCES[group]["Properties"]["RetentionInDays"]) == "LogRetentionDays", group


@pytest.mark.parametrize("store", [s for s in STORES if s.kind != "table" and s is not FUNCTION_LOGS], ids=str)
def test_each_queue_stream_and_log_group_ceiling_is_the_templates(store):
    retention = RESOURCES[store.logical_id]["Properties"][store.template_ceiling]
    if store.ceiling_seconds is None:
        assert _ref(retention) == "LogRetentionDays"
    else:
        unit = {"MessageRetentionPeriod": 1, "RetentionPeriodHours": 3600, "RetentionInDays": 86400}
        assert int(retention) * unit[store.template_ceiling] == store.ceiling_seconds
    assert store.notes, "a store that cannot be searched says so"


@pytest.mark.parametrize("store", TABLES, ids=lambda s: s.logical_id)
def test_each_table_is_found_by_its_own_keys_and_indexes(store):
    properties = RESOURCES[store.logical_id]["Properties"]
    assert tuple(k["AttributeName"] for k in properties["KeySchema"]) == store.key
    assert store.output in RAW["Outputs"], f"{store.logical_id}: the tools find it by a stack output"
    assert store.find, f"{store.logical_id}: how are a developer's items found?"
    indexes = {
        index["IndexName"]: index["KeySchema"][0]["AttributeName"]
        for index in properties.get("GlobalSecondaryIndexes", [])
    }
    for finder in store.find:
        if isinstance(finder, Query):
            if finder.index:
                assert indexes.get(finder.index) == finder.attribute, f"{store.logical_id}: {finder.index}"
            else:
                assert finder.attribute == store.key[0], f"{store.logical_id}: a Query of the partition key"


def test_a_scope_yields_keys_of_the_developer_only():
    scope = Scope("dev_1", webhooks=("a" * 24,), owners=("a" * 24, "ls_0" + "0" * 20), sessions=("ls_0" + "0" * 20,))
    control = data_map.store("ControlTable").find[0]
    assert all("dev_1" in key["controlKey"] for key in control.keys(scope))  # type: ignore[union-attr]
    partitions = list(data_map.store("DeliveriesTable").find[0].values(scope))  # type: ignore[union-attr]
    assert partitions == [f"dev_1#{'a' * 24}", f"dev_1#ls_0{'0' * 20}", "dev_1#~subjects", "dev_1#~partitions"]
