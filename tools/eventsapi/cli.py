"""`eventsapi`: run the local stack, manage API keys, invoke one function on a sample event.

eventsapi run                                   # the whole service on 127.0.0.1:3000
eventsapi --local keys create --developer user_123 --scopes read,write
eventsapi --stack events-api keys list --developer user_123
eventsapi --local keys revoke --developer user_123 key_0123456789ab
eventsapi invoke CreateWebhookFunction -e events/create_webhook.json
"""

import argparse
import contextlib
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from events_core.api_keys import SCOPES, ApiKeyStore
from eventsapi.local.provision import Provisioner
from eventsapi.local.runtime import LocalRuntime
from eventsapi.local.template import Template
from eventsapi.local.wiring import (
    FAKE_CREDENTIALS,
    REGION,
    STACK_NAME,
    TEMPLATE,
    emulator_environment,
    function_environment,
    local_functions,
    local_parameters,
)

LOCAL_ENDPOINT = "http://127.0.0.1:5000"
LOCAL_DEVELOPER = "user_123"


def _parameters(pairs: list[str]) -> dict[str, str]:
    parsed = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--param takes NAME=VALUE, got {pair!r}")
        parsed[name] = value
    return parsed


def cmd_run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s  %(message)s", datefmt="%H:%M:%S")
    stack = LocalRuntime(
        host=args.host, api_port=args.port, moto_port=args.moto_port, parameters=_parameters(args.param)
    )
    try:
        stack.start()
    except OSError as error:
        print(
            f"cannot start the local stack: {error} (is another `make run` using ports {args.port}/{args.moto_port}?)",
            file=sys.stderr,
        )
        return 1
    issued = ApiKeyStore().create(LOCAL_DEVELOPER, SCOPES, key=os.environ.get("LOCAL_API_KEY") or None)
    print(f"Events API (local)   {stack.api_url}", flush=True)
    print(f"AWS emulator (moto)  {stack.endpoint}   event bus: {os.environ.get('EVENT_BUS_NAME', '-')}")
    print(f"Try:  curl -H 'X-API-Key: {issued.key}' {stack.api_url}/v1/events/types")
    print(f"API key of {LOCAL_DEVELOPER} (read, write):")
    print(issued.key, flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()
    return 0


def _key_store(args: argparse.Namespace) -> ApiKeyStore:
    if args.stack:
        region = args.region or boto3.Session().region_name
        cloudformation = boto3.client("cloudformation", region_name=region)
        detail = cloudformation.describe_stack_resource(StackName=args.stack, LogicalResourceId="ApiKeysTable")
        table_name = detail["StackResourceDetail"]["PhysicalResourceId"]
        return ApiKeyStore(boto3.resource("dynamodb", region_name=region).Table(table_name))
    # The emulator, with its dummy credentials: never whatever AWS account the shell is set up for.
    emulator = boto3.Session(
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=REGION,
    )
    table_name = Template(TEMPLATE, stack_name=STACK_NAME, region=REGION).physical_name("ApiKeysTable")
    return ApiKeyStore(emulator.resource("dynamodb", endpoint_url=args.endpoint_url).Table(table_name))


def cmd_keys(args: argparse.Namespace) -> int:
    if not (args.local or args.stack):
        raise SystemExit("say which stack: --local (make run) or --stack NAME (deployed)")
    store = _key_store(args)
    if args.keys_command == "create":
        scopes = tuple(s.strip() for s in args.scopes.split(",") if s.strip())
        try:
            issued = store.create(args.developer, scopes)
        except ValueError as error:
            raise SystemExit(str(error)) from None
        print(f"key id {issued.key_id}  developer {issued.developer_id}  scopes {','.join(issued.scopes)}")
        print("The key is shown once; store it now:")
        print(issued.key)
    elif args.keys_command == "list":
        for item in store.list_for(args.developer):
            scopes = ",".join(item.get("scopes", []))
            print(f"{item['keyId']}  {item.get('keyPrefix', '')}…  {scopes}  {item.get('createdAt', '')}")
    elif args.keys_command == "revoke":
        if not store.revoke(args.developer, args.key):
            print(f"no key {args.key!r} for developer {args.developer}", file=sys.stderr)
            return 1
        print(
            f"revoked {args.key if not args.key.startswith('claw_') else 'the key'} (API Gateway may honour a "
            "cached authorization for up to 5 minutes)"
        )
    return 0


def cmd_invoke(args: argparse.Namespace) -> int:
    os.environ.update(emulator_environment(args.endpoint_url))
    template = Template(TEMPLATE, stack_name=STACK_NAME, region=REGION, overrides=local_parameters())
    Provisioner(template, create=False).provision()
    os.environ.update(function_environment(template))
    functions = local_functions(template)
    if args.logical_id not in functions:
        raise SystemExit(f"no function {args.logical_id!r} in template.yaml; one of {', '.join(functions)}")
    event = json.loads(Path(args.event).read_text())
    try:
        # As with `sam local invoke`: the function's own output on stderr, its result alone on stdout.
        with contextlib.redirect_stdout(sys.stderr):
            result = functions[args.logical_id].invoke(event)
    except Exception as error:  # noqa: BLE001 - reported like `sam local invoke` reports a failed invocation
        print(json.dumps({"errorType": type(error).__name__, "errorMessage": str(error)}))
        return 1
    print(json.dumps(result, ensure_ascii=False, default=str))
    return 0


def cmd_fuzz(args: argparse.Namespace) -> int:
    from eventsapi.harness import fuzz

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s  %(message)s", datefmt="%H:%M:%S")
    runs = fuzz.run_fuzz(examples=args.examples, seed=args.seed)
    for run in runs:
        if not run.ok:
            print(run.output, file=sys.stderr)
    print(fuzz.report(runs))
    return 0 if all(run.ok for run in runs) else 1


def cmd_soak(args: argparse.Namespace) -> int:
    from eventsapi.harness import soak

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s  %(message)s", datefmt="%H:%M:%S")
    report = soak.Soak(events=args.events, seed=args.seed).run(timeout=args.timeout)
    print(report.render())
    return 0 if report.ok else 1


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="eventsapi", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    where = root.add_mutually_exclusive_group()
    where.add_argument("--local", action="store_true", help="the local stack started by `make run`")
    where.add_argument("--stack", help="a deployed CloudFormation stack, by name")
    root.add_argument("--region", help="AWS region of --stack")
    root.add_argument("--endpoint-url", default=LOCAL_ENDPOINT, help="the local emulator (default %(default)s)")
    commands = root.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="serve the whole stack locally")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=3000)
    run.add_argument("--moto-port", type=int, default=5000)
    run.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="template parameter override")
    run.set_defaults(func=cmd_run)

    keys = commands.add_parser("keys", help="API keys: create, list, revoke")
    key_commands = keys.add_subparsers(dest="keys_command", required=True)
    create = key_commands.add_parser("create")
    create.add_argument("--developer", required=True)
    create.add_argument("--scopes", default="read,write", help="comma-separated: read, write")
    listing = key_commands.add_parser("list")
    listing.add_argument("--developer", required=True)
    revoke = key_commands.add_parser("revoke")
    revoke.add_argument("--developer", required=True)
    revoke.add_argument("key", help="the key itself or its key id (key_…)")
    keys.set_defaults(func=cmd_keys)

    fuzz = commands.add_parser("fuzz", help="schemathesis against a fresh local stack, per API-key kind")
    fuzz.add_argument("--examples", type=int, default=100, help="hypothesis examples per operation")
    fuzz.add_argument("--seed", type=int, help="fix the seed for a reproducible run")
    fuzz.set_defaults(func=cmd_fuzz)

    soak = commands.add_parser("soak", help="no-loss soak under random receiver failures and crashes")
    soak.add_argument("--events", type=int, default=300)
    soak.add_argument("--seed", type=int, default=7)
    soak.add_argument("--timeout", type=float, default=600, help="seconds to wait for the queues to drain")
    soak.set_defaults(func=cmd_soak)

    invoke = commands.add_parser("invoke", help="run one template function on a sample event (local stack)")
    invoke.add_argument("logical_id")
    invoke.add_argument("-e", "--event", required=True)
    invoke.set_defaults(func=cmd_invoke)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except EndpointConnectionError:
        print(f"no local stack answers at {args.endpoint_url}: start it with `make run`", file=sys.stderr)
        return 1
    except (ClientError, BotoCoreError) as error:
        print(f"AWS error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
