"""What CloudFormation decides about a transformed template before and while it creates the stack:
parameter constraints (AllowedValues, AllowedPattern, bounds) and the Rules, which the emulator
never evaluates, then conditions and intrinsic functions, with the physical names AWS's Ref and
GetAtt give each resource type. The template tests and the deploy rehearsal read the transformed
template (what AWS creates) through this one reading."""

import re
from collections.abc import Mapping
from typing import Any

DEFAULT_ACCOUNT = "123456789012"
NO_VALUE = object()  # what !Ref AWS::NoValue leaves: the property or list item disappears


class ParametersRefused(Exception):
    """CloudFormation would refuse the stack before creating anything (parameters or Rules)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def parameter_values(template: Mapping[str, Any], given: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Every declared parameter's value (given over default); a CommaDelimitedList as a list."""
    values: dict[str, Any] = {}
    for name, spec in template.get("Parameters", {}).items():
        value = str((given or {}).get(name, spec.get("Default", "")))
        values[name] = ([] if value == "" else value.split(",")) if spec.get("Type") == "CommaDelimitedList" else value
    return values


def _number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def parameter_problems(template: Mapping[str, Any], given: Mapping[str, str]) -> list[str]:
    """The constraints CloudFormation checks on each value, in its words (ConstraintDescription when the
    parameter has one). CloudFormation's patterns are Java's and must match the whole value."""
    declared = template.get("Parameters", {})
    problems = [f"Parameter {name} does not exist in the template" for name in given if name not in declared]
    for name, spec in declared.items():
        if name not in given and "Default" not in spec:
            problems.append(f"Parameter {name} must have a value")
            continue
        value = str(given.get(name, spec.get("Default", "")))
        broken = None
        if spec.get("Type") == "Number":
            number = _number(value)
            if number is None:
                broken = "must be a number"
            elif "MinValue" in spec and number < float(spec["MinValue"]):
                broken = f"must be at least {spec['MinValue']}"
            elif "MaxValue" in spec and number > float(spec["MaxValue"]):
                broken = f"must be at most {spec['MaxValue']}"
        allowed = [str(v) for v in spec.get("AllowedValues", [])]
        if broken is None and allowed and value not in allowed:
            broken = f"must be one of {', '.join(allowed)}"
        pattern = spec.get("AllowedPattern")
        if broken is None and pattern is not None and not re.fullmatch(pattern, value):
            broken = f"must match pattern {pattern}"
        if broken is not None:
            reason = spec.get("ConstraintDescription") or broken
            problems.append(f"Parameter {name} failed to satisfy constraint: {reason}")
    return problems


