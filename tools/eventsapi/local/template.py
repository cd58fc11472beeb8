"""Reads template.yaml as AWS does: through the SAM transform CloudFormation runs
(eventsapi.deploy.transform), then the transformed template's conditions, rules and intrinsics
(Ref/GetAtt/Sub/If/...). What runs locally — functions, handlers, environment, routes and their
authorizers, event sources — is what the transformed template declares, so a template AWS would
refuse, or wire differently, cannot run here either."""

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eventsapi.deploy.transform import DEFAULT_REGION, TransformRejected, load_yaml, transform

ACCOUNT_ID = "123456789012"


__all__ = ["load_yaml"]  # read by tools that want the SAM source as written


class TemplateRejected(Exception):
    """The SAM transform refuses the template; the message is the translator's, on one line."""


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

    @property
    def module_path(self) -> Path:
        module, _, _ = self.handler.rpartition(".")
        return self.code_uri / (module.replace(".", "/") + ".py")

    @property
    def attribute(self) -> str:
        return self.handler.rpartition(".")[2]


@dataclass(frozen=True)
class ApiRoute:
    """One method of a REST API's OpenAPI body: what API Gateway routes, to which function, behind
    which authorizer (None: no authorizer), and whether it asks for an API key."""

    method: str
    path: str
    function: str
    authorizer: str | None
    api_key_required: bool


@dataclass(frozen=True)
class ApiAuthorizer:
    function: str
    headers: tuple[str, ...]
    ttl: int


class _NoValue:
    """AWS::NoValue: the property (or list item) it stands for is left out."""


NO_VALUE = _NoValue()


def physical_name(stack_name: str, logical_id: str) -> str:
    """CloudFormation-style generated names, stable so tools can find them (stack-LogicalId)."""
    return f"{stack_name}-{logical_id}"


def parameter_problem(name: str, spec: dict[str, Any], value: str) -> str | None:
    """What CloudFormation would say of `value` for the parameter `spec` declares (AllowedValues,
    a Number's MinValue/MaxValue, AllowedPattern, MinLength/MaxLength), or None when it passes."""
    allowed = [str(v) for v in spec.get("AllowedValues", [])]
    if allowed and value not in allowed:
        return f"{name}={value!r} is not allowed; one of {', '.join(allowed)}"
    if spec.get("Type") == "Number":
        try:
            number = float(value)
        except ValueError:
            return f"{name}={value!r} must be a number"
        if "MinValue" in spec and number < float(spec["MinValue"]):
            return f"{name}={value} is below its MinValue {spec['MinValue']}"
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            return f"{name}={value} is above its MaxValue {spec['MaxValue']}"
    if "MinLength" in spec and len(value) < int(spec["MinLength"]):
        return f"{name}: at least {spec['MinLength']} characters, got {len(value)}"
    if "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
        return f"{name}: at most {spec['MaxLength']} characters, got {len(value)}"
    if "AllowedPattern" in spec and not re.fullmatch(str(spec["AllowedPattern"]), value):
        why = spec.get("ConstraintDescription") or f"does not match {spec['AllowedPattern']}"
        return f"{name}={value!r}: {why}"
    return None


