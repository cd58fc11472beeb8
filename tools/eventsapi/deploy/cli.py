"""`eventsapi validate` and `eventsapi deploy rehearse|release|check-upgrade`, added to eventsapi's
parser; their modules load when a command runs, so `eventsapi`'s start stays quick."""

import argparse
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]


def add_commands(commands: Any) -> None:
    def cmd_validate(args: argparse.Namespace) -> int:
        from eventsapi.deploy import validate

        return validate.main(["--root", str(ROOT), *(["--no-lint"] if args.no_lint else [])])

    def cmd_deploy(args: argparse.Namespace) -> int:
        if args.deploy_command == "rehearse":
            from eventsapi.deploy import rehearse

            return rehearse.main(["--root", str(ROOT), *(f"--param={pair}" for pair in args.param)])
        from eventsapi.deploy import upgrade

        if args.deploy_command == "release":
            print(f"recorded {upgrade.release(ROOT).relative_to(ROOT)}: commit it with the release")
            return 0
        refused = upgrade.check(ROOT)
        for line in refused:
            print(line)
        print(f"upgrade check: {len(refused)} refused")
        return 1 if refused else 0

    check = commands.add_parser(
        "validate", help="the SAM transform for every conditional parameter set, cfn-lint on each, upgrade check"
    )
    check.add_argument("--no-lint", action="store_true", help="transform and upgrade check only")
    check.set_defaults(func=cmd_validate)

    deploy = commands.add_parser("deploy", help="rehearse a deploy on an emulator; record a release's template")
    deploy_commands = deploy.add_subparsers(dest="deploy_command", required=True)
    rehearse = deploy_commands.add_parser(
        "rehearse", help="parameters and Rules checked, then the transformed stack created on a moto of its own"
    )
    rehearse.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="as given to sam deploy")
    deploy_commands.add_parser("release", help="write deploy/released/template.json (a release step)")
    deploy_commands.add_parser("check-upgrade", help="would an upgrade from the release replace or delete state?")
    deploy.set_defaults(func=cmd_deploy)
