"""The `AWS::Serverless-2016-10-31` transform that CloudFormation runs, run here on what `sam deploy`
sends: the template packaged as `sam package` packages it (local code locations become S3 URIs), then
translated by aws-sam-translator, the version the pinned SAM CLI ships. `make validate`, the template
tests and `eventsapi run` all read the template through this one function, so a template AWS would
reject cannot run locally either."""

import copy
import functools
import hashlib
import json
import logging
import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

# Where packaged code "lives": the S3 key is the code's path in the repository, so the local runtime
# maps a transformed function back to its directory (and the rehearsal uploads it there).
ARTIFACT_BUCKET = "eventsapi-packaged-artifacts"
DEFAULT_REGION = "us-east-1"
# Samples for parameters a Condition reads that have no AllowedValues: one value on the other side
# of the condition from the default, valid for the parameter's pattern.
# The longest suffix that fits wins.
_SAMPLES_BY_SUFFIX = {
    "TopicArn": "arn:aws:sns:us-east-1:123456789012:operators",
    "Arn": "arn:aws:kms:us-east-1:123456789012:key/0ca1c0de-0000-4000-8000-000000000000",
    "TableName": "retained-table",
    "EventBusName": "retained-bus",
    "Email": "operators@example.com",
    "Accounts": "111122223333",
}


class _CfnLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]  # libyaml: 10x faster
    """YAML with CloudFormation's short forms: !Ref X → {"Ref": X}, !Condition C → {"Condition": C},
    !GetAtt A.B → {"Fn::GetAtt": [A, B]}."""


