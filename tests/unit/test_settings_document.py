"""The settings document: RFC 7396 merge patches judged whole, every field answered with its
default, and values above a lowered LogRetentionDays read as the ceiling."""

import pytest

from events_core.config import Settings
from events_core.errors import BadRequest
from events_core.lifecycle.settings import document, merged, sweep_shard

CONFIG = Settings(log_retention_days=30)


def test_null_resets_a_member_or_a_section_and_absent_members_stay():
    stored = merged({}, {"retention": {"payloadDays": 0, "recordDays": 7}}, CONFIG)
    assert stored == {"retention": {"payloadDays": 0, "recordDays": 7}}
    assert merged(stored, {"retention": {"recordDays": None}}, CONFIG) == {"retention": {"payloadDays": 0}}
    assert merged(stored, {"retention": None}, CONFIG) == {}
    assert merged(stored, {}, CONFIG) == stored
    assert document({}, CONFIG) == {
        "retention": {"payloadDays": 30, "responseDays": 30, "recordDays": 30},
        "notifications": {},
    }


def test_a_stored_value_above_a_lowered_ceiling_reads_as_the_ceiling():
    assert document({"retention": {"recordDays": 30}}, Settings(log_retention_days=7))["retention"]["recordDays"] == 7


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"retention": {"payloadDays": 0, "x": 1}}, "retention.x"),
        ({"retention": {"payloadDays": 31}}, "retention.payloadDays"),
        ({"retention": {"payloadDays": False}}, "retention.payloadDays"),
        ({"notifications": {"email": "a"}}, "notifications.email"),
        ({"other": {}}, "other"),
    ],
)
def test_a_bad_patch_names_its_field_and_leaves_the_stored_document_alone(patch, field):
    stored = {"retention": {"payloadDays": 3}}
    with pytest.raises(BadRequest) as raised:
        merged(stored, patch, CONFIG)
    assert raised.value.field == field
    assert stored == {"retention": {"payloadDays": 3}}


def test_sweep_shards_spread_developers():
    assert len({sweep_shard(f"dev_{n}") for n in range(500)}) == 16
