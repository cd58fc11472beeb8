"""`eventsapi`: run the local stack, manage API keys and dead-letter queues, invoke one function.

eventsapi run                                   # the whole service on 127.0.0.1:3000
eventsapi run --port 3320 --moto-port 5320      # other ports: it prints the variables to export
eventsapi --local keys create --developer user_123 --scopes read,write
eventsapi --stack events-api keys list --developer user_123
eventsapi --local keys revoke --developer user_123 key_0123456789ab
eventsapi --stack events-api dlq list --queue delivery
eventsapi --local dlq redrive --queue events
eventsapi --stack events-api signing-keys rotate --all --overlap-seconds 604800
eventsapi invoke CreateWebhookFunction -e events/create_webhook.json
eventsapi --stack events-api --region ap-southeast-1 preflight --param AlarmEmail=ops@example.org
eventsapi --stack events-api alarms probe
eventsapi validate                                # what make validate runs: the SAM transform, cfn-lint, upgrade
eventsapi deploy rehearse --param AlarmEmail=ops@example.org   # create the stack on an emulator of its own
eventsapi deploy release                          # at a release: record its template (deploy/released/)
eventsapi --stack events-api keys purge-legacy --yes   # the removed usage plan's API Gateway keys
eventsapi --stack events-api developers remove --developer user_123 --yes
eventsapi --stack events-api erase --developer user_123 --subject user:42 --out receipt.json   # a person
eventsapi --stack events-api erase --verify receipt.json
eventsapi listen --forward-to http://127.0.0.1:8000/hooks    # a developer's live deliveries, locally
eventsapi trigger tool.executed                              # a test event to your sessions and webhooks
eventsapi events validate tool.executed --data '{"toolName": "x", "input": {}, "result": {}, "elapsed_ms": 1}'
eventsapi events send tool.executed --developer user_123 --data @event.json --idempotency-key run-1 --subject user:42

A developer's commands take an API key (--api-key or EVENTS_API_KEY), never AWS credentials:
eventsapi webhooks create --event workflow.completed --url https://example.org/hooks --secret s3cret
eventsapi webhooks list|get|update|delete|pause|enable|test|rotate|verify|signing-keys
eventsapi deliveries list WEBHOOK_ID --status dead; eventsapi deliveries get|redeliver WEBHOOK_ID DELIVERY_ID
eventsapi recover WEBHOOK_ID --since 2h;  eventsapi types [NAME];  eventsapi logs --status 5xx --follow
eventsapi settings show|set '{"retention": {"payloadDays": 7}}';  eventsapi expunge start --since 7d|get JOB_ID
The operator's commands (AWS credentials) are under `eventsapi admin …`; their old spellings above
(`eventsapi --local keys …`) stay for a release. Global flags go before or after the subcommand.
"""

import argparse
import contextlib
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from events_core.api_keys import PREFIX as KEY_PREFIX
from events_core.api_keys import SCOPES, ApiKeyStore, hash_key, looks_like_key
from eventsapi import developer_cli, global_flags, listen, operator_cli
from eventsapi.admin import dlq, keys, signing_keys
from eventsapi.admin import secrets as sealed_secrets
from eventsapi.admin.target import Target
from eventsapi.deploy import cli as deploy_cli
from eventsapi.endpoints import (
    API_URL_HELP,
    DEFAULT_API_PORT,
    DEFAULT_EMULATOR_PORT,
    EMULATOR_URL_ENV,
    EMULATOR_URL_HELP,
    api_url,
    emulator_url,
    exports,
    where_from,
)
from eventsapi.local.provision import Provisioner
from eventsapi.local.runtime import LocalRuntime, PortTaken
from eventsapi.local.template import Template, TemplateRejected, parameter_problem
from eventsapi.local.wiring import (
    REGION,
    STACK_NAME,
    TEMPLATE,
    emulator_environment,
    function_environment,
    local_functions,
    local_parameters,
)

LOCAL_DEVELOPER = "user_123"


