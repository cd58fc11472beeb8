"""A deploy rehearsed on the emulator: what `sam deploy` does, in a moto server of its own (never
`eventsapi run`'s: moto invokes event-source mappings on every send). The parameters and Rules are
checked first by our evaluator (moto evaluates neither Rules nor AllowedPattern); the packaged
artifacts (a zip of each code and layer directory) go to the emulator's S3 at the keys the packaged
template names; CloudFormation creates the transformed stack from a TemplateURL; then the stack's
resources are compared with the template's, and every type the emulator skipped is reported."""

import io
import json
import os
import socket
import time
import warnings
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eventsapi.deploy import transform as sam_transform
from eventsapi.deploy import upgrade
from eventsapi.deploy.evaluate import Deployment, ParametersRefused

SKIPS_FILE = Path(__file__).with_name("emulator_skips.txt")
# What an upgrade must not lose, less the stream a default deploy has none of (LogSourceAccounts).
STATEFUL_TYPES = upgrade.STATEFUL_TYPES - {"AWS::Kinesis::Stream"}
TEMPLATE_KEY = "templates/packaged-transformed.json"
_FAKE_CREDENTIALS = {"aws_access_key_id": "rehearsal", "aws_secret_access_key": "rehearsal"}


@dataclass
class Rehearsal:
    stack_status: str
    created: dict[str, str]  # logical id → type, as list_stack_resources answers
    expected: dict[str, str]  # logical id → type, as the template creates with these parameters
    artifacts: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def skipped(self) -> dict[str, str]:
        return {name: kind for name, kind in self.expected.items() if name not in self.created}

    @property
    def skipped_types(self) -> set[str]:
        return set(self.skipped.values())

    def stateful_missing(self) -> dict[str, str]:
        return {name: kind for name, kind in self.skipped.items() if kind in STATEFUL_TYPES}


def known_skips() -> set[str]:
    """The resource types the emulator is known not to create (committed; the test fails when it grows)."""
    lines = (line.split("#", 1)[0].strip() for line in SKIPS_FILE.read_text().splitlines())
    return {line for line in lines if line}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def _emulator_fixes() -> Iterator[None]:
    """Where moto's CloudFormation creates differently from AWS: fixed on moto's side (the server
    runs in this process) for the rehearsal only, so the template it creates is the one AWS gets."""
    from moto.apigateway.models import RestAPI, apigateway_backends
    from moto.events.models import EventBus
    from moto.iam.policy_validation import BaseIAMPolicyValidator

    def version(validator: BaseIAMPolicyValidator) -> None:
        # IAM takes a document without Version as 2008-10-17; moto insists on the element.
        if validator._policy_json.get("Version", "2008-10-17") not in ("2008-10-17", "2012-10-17"):
            raise ValueError("unknown policy version")

    create_api = RestAPI.__dict__["create_from_cloudformation_json"]

    def create_with_body(
        cls: type, name: str, cloudformation_json: dict, account_id: str, region_name: str, **kw: Any
    ) -> Any:
        # AWS imports a RestApi's Body (its routes); moto's CloudFormation ignores it, and then
        # refuses the Deployment of an API without methods.
        api = create_api.__func__(cls, name, cloudformation_json, account_id, region_name, **kw)
        body = cloudformation_json["Properties"].get("Body")
        if body:
            apigateway_backends[account_id][region_name].put_rest_api(api.id, body, fail_on_warnings=False)
        return api

    patches = [
        (EventBus, "physical_resource_id", property(lambda bus: bus.name)),  # Ref of a bus is its name
        (BaseIAMPolicyValidator, "_validate_version", version),
        (RestAPI, "create_from_cloudformation_json", classmethod(create_with_body)),
    ]
    saved = [(owner, name, owner.__dict__.get(name)) for owner, name, _ in patches]
    for owner, name, value in patches:
        setattr(owner, name, value)
    try:
        yield
    finally:
        for owner, name, value in saved:
            if value is None:
                delattr(owner, name)
            else:
                setattr(owner, name, value)


@contextmanager
def own_emulator() -> Iterator[str]:
    """A moto server for this rehearsal alone, on a free 127.0.0.1 port; stopped afterwards."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    # moto says each type it skips twice (a log line, a warning); report() lists them once, by name.
    logging.getLogger("moto").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message="Tried to parse AWS::", category=UserWarning)
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    with _emulator_fixes():
        server.start()
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.stop()


def _zip(directory: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(directory.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.write(path, path.relative_to(directory).as_posix())
    return buffer.getvalue()


def _artifact_keys(node: Any) -> Iterator[str]:
    """Every s3://<artifact bucket>/<key> the packaged template names."""
    if isinstance(node, dict):
        for value in node.values():
            yield from _artifact_keys(value)
    elif isinstance(node, list):
        for value in node:
            yield from _artifact_keys(value)
    elif isinstance(node, str) and node.startswith(f"s3://{sam_transform.ARTIFACT_BUCKET}/"):
        yield node.removeprefix(f"s3://{sam_transform.ARTIFACT_BUCKET}/")


