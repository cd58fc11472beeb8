"""The resources a stack may adopt from an earlier one (docs/operators.md "Rebuilding on retained
data"), and a rewriter that guards every reference to them in template.yaml: `!GetAtt WebhooksTable.Arn` becomes
`!If [NewWebhooksTable, !GetAtt WebhooksTable.Arn, <the adopted table's ARN>]`, and so on. It is
idempotent, so a template merged with new references can be passed through it again:

    .venv/bin/python -m eventsapi.local.adoptable template.yaml
"""

import re
import sys
from pathlib import Path

TABLES = (
    "WebhooksTable",
    "ApiLogsTable",
    "ApiKeysTable",
    "DeliveriesTable",
    "IdempotencyTable",
    "PayloadsTable",
    "ListenTable",
    "ControlTable",
)
KEY = "SecretsKey"


def table_arn(table: str) -> str:
    existing = f"arn:${{AWS::Partition}}:dynamodb:${{AWS::Region}}:${{AWS::AccountId}}:table/${{Existing{table}Name}}"
    return f'!If [New{table}, !GetAtt {table}.Arn, !Sub "{existing}"]'


def _guarded() -> list[str]:
    """The guarded forms, longest first, which the rewrite must leave alone."""
    forms = [f"!If [New{t}, !Ref {t}, !Ref Existing{t}Name]" for t in TABLES]
    forms += [table_arn(t) for t in TABLES]
    forms.append(f"!If [New{KEY}, !GetAtt {KEY}.Arn, !Ref Existing{KEY}Arn]")
    return sorted(forms, key=len, reverse=True)


def guard(text: str) -> str:
    """Rewrite the unguarded references in the Globals, Resources and Outputs of `text`."""
    head, globals_marker, rest = text.partition("\nGlobals:\n")
    if not globals_marker:
        head, rest = "", text
    kept: list[str] = []

    def hold(form: str, body: str) -> str:
        while form in body:
            kept.append(form)
            body = body.replace(form, f"@@{len(kept) - 1}@@", 1)
        return body

    for form in _guarded():
        rest = hold(form, rest)
    for table in TABLES:
        arn = table_arn(table)
        rest = re.sub(
            r'!Sub "\$\{' + table + r'\.Arn\}(/index/\w+)"',
            lambda found: f'!Sub ["${{Table}}{found.group(1)}", {{Table: {arn}}}]',  # noqa: B023 - used at once
            rest,
        )
        for form in _guarded():  # the arn just written inside the Sub
            rest = hold(form, rest)
        rest = rest.replace(f"!GetAtt {table}.Arn", table_arn(table))
        rest = re.sub(
            r"!Ref " + table + r"\b(?!Name)", f"!If [New{table}, !Ref {table}, !Ref Existing{table}Name]", rest
        )
    rest = rest.replace(f"!GetAtt {KEY}.Arn", f"!If [New{KEY}, !GetAtt {KEY}.Arn, !Ref Existing{KEY}Arn]")
    for index in range(len(kept) - 1, -1, -1):
        rest = rest.replace(f"@@{index}@@", kept[index])
    return head + globals_marker + rest


def main(argv: list[str]) -> int:
    path = Path(argv[0] if argv else "template.yaml")
    original = path.read_text()
    rewritten = guard(original)
    path.write_text(rewritten)
    print(f"{path}: {'references guarded' if rewritten != original else 'nothing to guard'}")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