class UsageError(Exception):
    """A mistake at the command line: one line on stderr, exit 2 (as argparse does)."""


def _parameters(pairs: list[str], template: Path = TEMPLATE) -> dict[str, str]:
    declared = Template(template, stack_name=STACK_NAME, region=REGION).sam.get("Parameters", {})
    parsed = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise UsageError(f"--param takes NAME=VALUE, got {pair!r}")
        if name not in declared:
            raise UsageError(f"--param: template.yaml has no parameter {name!r}; one of {', '.join(sorted(declared))}")
        problem = parameter_problem(name, declared[name], value)
        if problem:
            raise UsageError(f"--param: {problem}")
        parsed[name] = value
    return parsed


def cmd_run(args: argparse.Namespace) -> int:
    chosen_key = os.environ.get("LOCAL_API_KEY") or None
    if chosen_key is not None and not looks_like_key(chosen_key):
        print(f"LOCAL_API_KEY: a key is {KEY_PREFIX} followed by at least 32 characters", file=sys.stderr)
        return 2
    parameters = _parameters(args.param, args.template)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s  %(message)s", datefmt="%H:%M:%S")
    stopped = threading.Event()
    emulator_lost: list[str] = []

    def on_emulator_exit(reason: str) -> None:
        emulator_lost.append(reason)
        stopped.set()

    stack = LocalRuntime(
        host=args.host,
        api_port=args.port,
        moto_port=args.moto_port,
        parameters=parameters,
        template_path=args.template,
        on_emulator_exit=on_emulator_exit,
    )
    try:
        stack.start()
    except PortTaken as error:
        print(
            f"cannot start the local stack: {error} (is another `make run` using it? pick another with {error.flag})",
            file=sys.stderr,
        )
        return 1
    except OSError as error:
        print(f"cannot start the local stack: {error}", file=sys.stderr)
        return 1
    try:  # whatever happens from here on, the emulator's child process goes with us
        issued = ApiKeyStore().create(LOCAL_DEVELOPER, SCOPES, key=chosen_key)
        print(f"Events API (local)   {stack.api_url}", flush=True)
        print(f"Console              {stack.api_url}/console")
        print(f"AWS emulator (moto)  {stack.endpoint}   event bus: {os.environ.get('EVENT_BUS_NAME', '-')}")
        print("In another shell, these make every eventsapi command and the README's examples use this stack:")
        for line in exports(stack.api_url, stack.endpoint, issued.key):
            print(f"  {line}")
        print('Try:  curl -H "X-API-Key: $KEY" $EVENTS_API_URL/v1/events/types')
        print(f"API key of {LOCAL_DEVELOPER} (read, write):")
        print(issued.key, flush=True)
        signal.signal(signal.SIGTERM, lambda *_: stopped.set())
        stopped.wait()
    except KeyboardInterrupt:
        print("stopping the local stack (Ctrl-C)", file=sys.stderr, flush=True)
    finally:
        stack.stop()
    if emulator_lost:
        print(f"the AWS emulator stopped ({emulator_lost[0]}); the local stack stopped with it", file=sys.stderr)
        return 1
    return 0


def _target(args: argparse.Namespace) -> Target:
    if args.stack:
        return Target.stack(args.stack, args.region)
    if args.local:
        return Target.local(emulator_url(args.endpoint_url), api_url(args.api_url))
    raise SystemExit("say which stack: --local (make run) or --stack NAME (deployed)")