def check_parameters(transformed: Mapping[str, Any], parameters: Mapping[str, str]) -> None:
    refusals = Deployment(transformed, parameters).refusals()
    if refusals:
        raise ParametersRefused(refusals)


def rehearse(
    root: Path,
    parameters: Mapping[str, str],
    *,
    stack_name: str = "events-api-rehearsal",
    region: str = sam_transform.DEFAULT_REGION,
    template: Mapping[str, Any] | None = None,
) -> Rehearsal:
    """Create the stack on an emulator of its own; ParametersRefused before anything is created."""
    import boto3

    started = time.monotonic()
    sam = template if template is not None else sam_transform.load_yaml(root / "template.yaml")
    transformed = sam_transform.transform(sam, parameters, region)
    check_parameters(transformed, parameters)
    deployment = Deployment(transformed, parameters, stack_name=stack_name, region=region)
    expected = {name: spec["Type"] for name, spec in deployment.resources.items()}
    with own_emulator() as endpoint:
        session = boto3.session.Session(region_name=region, **_FAKE_CREDENTIALS)
        s3 = session.client("s3", endpoint_url=endpoint)
        cloudformation = session.client("cloudformation", endpoint_url=endpoint)
        s3.create_bucket(Bucket=sam_transform.ARTIFACT_BUCKET)
        keys = sorted(set(_artifact_keys(sam_transform.package(sam))))
        for key in keys:
            s3.put_object(Bucket=sam_transform.ARTIFACT_BUCKET, Key=key, Body=_zip(root / key))
        s3.put_object(
            Bucket=sam_transform.ARTIFACT_BUCKET,
            Key=TEMPLATE_KEY,
            Body=json.dumps(_for_the_emulator(deployment)).encode(),
        )
        cloudformation.create_stack(
            StackName=stack_name,
            TemplateURL=f"https://{sam_transform.ARTIFACT_BUCKET}.s3.amazonaws.com/{TEMPLATE_KEY}",
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
            Capabilities=["CAPABILITY_IAM"],
        )
        status = _settled(cloudformation, stack_name)
        created: dict[str, str] = {}
        pages = cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack_name)
        for page in pages:
            for summary in page["StackResourceSummaries"]:
                created[summary["LogicalResourceId"]] = summary["ResourceType"]
    return Rehearsal(status, created, expected, keys, time.monotonic() - started)


def _for_the_emulator(deployment: Deployment) -> dict:
    """The transformed template less its outputs whose Condition is false: moto reads such a condition
    with dict.get on its lazy map (a function, so always true) and fails on the absent resource."""
    template = dict(deployment.template)
    template["Outputs"] = {
        name: output
        for name, output in template.get("Outputs", {}).items()
        if "Condition" not in output or deployment.condition(output["Condition"])
    }
    return template


def _settled(cloudformation: Any, stack_name: str, timeout: float = 300) -> str:
    deadline = time.monotonic() + timeout
    while True:
        status = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]["StackStatus"]
        if not status.endswith("_IN_PROGRESS") or time.monotonic() > deadline:
            return status
        time.sleep(0.5)


def report(result: Rehearsal) -> list[str]:
    lines = [
        f"stack {result.stack_status}: {len(result.created)} of {len(result.expected)} resources created"
        f" on the emulator ({len(result.artifacts)} artifacts uploaded, {result.seconds:.1f} s)"
    ]
    by_type: dict[str, list[str]] = {}
    for name, kind in sorted(result.skipped.items()):
        by_type.setdefault(kind, []).append(name)
    for kind, names in sorted(by_type.items()):
        lines.append(f"skipped by the emulator: {kind} × {len(names)} ({', '.join(names)})")
    return lines


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="eventsapi deploy rehearse", description=__doc__)
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[3])
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args(argv)
    parameters = dict(pair.split("=", 1) for pair in args.param)
    os.environ.setdefault("AWS_DEFAULT_REGION", sam_transform.DEFAULT_REGION)
    try:
        result = rehearse(args.root, parameters)
    except (ParametersRefused, sam_transform.TransformRejected) as refused:
        print(f"rehearsal refused before create_stack: {refused}")
        return 1
    for line in report(result):
        print(line)
    grown = result.skipped_types - known_skips()
    if grown:
        print(f"new types the emulator skipped (not in {SKIPS_FILE.name}): {', '.join(sorted(grown))}")
    missing = result.stateful_missing()
    if missing:
        print(f"stateful resources not created: {', '.join(sorted(missing))}")
    return 1 if grown or missing or result.stack_status != "CREATE_COMPLETE" else 0
