"""The operator commands of production readiness, added to `eventsapi`'s parser: off-boarding a
developer, proving that alarms reach a person, and a preflight before a deploy."""

import argparse
from collections.abc import Callable
from typing import Any

from eventsapi.admin.target import Target


def _pairs(pairs: list[str]) -> dict[str, str]:
    parsed = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise SystemExit(f"--param {pair!r}: expected NAME=VALUE")
        parsed[name] = value
    return parsed


def add_commands(commands: Any, target_of: Callable[[argparse.Namespace], Target]) -> None:
    # The commands' modules load when a command runs: `eventsapi`'s start stays quick.
    def cmd_developers(args: argparse.Namespace) -> int:
        from eventsapi.admin import developers

        if args.developers_command == "export":
            return cmd_export(args)
        if not args.yes:
            print(f"this deletes every key, webhook, delivery record and log of {args.developer}; add --yes")
            return 2
        removed = developers.remove(target_of(args), args.developer)
        print(
            f"removed {args.developer}: {removed.api_keys} API keys, {removed.webhooks} webhooks (secrets with"
            f" them), {removed.deliveries} delivery records, {removed.api_logs} API-call logs"
            + ("; authorizer cache flushed" if removed.cache_flushed else "")
        )
        print(f"by store: {removed.summary()}")
        for note in removed.notes:
            print(note)
        return 0

    def cmd_export(args: argparse.Namespace) -> int:
        import sys

        from eventsapi.admin import developers

        if args.out == "-":
            written = developers.export(target_of(args), args.developer, sys.stdout)
        else:
            with open(args.out, "w", encoding="utf-8") as out:
                written = developers.export(target_of(args), args.developer, out)
        print(f"exported {written} items of {args.developer} (secrets excluded)", file=sys.stderr)
        return 0

    def cmd_alarms(args: argparse.Namespace) -> int:
        from eventsapi.admin import alarms

        if not args.stack:
            raise SystemExit("alarms probe acts on a deployed stack: --stack NAME")
        name = alarms.probe(target_of(args), args.stack, args.alarm)
        print(f"{name} set to ALARM: its notification should reach the alarm topic's subscribers within a minute")
        return 0

    def cmd_preflight(args: argparse.Namespace) -> int:
        from eventsapi.admin import preflight
        from eventsapi.local.template import Template
        from eventsapi.local.wiring import TEMPLATE

        if not args.stack:
            raise SystemExit("preflight checks the account a stack is about to be deployed in: --stack NAME")
        template = Template(TEMPLATE, stack_name=args.stack, region=args.region or "", overrides=_pairs(args.param))
        findings = preflight.check(Target.account(args.region), template, args.stack)
        for finding in findings:
            print(finding)
        blocking = [f for f in findings if f.blocking]
        print(f"preflight: {len(blocking)} blocking, {len(findings) - len(blocking)} notes")
        return 1 if blocking else 0

    people = commands.add_parser("developers", help="off-board a developer (remove) or export their data")
    people_commands = people.add_subparsers(dest="developers_command", required=True)
    remove = people_commands.add_parser(
        "remove", help="every item the data map finds: keys, webhooks, records, payloads, logs, settings"
    )
    remove.add_argument("--developer", required=True)
    remove.add_argument("--yes", action="store_true", help="do not ask")
    dump = people_commands.add_parser("export", help="everything held for a developer, as JSON lines (no secrets)")
    dump.add_argument("--developer", required=True)
    dump.add_argument("--out", default="-", help="a file (default: standard output)")
    people.set_defaults(func=cmd_developers)

    alarm = commands.add_parser("alarms", help="prove that the stack's alarms reach a person")
    alarm_commands = alarm.add_subparsers(dest="alarms_command", required=True)
    probe = alarm_commands.add_parser("probe", help="set one alarm to ALARM (set-alarm-state)")
    probe.add_argument("--alarm", default="BookkeepingAlarm", help="its logical id (default %(default)s)")
    alarm.set_defaults(func=cmd_alarms)

    def cmd_tables(args: argparse.Namespace) -> int:
        from eventsapi.admin import tables
        from eventsapi.local.template import Template
        from eventsapi.local.wiring import REGION, STACK_NAME, TEMPLATE

        template = Template(
            TEMPLATE, stack_name=args.stack or STACK_NAME, region=args.region or REGION, overrides=_pairs(args.param)
        )
        if not tables.adopted(template):
            print("no adopted tables: name them as given to sam deploy (--param ExistingListenTableName=…)")
            return 0
        dynamodb = target_of(args).client("dynamodb")
        if args.tables_command == "check":
            found = tables.gaps(dynamodb, template)
            for gap in found:
                print(f"missing  {gap}")
            print(
                f"{len(found)} gap(s) in the adopted tables"
                + (": run `tables upgrade` with the same --param" if found else "")
            )
            return 1 if found else 0
        try:
            done = tables.upgrade(dynamodb, template)
        except LookupError as error:
            raise SystemExit(str(error)) from None
        for gap in done:
            print(f"added    {gap}")
        print(f"{len(done)} change(s); the adopted tables now have what the template declares")
        return 0

    adoption = commands.add_parser(
        "tables", help="adopted tables (Existing…TableName): what they lack of the template, and add it"
    )
    adoption_commands = adoption.add_subparsers(dest="tables_command", required=True)
    for name, text in (
        ("check", "list the indexes, TTL and point-in-time recovery an adopted table lacks (exit 1 if any)"),
        ("upgrade", "add them (one index at a time, each waited for); safe to repeat"),
    ):
        command = adoption_commands.add_parser(name, help=text)
        command.add_argument(
            "--param", action="append", default=[], metavar="NAME=VALUE", help="as given to sam deploy"
        )
    adoption.set_defaults(func=cmd_tables)

    check = commands.add_parser("preflight", help="before sam deploy: Rules, a retained bus, concurrency quota")
    check.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="as given to sam deploy")
    check.set_defaults(func=cmd_preflight)

    from eventsapi.admin import erase_cli

    erase_cli.register(commands, target_of)
