"""`eventsapi invoke` runs every sample event in events/ against the local stack, as sam local invoke would."""

import json
from pathlib import Path

import pytest

from eventsapi.local.template import load_yaml
from tests.e2e.conftest import ROOT

# Which function a sample event belongs to comes from the template (the source of truth): a
# sample is named after its function's code folder (`events/<folder>[.variant].json` for
# `CodeUri: functions/<folder>`), so a new function's sample needs no hand-kept list here.
FUNCTION_OF_EVENT = {
    Path(resource["Properties"]["CodeUri"]).name: logical_id
    for logical_id, resource in load_yaml(ROOT / "template.yaml")["Resources"].items()
    if resource["Type"] == "AWS::Serverless::Function"
}


def _function_for(event_file: Path) -> str:
    return FUNCTION_OF_EVENT[event_file.stem.split(".")[0]]


@pytest.mark.parametrize("event_file", sorted((ROOT / "events").glob("*.json")), ids=lambda p: p.name)
def test_every_sample_event_runs(running_stack, event_file):
    if event_file.stem.startswith("authorizer"):
        # The authorizer's sample carries a fixed key: unknown here, so it must answer Unauthorized.
        done = running_stack.eventsapi("invoke", _function_for(event_file), "-e", str(event_file))
        assert done.returncode == 1
        assert json.loads(done.stdout)["errorMessage"] == "Unauthorized"
        return
    done = running_stack.eventsapi("invoke", _function_for(event_file), "-e", str(event_file))
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    if "awslogs" in json.loads(event_file.read_text()):
        # A CloudWatch Logs subscription's batch: one line written, one without a developer skipped.
        assert result == {"written": 1, "noDeveloper": 1, "malformed": 0}
    elif "Records" in json.loads(event_file.read_text()):
        assert result == {"batchItemFailures": []}
    elif json.loads(event_file.read_text()).get("detail-type") == "Scheduled Event":
        assert isinstance(result, dict)  # a scheduled run answers what it did (the retention sweep's counts)
    else:
        assert result["statusCode"] < 500
        if not event_file.stem.startswith("console"):
            json.loads(result["body"])


def test_unknown_function_is_refused(running_stack):
    done = running_stack.eventsapi("invoke", "NoSuchFunction", "-e", str(ROOT / "events" / "list_logs.json"))
    assert done.returncode != 0
    assert "NoSuchFunction" in done.stderr