class Template:
    def __init__(self, path: Path, *, stack_name: str, region: str, overrides: dict[str, str] | None = None):
        self.path = path
        self.root = path.parent
        self.sam = load_yaml(path)  # the source as written; everything else reads the transformed template
        self.stack_name = stack_name
        self.region = region
        self.parameters = {
            name: str((overrides or {}).get(name, spec.get("Default", "")))
            for name, spec in self.sam.get("Parameters", {}).items()
        }
        unknown = set(overrides or {}) - set(self.parameters)
        if unknown:
            raise ValueError(f"unknown template parameter(s): {', '.join(sorted(unknown))}")
        try:
            self.raw = transform(self.sam, self.parameters, region or DEFAULT_REGION)
        except TransformRejected as error:
            raise TemplateRejected(f"{path.name}: the SAM transform refuses it: {error}") from None
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
            if key == "Fn::Base64":
                return self.resolve(arg)
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

    # -- functions (AWS::Lambda::Function, with SAM's Globals already merged by the transform)
    def function_logical_ids(self) -> list[str]:
        return list(self.of_type("AWS::Lambda::Function"))

    def function(self, logical_id: str) -> FunctionSpec:
        props = self.of_type("AWS::Lambda::Function")[logical_id]
        code = props.get("Code", {})
        if "S3Key" not in code:
            raise ValueError(f"{logical_id}: no packaged code (Code: {sorted(code)}) to map back to a directory")
        return FunctionSpec(
            logical_id=logical_id,
            code_uri=self.root / str(code["S3Key"]),  # the package step keys code by its local path
            handler=str(props.get("Handler", "")),
            timeout=int(self.resolve(props.get("Timeout", 3))),
            memory_size=int(self.resolve(props.get("MemorySize", 128))),
            environment=props.get("Environment", {}).get("Variables", {}),
        )

    def function_of(self, reference: Any) -> str:
        """The function behind an invocation ARN as API Gateway writes it:
        arn:…:functions/${Fn.Arn}/invocations, or Fn::Sub with a variable that is !GetAtt Fn.Arn."""
        text, variables = (reference, {}) if isinstance(reference, str) else _sub_parts(reference)
        for name in re.findall(r"\$\{([^}!]+)\}", text):
            target = variables.get(name, {"Fn::GetAtt": name.split(".", 1)} if "." in name else {"Ref": name})
            logical_id = self.logical_id_of(target)
            if logical_id in self.of_type("AWS::Lambda::Function"):
                return logical_id
        raise ValueError(f"no function in the integration URI {reference!r}")

    # -- REST APIs (AWS::ApiGateway::RestApi with an OpenAPI Body, as the transform writes them)
    def rest_api_logical_ids(self) -> list[str]:
        return list(self.of_type("AWS::ApiGateway::RestApi"))

    def api_body(self, api_logical_id: str) -> dict:
        return self.of_type("AWS::ApiGateway::RestApi")[api_logical_id].get("Body", {})

    def api_stage(self, api_logical_id: str) -> dict:
        """The properties of the API's stage (resolved later by the caller)."""
        for props in self.of_type("AWS::ApiGateway::Stage").values():
            if self.logical_id_of(props.get("RestApiId")) == api_logical_id:
                return props
        raise ValueError(f"{api_logical_id}: no AWS::ApiGateway::Stage")

    def api_authorizers(self, api_logical_id: str) -> dict[str, ApiAuthorizer]:
        body = self.api_body(api_logical_id)
        schemes = body.get("components", {}).get("securitySchemes") or body.get("securityDefinitions") or {}
        authorizers = {}
        for name, scheme in schemes.items():
            spec = scheme.get("x-amazon-apigateway-authorizer")
            if spec is None:
                continue
            sources = str(self.resolve(spec.get("identitySource", ""))) or f"method.request.header.{scheme['name']}"
            headers = tuple(
                source.strip().removeprefix("method.request.header.")
                for source in sources.split(",")
                if source.strip().startswith("method.request.header.")
            )
            authorizers[name] = ApiAuthorizer(
                function=self.function_of(spec["authorizerUri"]),
                headers=headers,
                ttl=int(self.resolve(spec.get("authorizerResultTtlInSeconds", 300))),
            )
        return authorizers

    def api_routes(self, api_logical_id: str) -> list[ApiRoute]:
        body = self.api_body(api_logical_id)
        authorizers = self.api_authorizers(api_logical_id)
        default_security = body.get("security", [])
        routes = []
        for path, item in body.get("paths", {}).items():
            for method, operation in item.items():
                integration = operation.get("x-amazon-apigateway-integration") if isinstance(operation, dict) else None
                if integration is None:
                    continue
                if integration.get("type") != "aws_proxy":
                    kind = integration.get("type")
                    raise ValueError(f"{method.upper()} {path}: integration {kind!r} is not run locally")
                names = [name for requirement in operation.get("security", default_security) for name in requirement]
                routes.append(
                    ApiRoute(
                        method="ANY" if method == "x-amazon-apigateway-any-method" else method.upper(),
                        path=path,
                        function=self.function_of(integration["uri"]),
                        authorizer=next((name for name in names if name in authorizers), None),
                        api_key_required="api_key" in names,
                    )
                )
        return routes

    def gateway_responses(self, api_logical_id: str) -> dict[str, dict]:
        return self.api_body(api_logical_id).get("x-amazon-apigateway-gateway-responses", {})

    # -- scheduled rules (a function invoked on a timer)
    def schedules(self) -> list[tuple[str, str, str]]:
        """(rule, schedule expression, function) for every enabled scheduled rule that invokes one of
        the template's functions."""
        found = []
        for logical_id, props in self.of_type("AWS::Events::Rule").items():
            if "ScheduleExpression" not in props or props.get("State", "ENABLED") != "ENABLED":
                continue
            for target in props.get("Targets", []):
                function = self.logical_id_of(target["Arn"])
                if function in self.of_type("AWS::Lambda::Function"):
                    found.append((logical_id, str(self.resolve(props["ScheduleExpression"])), function))
        return found

    def logical_id_of(self, reference: Any) -> str:
        """The logical id behind !Ref X, !GetAtt X.Arn or a plain name."""
        if isinstance(reference, dict):
            ((key, arg),) = reference.items()
            return arg if key == "Ref" else arg[0]
        return str(reference)


def _sub_parts(reference: dict) -> tuple[str, dict]:
    ((key, arg),) = reference.items()
    if key != "Fn::Sub":
        raise ValueError(f"not an Fn::Sub: {reference!r}")
    return (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
