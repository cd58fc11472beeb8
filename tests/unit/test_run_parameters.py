"""`eventsapi run --param NAME=VALUE`: a value the template's parameter would refuse on deploy
(AllowedValues, a Number's MinValue/MaxValue, AllowedPattern) is refused before the stack starts,
in one line, exit 2, as a misspelled name is."""

import pytest

from eventsapi import cli


@pytest.mark.parametrize(
    ("pair", "says"),
    [
        ("EndpointVerification=bogus", "EndpointVerification='bogus' is not allowed; one of off, optional, required"),
        ("LogShards=0", "LogShards=0 is below its MinValue 1"),
        ("LogShards=many", "LogShards='many' must be a number"),
        ("LogLevel=verbose", "one of DEBUG, INFO, WARNING, ERROR"),
        ("EndpointVerificaton=off", "template.yaml has no parameter 'EndpointVerificaton'"),
    ],
)
def test_a_value_the_template_refuses_is_one_line_and_exit_2(capsys, monkeypatch, pair, says):
    def started(**_):
        raise AssertionError("the stack started with a value its template refuses")

    monkeypatch.setattr(cli, "LocalRuntime", started)
    assert cli.main(["run", "--port", "0", "--moto-port", "0", "--param", pair]) == 2
    said = capsys.readouterr().err
    assert said.startswith("--param: ") and says in said
    assert said.count("\n") == 1


def test_values_the_template_takes_pass():
    parsed = cli._parameters(["EndpointVerification=required", "FailureThreshold=3", "LogLevel=DEBUG"])
    assert parsed == {"EndpointVerification": "required", "FailureThreshold": "3", "LogLevel": "DEBUG"}
