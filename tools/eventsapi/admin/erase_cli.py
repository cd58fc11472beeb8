"""`eventsapi admin erase` (also `eventsapi erase`): erase a subject, print the receipt; `--verify
RECEIPT` reads the stores again against one. Across developers it asks first: the same string
from two developers may be two people."""

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eventsapi.admin.target import Target


def register(commands: Any, target_of: Callable[[argparse.Namespace], Target]) -> None:
    def cmd_erase(args: argparse.Namespace) -> int:
        from eventsapi.admin.erase import Erasure, read_receipt

        if args.verify:
            try:
                receipt = read_receipt(Path(args.verify).read_text(encoding="utf-8"))
            except (OSError, ValueError) as error:
                print(f"--verify {args.verify}: {error}", file=sys.stderr)
                return 2
            problems = Erasure(target_of(args)).verify(receipt)
            for problem in problems:
                print(problem)
            print("receipt holds" if not problems else f"receipt does not hold: {len(problems)} problem(s)")
            return 0 if not problems else 1
        if not args.subject or bool(args.developer) == bool(args.all_developers):
            print("erase: --subject with --developer ID or --all-developers (or --verify RECEIPT)", file=sys.stderr)
            return 2
        if args.all_developers and not args.yes:
            if not sys.stdin.isatty():
                print("erase --all-developers asks first; without a terminal add --yes", file=sys.stderr)
                return 2
            print("the same subject from two developers may be two people.", file=sys.stderr)
            answer = input(f"erase {args.subject!r} for every developer that used it? type the subject again: ")
            if answer != args.subject:
                print("not erased", file=sys.stderr)
                return 1
        receipt = Erasure(target_of(args)).erase(args.subject, None if args.all_developers else [args.developer])
        text = json.dumps(receipt, indent=2, ensure_ascii=False)
        if args.out:
            Path(args.out).write_text(text + "\n", encoding="utf-8")
        print(text)
        return 0 if not receipt["inFlight"] else 1

    erase = commands.add_parser(
        "erase",
        help="erase a subject (--subject user:42) for a developer or all: payloads and answers in every store;"
        " prints a receipt (--verify RECEIPT checks one)",
    )
    erase.add_argument("--subject", help="the subject as producers sent it in detail.subjects, e.g. user:42")
    erase.add_argument("--developer", help="the developer whose events named it")
    erase.add_argument("--all-developers", action="store_true", help="every developer that used it (asks first)")
    erase.add_argument("--yes", action="store_true", help="do not ask (--all-developers without a terminal)")
    erase.add_argument("--out", help="also write the receipt to this file")
    erase.add_argument("--verify", metavar="RECEIPT", help="check the stores against a receipt (a file)")
    erase.set_defaults(func=cmd_erase)