def cmd_keys(args: argparse.Namespace) -> int:
    target = _target(args)
    if args.keys_command == "create":
        wanted = tuple(scope.strip() for scope in args.scopes.split(",") if scope.strip())
        try:
            issued = keys.create(target, args.developer, wanted)
        except ValueError as error:
            raise SystemExit(str(error)) from None
        print(f"key id {issued.key_id}  developer {issued.developer_id}  scopes {','.join(issued.scopes)}")
        print("The key is shown once; store it now:")
        print(issued.key)
    elif args.keys_command == "list":
        for item in keys.list_keys(target, args.developer):
            granted = ",".join(item.get("scopes", []))
            print(f"{item['keyId']}  {item.get('keyPrefix', '')}…  {granted}  {item.get('createdAt', '')}")
    elif args.keys_command == "purge-legacy":
        if not target.deployed:
            raise SystemExit("keys purge-legacy acts on a deployed stack's account: --stack NAME")
        found = keys.purge_legacy(target, delete=args.yes)
        for key in found:
            print(f"{key['id']}  {key.get('name', '')}")
        verb = "deleted" if args.yes else "found (add --yes to delete them)"
        print(f"{len(found)} legacy usage-plan key(s) {verb}")
    elif args.keys_command == "revoke":
        revoked, flushed = keys.revoke(target, args.developer, args.key)
        if not revoked:
            print(f"no key {args.key!r} for developer {args.developer}", file=sys.stderr)
            return 1
        name = args.key if not args.key.startswith(KEY_PREFIX) else f"key_{hash_key(args.key)[:12]}"
        if flushed:
            print(f"revoked {name}; the authorizer cache was flushed, so it stops working now")
        else:
            print(
                f"revoked {name}; no local API answered at {target.api_url} to flush its authorizer cache "
                "(a stack elsewhere honours the key for up to AuthorizerCacheSeconds: pass --api-url)"
            )
    return 0


def cmd_signing_keys(args: argparse.Namespace) -> int:
    target = _target(args)
    developer = getattr(args, "developer", None)
    if args.signing_command == "rotate":
        if args.all == bool(developer):
            print("rotate: name one --developer, or --all", file=sys.stderr)
            return 2
        if developer:
            new = signing_keys.rotate(target, developer, args.overlap_seconds)
            print(f"{developer}: new signing key {new.kid}; their older keys keep signing for {args.overlap_seconds} s")
        else:
            rotated, retired = signing_keys.rotate_all(target, args.overlap_seconds)
            for who, new in rotated:
                print(f"{who}: new signing key {new.kid}")
            for key in retired:
                print(f"stack-wide key {key.kid} co-signs until {key.public()['expiresAt']}, then nothing")
            print(f"{len(rotated)} developers rotated; older keys keep signing for {args.overlap_seconds} s")
    live = signing_keys.listed(target, developer)
    if not live:
        print("no signing keys yet: the first webhook with asymmetricSignature makes one, or `signing-keys rotate`")
    else:
        print(f"keys of {developer or 'the stack (the key of before every developer had their own)'}:")
    for key in live:
        shown = key.public()
        print(f"{shown['kid']}  {shown['alg']}  created {shown['createdAt']}  expires {shown['expiresAt'] or '-'}")
    return 0


def cmd_secrets(args: argparse.Namespace) -> int:
    done = sealed_secrets.reseal(_target(args))
    print(
        f"resealed {done.resealed} secrets with the stack's data key; {done.already} were already; "
        f"{done.changed_meanwhile} changed meanwhile (sealed anew by their change)"
    )
    return 0


def cmd_dlq(args: argparse.Namespace) -> int:
    target = _target(args)
    if args.dlq_command == "list":
        letters = dlq.peek(target, args.queue, args.limit)
        row = "{:>9}  {:<16} {:<36}  {:<10} {}"
        print(row.format("age", "developer", "delivery id (or message id)", "status now", "reason"))
        for letter in letters:
            print(
                row.format(
                    f"{letter.age_seconds / 3600:.1f} h",
                    letter.developer_id or "-",
                    letter.delivery_id or letter.message_id,
                    dlq.delivery_status(target, letter),
                    letter.reason,
                )
            )
        print(f"{len(letters)} message(s) in the {args.queue} dead-letter queue")
    elif args.dlq_command == "redrive":
        print(dlq.redrive(target, args.queue).summary(args.queue))
    elif args.dlq_command == "purge":
        stop = _confirmed(
            f"Delete every message in the {args.queue} dead-letter queue for good?", args.yes, "nothing deleted"
        )
        if stop is not None:
            return stop
        try:
            purged = dlq.purge(target, args.queue)
        except dlq.PurgeTooSoon:
            print(
                f"SQS allows one purge of a queue every {dlq.PURGE_INTERVAL_SECONDS} s and the {args.queue} "
                "dead-letter queue was purged less than a minute ago: try again in a minute",
                file=sys.stderr,
            )
            return 1
        if purged:
            print(f"purged {purged} message(s); the {args.queue} dead-letter queue is now empty")
        else:
            print(f"the {args.queue} dead-letter queue was already empty; nothing to purge")
    return 0


