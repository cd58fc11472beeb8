from events_core.clock import is_id, iso_ms, new_id, parse_iso


def test_iso_ms_matches_the_reference_format():
    assert iso_ms(1775980800000) == "2026-04-12T08:00:00.000Z"
    assert iso_ms(1775980800042) == "2026-04-12T08:00:00.042Z"


def test_parse_iso_round_trips():
    assert parse_iso("2026-04-12T08:00:00.042Z") == 1775980800042


def test_ids_are_24_hex_with_the_creation_second_first():
    webhook_id = new_id(1775980800042)
    assert is_id(webhook_id)
    assert int(webhook_id[:8], 16) == 1775980800


def test_ids_sort_by_creation_time_within_a_second():
    earlier, later = new_id(1775980800001), new_id(1775980800999)
    assert earlier < later


def test_is_id_refuses_other_shapes():
    assert not is_id("665f...")
    assert not is_id("665F1A2B3C4D5E6F7A8B9C0D")
    assert not is_id("665f1a2b3c4d5e6f7a8b9c0")
