"""POST /v1/events/expunge runs a job through the expunge queue and function: every settled delivery
of the developer in the window keeps its record with payload null and expunged true; one job runs
at a time and a few start an hour; other developers are untouched."""

WEBHOOKS = "/v1/events/webhooks"
BIG = {"toolName": "erp", "input": {"prompt": "q" * 6000}, "result": {}, "elapsed_ms": 1}
ALL = {"since": "2020-01-01T00:00:00Z"}


def busy_developer(pipeline, receiver, developer):
    key = pipeline.stack.key(developer)
    hooks = [pipeline.webhook(key, receiver.url(f"/{developer}/{n}")) for n in range(2)]
    pipeline.publish(developer, "tool.executed", {"n": 1})
    pipeline.publish(developer, "tool.executed", BIG)
    pipeline.pump()
    return key, hooks


def test_an_expunge_job_removes_every_settled_payload_in_the_window_and_nothing_of_others(pipeline, receiver):
    key, hooks = busy_developer(pipeline, receiver, "dev_e")
    other_key, other_hooks = busy_developer(pipeline, receiver, "dev_f")
    theirs = {h["id"]: pipeline.records(h["id"]) for h in other_hooks}

    started = pipeline.stack.call("POST", "/v1/events/expunge", key=key, body=ALL)
    assert started.status == 202 and started.json["state"] == "queued"
    second = pipeline.stack.call("POST", "/v1/events/expunge", key=key, body=ALL)
    assert second.status == 429 and int(second.headers["Retry-After"]) >= 1
    pipeline.pump()

    job = pipeline.stack.call("GET", f"/v1/events/expunge/{started.json['jobId']}", key=key).json
    assert (job["state"], job["removed"], job["skipped"]) == ("done", 4, 0)
    for hook in hooks:
        for record in pipeline.records(hook["id"]):
            assert record["expunged"] is True and "payload" not in record and "payloadRef" not in record
        listed = pipeline.stack.call("GET", f"{WEBHOOKS}/{hook['id']}/deliveries", key=key).json["deliveries"]
        assert all(d["expunged"] for d in listed)
    assert {p["developerId"] for p in pipeline.stack.items("PayloadsTable")} == {"dev_f"}
    assert {h: pipeline.records(h) for h in theirs} == theirs
    assert pipeline.stack.call("GET", f"/v1/events/expunge/{started.json['jobId']}", key=other_key).status == 404


def test_jobs_are_one_at_a_time_a_few_an_hour_and_checked_before_queueing(pipeline, receiver):
    key, hooks = busy_developer(pipeline, receiver, "dev_g")
    _, other_hooks = busy_developer(pipeline, receiver, "dev_h")
    cases = [
        ({}, "since"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "until"),
        ({**ALL, "colour": "red"}, "colour"),
    ]
    for body, field in cases:
        answer = pipeline.stack.call("POST", "/v1/events/expunge", key=key, body=body)
        assert (answer.status, answer.error.get("field")) == (400, field), body
    foreign = pipeline.stack.call(
        "POST", "/v1/events/expunge", key=key, body={**ALL, "webhookId": other_hooks[0]["id"]}
    )
    assert foreign.status == 404
    for _ in range(5):
        answer = pipeline.stack.call("POST", "/v1/events/expunge", key=key, body={**ALL, "webhookId": hooks[0]["id"]})
        assert answer.status == 202
        pipeline.pump()
    sixth = pipeline.stack.call("POST", "/v1/events/expunge", key=key, body=ALL)
    assert sixth.status == 429 and "an hour" in sixth.error["message"]
    assert all("expunged" not in r for r in pipeline.records(hooks[1]["id"]))  # only the webhook asked for


def test_a_step_out_of_time_hands_on_and_the_job_still_ends_with_everything(pipeline, receiver, monkeypatch):
    from events_core.lifecycle import expunge_jobs

    def short_step(context):
        left = iter([100.0, 100.0])  # each step has time for two deliveries
        return lambda: next(left, 0.0)

    monkeypatch.setattr(expunge_jobs, "remaining", short_step)
    key, hooks = busy_developer(pipeline, receiver, "dev_slow")
    started = pipeline.stack.call("POST", "/v1/events/expunge", key=key, body=ALL)
    pipeline.pump()
    job = pipeline.stack.call("GET", f"/v1/events/expunge/{started.json['jobId']}", key=key).json
    assert (job["state"], job["removed"]) == ("done", 4)
    assert all(r.get("expunged") for h in hooks for r in pipeline.records(h["id"]))


def test_hostile_input_on_the_lifecycle_routes_is_a_4xx_never_a_5xx(stack):
    key = stack.key("dev_hostile")
    attempts = [
        ("PATCH", "/v1/events/settings", {"retention": {"payloadDays": 10**40}}),
        ("PATCH", "/v1/events/settings", {"retention": [1, 2]}),
        ("PATCH", "/v1/events/settings", {"retention": {"payloadDays": "7"}}),
        ("PATCH", "/v1/events/settings", {"x" * 3000: 1}),
        ("POST", "/v1/events/expunge", {"since": "2020-01-01T00:00:00Z", "webhookId": "~count"}),
        ("POST", "/v1/events/expunge", {"since": "2020-01-01T00:00:00Z", "webhookId": "a" * 3000}),
        ("POST", "/v1/events/expunge", {"since": "+275760-09-13T00:00:00Z"}),
        ("POST", "/v1/events/expunge", {"since": "9" * 5000}),
        ("POST", "/v1/events/expunge", [1]),
        ("GET", "/v1/events/expunge/" + "z" * 3000, None),
        ("GET", "/v1/events/expunge/..%2F..", None),
        ("DELETE", f"{WEBHOOKS}/{'0' * 24}/deliveries/msg_{'0' * 32}/payload", None),
        ("DELETE", f"{WEBHOOKS}/~count/deliveries/x/payload", None),
    ]
    for method, path, body in attempts:
        answer = stack.call(method, path, key=key, body=body)
        assert 400 <= answer.status < 500, (method, path[:80], answer.status, answer.raw[:200])