def cmd_invoke(args: argparse.Namespace) -> int:
    os.environ.update(emulator_environment(emulator_url(args.endpoint_url)))
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


def _confirmed(question: str, yes: bool, declined: str = "nothing changed") -> int | None:
    """None when the operator said yes (or gave --yes); otherwise the exit code to stop with."""
    if yes:
        return None
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:  # no terminal and nothing piped in: no one to ask
        print("\nno terminal to confirm on: pass --yes", file=sys.stderr)
        return 2
    if answer.strip().lower() in ("y", "yes"):
        return None
    print(declined)
    return 1


def cmd_webhooks(args: argparse.Namespace) -> int:
    from events_core.clock import now_ms
    from eventsapi.admin import verification

    if args.webhooks_command == "mark-wildcards":
        from eventsapi.admin import wildcards

        marked, developers = wildcards.mark_all(_target(args))
        print(f"{marked} pattern(s) of {developers} developer(s) marked for every type they take")
        return 0

    target = _target(args)
    mode = target.parameters.get("EndpointVerification", "").strip().lower()
    if mode == "off":
        print(
            "the stack's EndpointVerification is off: nothing would ever verify these webhooks, so nothing is "
            "changed; deploy (or run) it with EndpointVerification=required first",
            file=sys.stderr,
        )
        return 2
    whose = f"developer {args.developer}'s webhooks" if args.developer else "every webhook of every developer"
    known = f"EndpointVerification is {mode}" if mode else "the stack's EndpointVerification is not known here"
    stop = _confirmed(
        f"Mark {whose} pending ({known})? Enabled ones are switched off and receive nothing until each verifies.",
        args.yes,
    )
    if stop is not None:
        return stop
    changed = verification.require_all(target, args.developer, now_ms())
    print(f"{changed} webhook(s) marked pending: each receives nothing until it verifies")
    return 0


