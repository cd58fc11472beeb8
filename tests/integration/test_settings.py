"""GET/PATCH /v1/events/settings: one document per developer, every field with its default, changed
by a JSON merge patch; a bad patch is a 400 naming the field and changes nothing."""

SETTINGS = "/v1/events/settings"
DEFAULT = {"retention": {"payloadDays": 30, "responseDays": 30, "recordDays": 30}, "notifications": {}}


def test_every_field_is_there_with_its_default_before_anything_is_chosen(stack):
    answer = stack.call("GET", SETTINGS, key=stack.key("dev_a", ("read",)))
    assert (answer.status, answer.json) == (200, DEFAULT)
    assert stack.call("PATCH", SETTINGS, key=stack.key("dev_a", ("read",)), body={}).status == 403


def test_a_merge_patch_sets_resets_and_leaves_the_rest(stack):
    key = stack.key("dev_a")
    first = stack.call("PATCH", SETTINGS, key=key, body={"retention": {"payloadDays": 0, "recordDays": 7}})
    assert first.status == 200
    assert first.json["retention"] == {"payloadDays": 0, "responseDays": 30, "recordDays": 7}
    second = stack.call("PATCH", SETTINGS, key=key, body={"retention": {"recordDays": None, "responseDays": 1}})
    assert second.json["retention"] == {"payloadDays": 0, "responseDays": 1, "recordDays": 30}
    assert stack.call("GET", SETTINGS, key=key).json == second.json
    assert stack.call("PATCH", SETTINGS, key=key, body={"retention": None}).json == DEFAULT
    assert stack.call("GET", SETTINGS, key=stack.key("dev_b")).json == DEFAULT  # another developer's own
    stack.call("PATCH", SETTINGS, key=key, body={"retention": {"payloadDays": 3}})
    assert stack.call("GET", SETTINGS, key=stack.key("dev_b")).json == DEFAULT


def test_an_unknown_field_or_a_bad_value_is_a_400_naming_it_and_changes_nothing(stack):
    key = stack.key("dev_a")
    stack.call("PATCH", SETTINGS, key=key, body={"retention": {"payloadDays": 5}})
    before = stack.call("GET", SETTINGS, key=key).json
    cases = [
        ({"retention": {"payloadDays": 1, "keepForever": True}}, "retention.keepForever"),
        ({"retention": {"payloadDays": 1}, "colour": "blue"}, "colour"),
        ({"notifications": {"email": "a@b.c"}}, "notifications.email"),
        ({"retention": {"payloadDays": 31}}, "retention.payloadDays"),
        ({"retention": {"recordDays": -1}}, "retention.recordDays"),
        ({"retention": {"responseDays": True}}, "retention.responseDays"),
        ({"retention": {"responseDays": 1.5}}, "retention.responseDays"),
        ({"retention": 7}, "retention"),
    ]
    for body, field in cases:
        answer = stack.call("PATCH", SETTINGS, key=key, body=body)
        assert (answer.status, answer.error.get("field")) == (400, field), (body, answer.json)
        assert field in answer.error["message"]
    for raw in (b"[]", b'"x"', b"null"):
        assert stack.call("PATCH", SETTINGS, key=key, raw=raw).status == 400
    assert stack.call("GET", SETTINGS, key=key).json == before