class Deployment:
    """One stack of a transformed template, as CloudFormation would create it with these parameters."""

    def __init__(
        self,
        template: Mapping[str, Any],
        parameters: Mapping[str, str] | None = None,
        *,
        stack_name: str = "events-api",
        region: str = "us-east-1",
        account: str = DEFAULT_ACCOUNT,
    ) -> None:
        self.template = template
        self.given = dict(parameters or {})
        self.stack_name, self.region, self.account = stack_name, region, account
        self.parameters = parameter_values(template, self.given)
        self._conditions: dict[str, bool] = {}
        self.resources = {
            name: spec
            for name, spec in template.get("Resources", {}).items()
            if "Condition" not in spec or self.condition(spec["Condition"])
        }

    # -- before anything is created

    def broken_rules(self) -> list[str]:
        """Each failed assertion as "Rule: AssertDescription", as CloudFormation refuses the stack."""
        broken = []
        for name, rule in self.template.get("Rules", {}).items():
            if "RuleCondition" in rule and not self._truth(rule["RuleCondition"]):
                continue
            for assertion in rule.get("Assertions", []):
                if not self._truth(assertion["Assert"]):
                    broken.append(f"{name}: {assertion.get('AssertDescription', 'assertion failed')}")
        return broken

    def refusals(self) -> list[str]:
        problems = parameter_problems(self.template, self.given)
        return problems or self.broken_rules()

    # -- conditions and intrinsic functions

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            self._conditions[name] = self._truth(self.template["Conditions"][name])
        return self._conditions[name]

    def _truth(self, node: Any) -> bool:
        if isinstance(node, bool):
            return node
        if isinstance(node, str):
            return node.lower() == "true"
        [(function, arguments)] = node.items()
        if function == "Condition":
            return self.condition(arguments)
        if function == "Fn::Equals":
            left, right = (self.resolve(side) for side in arguments)
            return _plain(left) == _plain(right)
        if function == "Fn::Not":
            return not self._truth(arguments[0])
        if function == "Fn::And":
            return all(self._truth(item) for item in arguments)
        if function == "Fn::Or":
            return any(self._truth(item) for item in arguments)
        if function == "Fn::Contains":
            members, value = (self.resolve(side) for side in arguments)
            return _plain(value) in [_plain(member) for member in members]
        if function == "Fn::EachMemberEquals":
            members, value = (self.resolve(side) for side in arguments)
            return all(_plain(member) == _plain(value) for member in members)
        if function == "Fn::EachMemberIn":
            members, allowed = (self.resolve(side) for side in arguments)
            return all(_plain(member) in [_plain(a) for a in allowed] for member in members)
        raise ValueError(f"not a condition function: {function}")

    def resolve(self, value: Any) -> Any:
        """The value CloudFormation would pass: intrinsics evaluated, AWS::NoValue items dropped."""
        if isinstance(value, list):
            return [item for item in (self.resolve(v) for v in value) if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            [(key, arguments)] = value.items()
            if key == "Ref":
                return self.ref(arguments)
            if key == "Fn::GetAtt":
                logical_id, attribute = arguments if isinstance(arguments, list) else arguments.split(".", 1)
                return self.attribute(logical_id, attribute)
            if key == "Condition":
                return self.condition(arguments)
            if key == "Fn::If":
                condition, yes, no = arguments
                return self.resolve(yes if self.condition(condition) else no)
            if key in {"Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or"}:
                return self._truth(value)
            if key == "Fn::Join":
                separator, items = arguments
                return separator.join(str(_plain(item)) for item in self.resolve(items))
            if key == "Fn::Split":
                separator, text = arguments
                return str(self.resolve(text)).split(separator)
            if key == "Fn::Select":
                index, items = arguments
                return self.resolve(items)[int(self.resolve(index))]
            if key == "Fn::FindInMap":
                mapping, first, second = (self.resolve(part) for part in arguments)
                return self.template["Mappings"][mapping][first][second]
            if key == "Fn::Sub":
                return self._sub(arguments)
            if key == "Fn::Base64":
                return self.resolve(arguments)
            if key == "Fn::GetAZs":
                return [f"{self.region}a", f"{self.region}b"]
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def _sub(self, arguments: Any) -> str:
        text, variables = (arguments, {}) if isinstance(arguments, str) else arguments
        values = {name: self.resolve(v) for name, v in variables.items()}

        def replace(match: re.Match) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in values:
                return str(values[name])
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return str(self.attribute(logical_id, attribute))
            return str(self.ref(name))

        return re.sub(r"\$\{([^}]+)\}", replace, text)

    # -- names AWS gives what it creates

    def ref(self, name: str) -> Any:
        pseudo = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::StackName": self.stack_name,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackId": f"arn:aws:cloudformation:{self.region}:{self.account}:stack/{self.stack_name}/"
            "0ca1c0de-0000-4000-8000-000000000000",
            "AWS::NoValue": NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        return self._physical(name)["Ref"]

    def attribute(self, logical_id: str, attribute: str) -> Any:
        names = self._physical(logical_id)
        return names.get(attribute, f"{names['Ref']}.{attribute}")

    def _physical(self, logical_id: str) -> dict[str, Any]:
        if logical_id not in self.resources:
            raise KeyError(f"{logical_id} is not created with these parameters")
        kind = self.resources[logical_id]["Type"]
        props = self.resources[logical_id].get("Properties", {})
        name = f"{self.stack_name}-{logical_id}"
        arn = f"arn:aws:{{}}:{self.region}:{self.account}:{{}}"
        if kind == "AWS::SQS::Queue":
            return {
                "Ref": f"https://sqs.{self.region}.amazonaws.com/{self.account}/{name}",
                "QueueName": name,
                "Arn": arn.format("sqs", name),
                "QueueUrl": f"https://sqs.{self.region}.amazonaws.com/{self.account}/{name}",
            }
        if kind == "AWS::Events::EventBus":
            bus = self.resolve(props["Name"])
            return {"Ref": bus, "Name": bus, "Arn": arn.format("events", f"event-bus/{bus}")}
        if kind == "AWS::Events::Rule":
            bus = self.resolve(props.get("EventBusName", "default"))
            on_custom_bus = bus != "default"
            return {
                "Ref": f"{bus}|{name}" if on_custom_bus else name,
                "Arn": arn.format("events", f"rule/{bus}/{name}" if on_custom_bus else f"rule/{name}"),
            }
        if kind == "AWS::Lambda::Function":
            function = self.resolve(props.get("FunctionName", name))
            return {"Ref": function, "Arn": arn.format("lambda", f"function:{function}")}
        if kind == "AWS::DynamoDB::Table":
            table = self.resolve(props.get("TableName", name))
            table_arn = arn.format("dynamodb", f"table/{table}")
            return {"Ref": table, "Arn": table_arn, "StreamArn": f"{table_arn}/stream/1970-01-01T00:00:00.000"}
        if kind == "AWS::Logs::LogGroup":
            group = self.resolve(props.get("LogGroupName", f"/aws/{name}"))
            return {"Ref": group, "Arn": arn.format("logs", f"log-group:{group}:*")}
        if kind == "AWS::SNS::Topic":
            topic = self.resolve(props.get("TopicName", name))
            return {"Ref": arn.format("sns", topic), "TopicName": topic, "TopicArn": arn.format("sns", topic)}
        if kind == "AWS::KMS::Key":
            key = "0ca1c0de-1111-4000-8000-000000000000"
            return {"Ref": key, "KeyId": key, "Arn": arn.format("kms", f"key/{key}")}
        if kind == "AWS::IAM::Role":
            return {"Ref": name, "Arn": f"arn:aws:iam::{self.account}:role/{name}", "RoleId": name}
        if kind == "AWS::Kinesis::Stream":
            stream = self.resolve(props.get("Name", name))
            return {"Ref": stream, "Arn": arn.format("kinesis", f"stream/{stream}")}
        if kind == "AWS::Logs::Destination":
            destination = self.resolve(props["DestinationName"])
            return {"Ref": destination, "Arn": arn.format("logs", f"destination:{destination}")}
        if kind == "AWS::ApiGateway::Stage":
            return {"Ref": self.resolve(props["StageName"])}
        if kind == "AWS::ApiGateway::RestApi":
            return {"Ref": "a1b2c3d4e5", "RootResourceId": "r00t1d"}
        if kind == "AWS::Lambda::LayerVersion":
            return {"Ref": arn.format("lambda", f"layer:{name}:1")}
        return {"Ref": name, "Arn": arn.format(kind.split("::")[1].lower(), name)}

    # -- conveniences for reading it

    def of_type(self, kind: str) -> dict[str, dict]:
        """The created resources of one type: logical id → Properties (unresolved)."""
        return {name: spec.get("Properties", {}) for name, spec in self.resources.items() if spec["Type"] == kind}

    def functions(self) -> dict[str, dict]:
        return self.of_type("AWS::Lambda::Function")

    def environment(self, function: str) -> dict[str, Any]:
        """A function's environment variables, resolved."""
        variables = self.functions()[function].get("Environment", {}).get("Variables", {})
        return {name: value for name, value in self.resolve(variables).items() if value is not NO_VALUE}

    def role_of(self, function: str) -> str:
        return self.logical_id_of(self.functions()[function]["Role"])

    def statements(self, function: str) -> list[dict]:
        """Every statement of the inline policies of the function's role, and of the stack's
        AWS::IAM::Policy resources attached to it (unresolved)."""
        role = self.role_of(function)
        documents = [p["PolicyDocument"] for p in self.resources[role]["Properties"].get("Policies", [])]
        documents += [
            policy["PolicyDocument"]
            for policy in self.of_type("AWS::IAM::Policy").values()
            if {"Ref": role} in policy.get("Roles", [])
        ]
        return [statement for document in documents for statement in document["Statement"]]

    def routes(self) -> dict[tuple[str, str], tuple[str, str | None]]:
        """(path, METHOD) → (function logical id, authorizer or None), from each RestApi's Body: what
        API Gateway imports, integration URIs and security included."""
        found: dict[tuple[str, str], tuple[str, str | None]] = {}
        for api in self.of_type("AWS::ApiGateway::RestApi").values():
            for path, methods in api.get("Body", {}).get("paths", {}).items():
                for method, operation in methods.items():
                    uri = operation["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"]
                    function = re.search(r"\$\{(\w+)\.Arn\}", uri if isinstance(uri, str) else uri[0])
                    schemes = [name for entry in operation.get("security", []) for name in entry]
                    authorizer = next((name for name in schemes if name != "NONE"), None)
                    found[(path, method.upper())] = (function.group(1) if function else "", authorizer)
        return found

    def logical_id_of(self, reference: Any) -> str:
        """The resource a Ref or GetAtt names."""
        if isinstance(reference, dict) and "Ref" in reference:
            return reference["Ref"]
        if isinstance(reference, dict) and "Fn::GetAtt" in reference:
            target = reference["Fn::GetAtt"]
            return target[0] if isinstance(target, list) else target.split(".", 1)[0]
        raise ValueError(f"not a reference to a resource: {reference!r}")


def _plain(value: Any) -> Any:
    """As CloudFormation compares values: as strings (a Number parameter's "-1" equals -1)."""
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)
