"""Reads template.yaml the way CloudFormation and SAM would, enough to run it locally:
short-form intrinsics, parameters, SAM Globals, and Ref/GetAtt/Sub resolution."""

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ACCOUNT_ID = "123456789012"


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short forms: !Ref X → {"Ref": X}, !GetAtt A.B → {"Fn::GetAtt": [A, B]}."""


def _intrinsic(loader: _CfnLoader, suffix: str, node: yaml.Node) -> dict:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {"Ref" if suffix == "Ref" else f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


def load_yaml(path: Path) -> dict:
    return yaml.load(path.read_text(), Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass


class Unresolved(Exception):
    """A reference to a resource that has not been provisioned yet."""


@dataclass
class Physical:
    """What a provisioned resource answers to Ref and GetAtt."""

    ref: str
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass
class FunctionSpec:
    logical_id: str
    code_uri: Path
    handler: str
    timeout: int
    memory_size: int
    environment: dict[str, Any]  # as written: resolve with Template.resolve once provisioned
    events: dict[str, dict]

    @property
    def module_path(self) -> Path:
        module, _, _ = self.handler.rpartition(".")
        return self.code_uri / (module.replace(".", "/") + ".py")

    @property
    def attribute(self) -> str:
        return self.handler.rpartition(".")[2]


class _NoValue:
    """AWS::NoValue: the property (or list item) it stands for is left out."""


NO_VALUE = _NoValue()


def physical_name(stack_name: str, logical_id: str) -> str:
    """CloudFormation-style generated names, stable so tools can find them (stack-LogicalId)."""
    return f"{stack_name}-{logical_id}"


class Template:
    def __init__(self, path: Path, *, stack_name: str, region: str, overrides: dict[str, str] | None = None):
        self.path = path
        self.root = path.parent
        self.raw = load_yaml(path)
        self.stack_name = stack_name
        self.region = region
        self.parameters = {
            name: str((overrides or {}).get(name, spec.get("Default", "")))
            for name, spec in self.raw.get("Parameters", {}).items()
        }
        unknown = set(overrides or {}) - set(self.parameters)
        if unknown:
            raise ValueError(f"unknown template parameter(s): {', '.join(sorted(unknown))}")
        self.physical: dict[str, Physical] = {}
        self._conditions: dict[str, bool] = {}

    @functools.cached_property
    def resources(self) -> dict[str, dict]:
        """The resources this deployment has: those whose Condition is false are left out (the
        parameters are fixed at construction, so this is worked out once)."""
        return {
            logical_id: resource
            for logical_id, resource in self.raw["Resources"].items()
            if "Condition" not in resource or self.condition(resource["Condition"])
        }

    def of_type(self, resource_type: str) -> dict[str, dict]:
        return {
            logical_id: resource.get("Properties", {})
            for logical_id, resource in self.resources.items()
            if resource["Type"] == resource_type
        }

    def physical_name(self, logical_id: str) -> str:
        return physical_name(self.stack_name, logical_id)

    def arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{ACCOUNT_ID}:{resource}"

    # -- conditions
    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            spec = self.raw.get("Conditions", {}).get(name)
            if spec is None:
                raise KeyError(f"no condition {name!r}")
            self._conditions[name] = self._truth(spec)
        return self._conditions[name]

    def _truth(self, spec: Any) -> bool:
        ((key, arg),) = spec.items()
        if key == "Fn::Equals":
            left, right = (self.resolve(side) for side in arg)
            return str(left) == str(right)
        if key == "Fn::Not":
            return not self._truth(arg[0])
        if key == "Fn::And":
            return all(self._truth(item) for item in arg)
        if key == "Fn::Or":
            return any(self._truth(item) for item in arg)
        if key in ("Condition", "Fn::Condition"):  # !Condition X is read as Fn::Condition
            return self.condition(arg)
        if key == "Fn::Contains":  # rules only: is the value one of the list's
            return str(self.resolve(arg[1])) in [str(item) for item in self.resolve(arg[0])]
        raise ValueError(f"unsupported condition function {key}")

    # -- rules
    def broken_rules(self) -> list[str]:
        """The AssertDescription of every rule assertion these parameters break: what CloudFormation
        would refuse the deploy with, before it changes anything."""
        broken = []
        for name, rule in self.raw.get("Rules", {}).items():
            if "RuleCondition" in rule and not self._truth(rule["RuleCondition"]):
                continue
            for assertion in rule["Assertions"]:
                if not self._truth(assertion["Assert"]):
                    broken.append(f"{name}: {assertion.get('AssertDescription', 'assertion failed')}")
        return broken

    # -- intrinsics
    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [item for item in (self.resolve(item) for item in value) if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return NO_VALUE if arg == "AWS::NoValue" else self._ref(arg)
            if key == "Fn::GetAtt":
                return self._get_att(*arg)
            if key == "Fn::Sub":
                return self._sub(arg)
            if key == "Fn::If":
                chosen = arg[1] if self.condition(arg[0]) else arg[2]
                return self.resolve(chosen)
            if key == "Fn::Join":
                return str(arg[0]).join(str(part) for part in self.resolve(arg[1]))
            if key == "Fn::Split":
                return str(self.resolve(arg[1])).split(str(arg[0]))
            if key == "Fn::Select":
                return self.resolve(arg[1])[int(self.resolve(arg[0]))]
            if key == "Fn::FindInMap":
                mapping, top, second = (str(self.resolve(part)) for part in arg)
                return self.raw["Mappings"][mapping][top][second]
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def _pseudo(self, name: str) -> str | None:
        return {
            "AWS::Region": self.region,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": self.arn("cloudformation", f"stack/{self.stack_name}/0ca1c0de-0000-4000-8000-000000000000"),
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }.get(name)

    def _ref(self, name: str) -> str:
        if name in self.parameters:
            return self.parameters[name]
        pseudo = self._pseudo(name)
        if pseudo is not None:
            return pseudo
        if name.endswith(".Stage"):  # SAM: an AWS::Serverless::Api's stage, by its name
            return str(self.resolve(self.raw["Resources"][name[: -len(".Stage")]]["Properties"]["StageName"]))
        if name in self.physical:
            return self.physical[name].ref
        if name in self.resources:
            raise Unresolved(name)
        raise KeyError(f"!Ref {name}: no such parameter or resource")

    def _get_att(self, name: str, attribute: str) -> str:
        if name not in self.physical:
            if name in self.resources:
                raise Unresolved(name)
            raise KeyError(f"!GetAtt {name}.{attribute}: no such resource")
        return self.physical[name].attributes[attribute]

    def _sub(self, arg: str | list) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))

        def replace(match: re.Match) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name:
                return self._get_att(*name.split(".", 1))
            return self._ref(name)

        return re.sub(r"\$\{([^}!]+)\}", replace, text)

    # -- SAM
    def globals_environment(self) -> dict[str, str]:
        """The environment SAM's Globals give every function, resolved."""
        variables = self.raw.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
        return {name: str(self.resolve(value)) for name, value in variables.items()}

    def function_logical_ids(self) -> list[str]:
        return list(self.of_type("AWS::Serverless::Function"))

    def function(self, logical_id: str) -> FunctionSpec:
        """A function with SAM's Globals applied."""
        props = self.of_type("AWS::Serverless::Function")[logical_id]
        defaults = self.raw.get("Globals", {}).get("Function", {})
        variables = {
            **defaults.get("Environment", {}).get("Variables", {}),
            **props.get("Environment", {}).get("Variables", {}),
        }
        return FunctionSpec(
            logical_id=logical_id,
            code_uri=self.root / props.get("CodeUri", defaults.get("CodeUri", ".")),
            handler=props.get("Handler", defaults.get("Handler", "")),
            timeout=int(props.get("Timeout", defaults.get("Timeout", 3))),
            memory_size=int(props.get("MemorySize", defaults.get("MemorySize", 128))),
            environment=variables,
            events=props.get("Events", {}),
        )

    def logical_id_of(self, reference: Any) -> str:
        """The logical id behind !Ref X, !GetAtt X.Arn or a plain name."""
        if isinstance(reference, dict):
            ((key, arg),) = reference.items()
            return arg if key == "Ref" else arg[0]
        return str(reference)