def _intrinsic(loader: _CfnLoader, suffix: str, node: yaml.Node) -> dict:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    # !Ref and !Condition are the two short forms whose long form has no "Fn::".
    return {suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


def load_yaml(path: Path) -> dict:
    """The template as written (a fresh copy: callers may change it)."""
    stat = path.stat()
    return copy.deepcopy(_load_yaml(path.resolve(), stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=8)
def _load_yaml(path: Path, _mtime_ns: int, _size: int) -> dict:
    return yaml.load(path.read_text(), Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass


class TransformRejected(Exception):
    """The SAM transform refuses the template: CloudFormation would fail the change set the same way."""


def _s3_uri(location: Any) -> Any:
    if isinstance(location, str) and not location.startswith("s3://"):
        return f"s3://{ARTIFACT_BUCKET}/{Path(location).as_posix().strip('/') or '.'}"
    return location


def package(sam: Mapping[str, Any]) -> dict:
    """The template as `sam package` uploads it: every local CodeUri, ContentUri and DefinitionUri an
    S3 URI (whose key is the local path). The source is not changed."""
    packaged = copy.deepcopy(dict(sam))
    globals_function = packaged.get("Globals", {}).get("Function", {})
    if "CodeUri" in globals_function:
        globals_function["CodeUri"] = _s3_uri(globals_function["CodeUri"])
    for resource in packaged.get("Resources", {}).values():
        properties = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri", "DefinitionUri"):
            if key in properties:
                properties[key] = _s3_uri(properties[key])
    return packaged


def local_path(s3_key: str, root: Path) -> Path:
    """Where packaged code came from: the S3 key is its path under the repository root."""
    return root / s3_key


def default_parameters(sam: Mapping[str, Any]) -> dict[str, str]:
    return {name: str(spec.get("Default", "")) for name, spec in sam.get("Parameters", {}).items()}


def _cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "eventsapi" / "sam-transform"


def transform(
    sam: Mapping[str, Any], parameters: Mapping[str, str] | None = None, region: str = DEFAULT_REGION
) -> dict:
    """The CloudFormation template AWS would create from this SAM template (packaged first when its code
    locations are local), or TransformRejected with the translator's own words on one line.

    The translation is a pure function of its inputs and the translator's version, so it is kept on disk
    by their digest: a local run or a test starts without importing the translator (about 1.5 s)."""
    from importlib.metadata import version

    inputs = json.dumps([sam, dict(parameters or {}), region, version("aws-sam-translator")], sort_keys=True)
    digest = hashlib.sha256(inputs.encode()).hexdigest()
    return copy.deepcopy(_transform_cached(digest, json.dumps(sam), json.dumps(dict(parameters or {})), region))


@functools.lru_cache(maxsize=32)
def _transform_cached(digest: str, sam_json: str, parameters_json: str, region: str) -> dict:
    cached = _cache_dir() / f"{digest}.json"
    try:
        return json.loads(cached.read_text())
    except (OSError, ValueError):
        pass
    transformed = _translate(sam_json, parameters_json, region)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps(transformed))
        partial.replace(cached)  # atomic: parallel test workers never read half a file
    except OSError:
        pass  # a read-only home only costs the translation next time
    return transformed


def _translate(sam_json: str, parameters_json: str, region: str) -> dict:
    import boto3  # the translator asks a session only for its region (and so the partition)
    from samtranslator.internal.managed_policies import get_bundled_managed_policy_map
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    # It logs every feature toggle it does not know at WARNING; its refusals come back as exceptions.
    logging.getLogger("samtranslator").setLevel(logging.ERROR)
    sam = package(json.loads(sam_json))
    values = {**default_parameters(sam), **json.loads(parameters_json)}
    session = boto3.session.Session(region_name=region)
    translator = Translator(managed_policy_map=None, sam_parser=Parser(), plugins=[], boto_session=session)
    try:
        return translator.translate(
            sam_template=sam,
            parameter_values=values,
            get_managed_policy_map=lambda: (
                get_bundled_managed_policy_map(session.get_partition_for_region(region)) or {}
            ),
        )
    except InvalidDocumentException as error:
        causes = " ".join(str(cause.message) for cause in error.causes)
        raise TransformRejected(f"{error.message} {causes}".strip()) from None


def transform_file(path: Path, parameters: Mapping[str, str] | None = None, region: str = DEFAULT_REGION) -> dict:
    return transform(load_yaml(path), parameters, region)


def _parameters_read_by_conditions(sam: Mapping[str, Any]) -> list[str]:
    names: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if set(node) == {"Ref"} and node["Ref"] in sam.get("Parameters", {}) and node["Ref"] not in names:
                names.append(node["Ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(sam.get("Conditions", {}))
    return names


def _compared_literals(sam: Mapping[str, Any], name: str) -> list[str]:
    """The literal values a Condition compares the parameter with (Fn::Equals [!Ref name, literal])."""
    literals: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            equals = node.get("Fn::Equals")
            if isinstance(equals, list) and {"Ref": name} in equals:
                literals.extend(str(side) for side in equals if not isinstance(side, dict | list))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(sam.get("Conditions", {}))
    return literals


def _other_side(name: str, spec: Mapping[str, Any], taken: list[str]) -> str | None:
    """A valid value of the parameter that none of the compared literals equals."""
    if spec.get("Type") == "Number":
        for candidate in (spec.get("MaxValue"), spec.get("MinValue"), 1, 2):
            if candidate is not None and str(candidate) not in taken:
                return str(candidate)
        return None
    sample = next((value for suffix, value in _SAMPLES_BY_SUFFIX.items() if name.endswith(suffix)), "sample")
    pattern = spec.get("AllowedPattern")
    # CloudFormation's patterns are Java regular expressions; the ones this template uses read the same here.
    if pattern and not re.fullmatch(pattern, sample):
        return None
    return sample if sample not in taken else None


def conditional_parameter_sets(sam: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, str]]]:
    """("defaults", {}) then, for every value of every parameter a Condition reads, that one value over
    the defaults: what `make validate` transforms and lints, so no conditional branch ships untried."""
    yield "defaults", {}
    parameters = sam.get("Parameters", {})
    defaults = default_parameters(sam)
    for name in _parameters_read_by_conditions(sam):
        spec = parameters[name]
        values = [str(value) for value in spec.get("AllowedValues", [])]
        if not values:
            taken = [defaults[name], *_compared_literals(sam, name)]
            other = _other_side(name, spec, taken)
            values = list(dict.fromkeys([*taken, *([other] if other is not None else [])]))
        for value in values:
            if value != defaults[name]:
                yield f"{name}={value}", {name: value}