def cmd_events(args: argparse.Namespace) -> int:
    from eventsapi.admin import events
    from eventsapi_publisher import InvalidEventData, PublishFailed, validate

    try:
        data = events.read_data(args.data)
        if data is None:
            data = events.example_of(args.type)
        if args.events_command == "validate":
            events.example_of(args.type)  # an unknown type is an error, not "invalid"
            errors = validate(args.type, data)
            for error in errors:
                print(f"{error.path or '/'}: {error.message}")
            print("valid" if not errors else f"invalid: {len(errors)} error(s)")
            return 0 if not errors else 1
        if args.stack:
            publisher = events.stack_publisher(args.stack, args.region, args.bus)
        else:  # the local stack unless told otherwise
            publisher = events.local_publisher(emulator_url(args.endpoint_url), args.bus)
        event_id = publisher.publish(
            args.type,
            args.developer,
            data,
            idempotency_key=args.idempotency_key,
            subjects=args.subject,
            sequence=args.sequence,
        )
    except events.BadData as error:
        print(str(error), file=sys.stderr)
        return 2
    except InvalidEventData as invalid:
        # Every fault is listed below, so the header does not repeat the first few (nor a "+N more").
        header = f"data does not match the {args.type} schema ({len(invalid.errors)} error(s)):"
        print(f"not sent: {header if invalid.errors else invalid}", file=sys.stderr)
        for fault in invalid.errors:
            print(f"  {fault.path or '/'}: {fault.message}", file=sys.stderr)
        return 1
    except PublishFailed as failed:
        print(str(failed), file=sys.stderr)
        return 1
    print(f"published {args.type} for {args.developer} on {publisher.bus}: {event_id}")
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
    from eventsapi.harness import controls_soak, hostile_tenant, ordered_soak, soak

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s  %(message)s", datefmt="%H:%M:%S")
    phases: list[tuple[str, Callable[[], Any]]] = [
        ("no-loss soak", lambda: soak.Soak(events=args.events, seed=args.seed).run(timeout=args.timeout)),
        ("hostile tenant", lambda: hostile_tenant.HostileTenantPhase(hostile_events=args.hostile_events).run()),
        (
            "receiver controls",
            lambda: controls_soak.ControlsSoak(events=max(10, args.events // 10)).run(timeout=args.timeout),
        ),
    ]
    if not args.without_ordered:  # the CI smoke leaves it out: its stalled key takes minutes
        phases.append(
            (
                "ordered delivery",
                lambda: ordered_soak.OrderedSoak(
                    events=max(40, args.events // 3), stall_seconds=args.ordered_stall_seconds
                ).run(timeout=args.timeout),
            )
        )
    verdicts = []
    for n, (name, run) in enumerate(phases):
        started = time.monotonic()
        if n:
            print()
        try:  # one phase that does not finish is reported as such; the others still run and report
            report = run()
        except (TimeoutError, RuntimeError) as error:
            print(f"{name}: did not finish after {time.monotonic() - started:.1f} s: {error}\nverdict: BROKEN")
            verdicts.append((name, False, time.monotonic() - started))
            continue
        print(report.render())
        verdicts.append((name, report.ok, time.monotonic() - started))
    print()
    for name, ok, seconds in verdicts:
        print(f"phase {name}: {seconds:.1f} s, {'HOLDS' if ok else 'BROKEN'}")
    return 0 if all(ok for _, ok, _ in verdicts) else 1


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="eventsapi", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    where = root.add_mutually_exclusive_group()
    where.add_argument("--local", action="store_true", help="the local stack started by `make run`")
    where.add_argument("--stack", help="a deployed CloudFormation stack, by name")
    root.add_argument("--region", help="AWS region of --stack")
    root.add_argument("--endpoint-url", help=EMULATOR_URL_HELP)
    root.add_argument("--api-url", help=API_URL_HELP)
    root.add_argument("--api-key", help="your API key, for the developer's commands (default: $EVENTS_API_KEY)")
    root.add_argument("--json", action="store_true", help="the developer's commands print JSON, for scripts")
    commands = root.add_subparsers(dest="command", required=True)

    run = commands.add_parser(
        "run", help="serve the whole stack locally", description="Serve the whole stack locally, on 127.0.0.1."
    )
    run.add_argument("--host", default="127.0.0.1", help="address both servers listen on (default %(default)s)")
    run.add_argument(
        "--port", type=int, default=DEFAULT_API_PORT, help="the API and the console (default %(default)s; 0: any free)"
    )
    run.add_argument(
        "--moto-port",
        type=int,
        default=DEFAULT_EMULATOR_PORT,
        help="the AWS emulator, moto (default %(default)s; 0: any free); the banner prints what to export",
    )
    run.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a template.yaml parameter (repeatable)",
    )
    run.add_argument(
        "--template",
        type=Path,
        default=TEMPLATE,
        help="the SAM template to serve, read through the SAM transform as AWS reads it (default: the repository's)",
    )
    run.set_defaults(func=cmd_run)

    admin = commands.add_parser(
        "admin", help="operator commands (AWS credentials): keys, signing keys, dead letters, webhooks, off-boarding…"
    )
    _operator_commands(admin.add_subparsers(dest="admin_command", required=True, metavar="COMMAND"), operator=True)
    before = len(commands._choices_actions)
    _operator_commands(commands, operator=False)  # today's spellings (`eventsapi keys …`), kept for a release
    for old_spelling in commands._choices_actions[before:]:
        if old_spelling.dest in BOTH_SPELLINGS:
            continue
        old_spelling.help = f"(old spelling of `admin {old_spelling.dest}`, kept for a release) {old_spelling.help}"

    published = commands.add_parser("events", help="platform events: validate data, send (publish) one")
    event_commands = published.add_subparsers(dest="events_command", required=True)
    checking = event_commands.add_parser("validate", help="check data against the type's schema (the catalogue)")
    sending = event_commands.add_parser("send", help="publish one event on the bus (local stack unless --stack)")
    for command in (checking, sending):
        command.add_argument("type", help="the event type, e.g. tool.executed")
        command.add_argument("--data", help="the data: JSON, @file or - (stdin); default: the type's example")
    sending.add_argument("--developer", required=True, help="the developer whose webhooks receive it")
    sending.add_argument("--idempotency-key", help="the same key (per developer, 24 h) is delivered once")
    sending.add_argument(
        "--subject",
        action="append",
        metavar="SUBJECT",
        help="a person the event concerns, e.g. user:42 (repeatable; `eventsapi erase` finds it by them)",
    )
    sending.add_argument(
        "--sequence", type=int, help="its order within its key, for webhooks that deliver in order (detail.sequence)"
    )
    sending.add_argument("--bus", help="the bus name (default: the stack's EventBusName)")
    published.set_defaults(func=cmd_events)

    fuzz = commands.add_parser(
        "fuzz", help="schemathesis against a fresh local stack of its own (free ports), per API-key kind"
    )
    fuzz.add_argument("--examples", type=int, default=100, help="hypothesis examples per operation")
    fuzz.add_argument("--seed", type=int, help="fix the seed for a reproducible run")
    fuzz.set_defaults(func=cmd_fuzz)

    soak = commands.add_parser(
        "soak", help="no-loss soak under receiver failures and crashes, on a fresh local stack of its own (free ports)"
    )
    soak.add_argument("--events", type=int, default=300)
    soak.add_argument("--seed", type=int, default=7)
    soak.add_argument("--timeout", type=float, default=600, help="seconds to wait for the queues to drain")
    soak.add_argument("--hostile-events", type=int, default=10, help="the hostile developer's events")
    soak.add_argument(
        "--ordered-stall-seconds", type=float, default=120, help="how long the ordered phase stalls one key"
    )
    soak.add_argument("--without-ordered", action="store_true", help="leave the ordered-delivery phase out")
    soak.set_defaults(func=cmd_soak)

    deploy_cli.add_commands(commands)

    invoke = commands.add_parser("invoke", help="run one template function on a sample event (local stack)")
    invoke.add_argument("logical_id")
    invoke.add_argument("-e", "--event", required=True)
    invoke.set_defaults(func=cmd_invoke)

    listen.register(commands)  # eventsapi listen, eventsapi trigger (a developer's commands: API URL + key)
    developer_cli.register(commands, require_verification=cmd_webhooks)
    global_flags.accept_anywhere(root)
    return root


BOTH_SPELLINGS = {"erase"}  # new operator commands spelled both ways for good, not old spellings


def _operator_commands(commands: Any, *, operator: bool) -> None:
    """The operator's commands (AWS credentials): under `admin`, and (operator=False) at the top
    level under their old names for a release; there `webhooks` is the developer's group, which
    keeps `require-verification` as an alias."""
    keys_parser = commands.add_parser("keys", help="API keys: create, list, revoke")
    key_commands = keys_parser.add_subparsers(dest="keys_command", required=True)
    create = key_commands.add_parser("create", help="issue a key; it is shown once")
    create.add_argument("--developer", required=True)
    create.add_argument("--scopes", default="read,write", help="comma-separated: read, write")
    listing = key_commands.add_parser("list", help="a developer's keys: id, prefix, scopes, created")
    listing.add_argument("--developer", required=True)
    revoke = key_commands.add_parser("revoke", help="revoke a key (the key itself or its id)")
    revoke.add_argument("--developer", required=True)
    revoke.add_argument("key", help="the key itself or its key id (key_…)")
    legacy = key_commands.add_parser(
        "purge-legacy", help="delete the API Gateway keys of the removed usage plan (docs/operators.md: Upgrading)"
    )
    legacy.add_argument("--yes", action="store_true", help="delete them (without it: list only)")
    keys_parser.set_defaults(func=cmd_keys)

    signing = commands.add_parser("signing-keys", help="v1a (Ed25519) signing keys: list, rotate")
    signing_commands = signing.add_subparsers(dest="signing_command", required=True)
    listing_keys = signing_commands.add_parser("list", help="a developer's keys, or without --developer the stack's")
    listing_keys.add_argument("--developer")
    rotation = signing_commands.add_parser(
        "rotate",
        help="a new key for one developer (--developer) or every one signing v1a (--all, which also "
        "gives the stack-wide key of before its expiry); older keys keep signing for the overlap",
    )
    rotation.add_argument("--developer")
    rotation.add_argument("--all", action="store_true")
    rotation.add_argument("--overlap-seconds", type=int, default=7 * 86400)
    signing.set_defaults(func=cmd_signing_keys)

    sealing = commands.add_parser("secrets", help="secrets at rest: reseal those KMS sealed itself with the data key")
    sealing_commands = sealing.add_subparsers(dest="secrets_command", required=True)
    sealing_commands.add_parser("reseal", help="every v1 (KMS-sealed) secret → v2 (the data key); safe to repeat")
    sealing.set_defaults(func=cmd_secrets)

    letters = commands.add_parser("dlq", help="dead-letter queues: list, redrive, purge")
    dlq_commands = letters.add_subparsers(dest="dlq_command", required=True)
    for name, text in (
        ("list", "a header row, then each message's age, developer, delivery id, delivery status now and reason"),
        ("redrive", "move messages back through the normal path; reports sent, already delivered, kept, dropped"),
        ("purge", "delete every message (asks first; SQS allows one purge a queue every 60 s)"),
    ):
        command = dlq_commands.add_parser(name, help=text)
        command.add_argument("--queue", choices=sorted(dlq.QUEUES), required=True)
        if name == "list":
            command.add_argument("--limit", type=int, default=100)
        if name == "purge":
            command.add_argument("--yes", action="store_true", help="do not ask")
    letters.set_defaults(func=cmd_dlq)

    if operator:
        hooks = commands.add_parser("webhooks", help="operator actions on webhooks")
        hook_commands = hooks.add_subparsers(dest="webhooks_command", required=True)
        require = hook_commands.add_parser(
            "require-verification", help="mark webhooks pending ownership verification (EndpointVerification=required)"
        )
        require.add_argument("--developer", help="only this developer's webhooks (default: every webhook)")
        require.add_argument("--yes", action="store_true", help="do not ask")
        hook_commands.add_parser(
            "mark-wildcards",
            help="after a release declares an event type: mark it for each wildcard pattern in use"
            " (docs/operators.md: Upgrading)",
        )
        hooks.set_defaults(func=cmd_webhooks)
    operator_cli.add_commands(commands, _target)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except UsageError as error:
        print(error, file=sys.stderr)
        return 2
    except TemplateRejected as error:  # what CloudFormation would refuse is not run here either
        print(error, file=sys.stderr)
        return 2
    except EndpointConnectionError:
        url = emulator_url(args.endpoint_url)
        print(
            f"no local stack answers at {url} ({where_from(args.endpoint_url, EMULATOR_URL_ENV)}): start it with "
            f"`make run`, or point at yours with --endpoint-url or `export {EMULATOR_URL_ENV}=…` "
            "(eventsapi run prints it)",
            file=sys.stderr,
        )
        return 1
    except (ClientError, BotoCoreError) as error:
        print(f"AWS error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
