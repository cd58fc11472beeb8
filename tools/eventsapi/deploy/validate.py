"""`make validate`: what `sam deploy` sends, checked as CloudFormation will check it. The template
is packaged and transformed by the real SAM translator for the defaults and for every value of every
parameter a Condition reads; a refusal fails with the translator's own message. cfn-lint then reads
each *transformed* template (cfn-lint 1.x no longer runs the transform itself), and the upgrade
check compares today's template with the last release's (deploy/released/)."""

import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from eventsapi.deploy import transform as sam_transform
from eventsapi.deploy import upgrade

LINT_PROCESSES = 2  # the machines this runs on have two cores


class ValidationFailed(Exception):
    """One line saying what CloudFormation (or cfn-lint, or the upgrade check) would refuse."""


def _file_name(label: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-." else "_" for c in label)
    return f"{safe[:80]}.json"


def transformed_templates(template: Path, out_dir: Path) -> Iterator[tuple[str, Path]]:
    """(label, path) of the transformed template of each parameter set, written as JSON to out_dir."""
    import json

    sam = sam_transform.load_yaml(template)
    for label, parameters in sam_transform.conditional_parameter_sets(sam):
        try:
            transformed = sam_transform.transform(sam, parameters)
        except sam_transform.TransformRejected as rejected:
            raise ValidationFailed(f"the SAM transform rejects {template.name} ({label}): {rejected}") from None
        path = out_dir / _file_name(label)
        path.write_text(json.dumps(transformed, indent=1))
        yield label, path


def _cfn_lint() -> list[str]:
    beside = Path(sys.executable).parent / "cfn-lint"
    return [str(beside)] if beside.exists() else ["cfn-lint"]


def lint(paths: list[Path]) -> list[str]:
    """cfn-lint's errors on the templates (warnings are printed, not failed on), in parallel chunks."""
    chunks = [paths[i::LINT_PROCESSES] for i in range(LINT_PROCESSES) if paths[i::LINT_PROCESSES]]

    def run(chunk: list[Path]) -> subprocess.CompletedProcess:
        command = [*_cfn_lint(), "--format", "parseable", "--", *map(str, chunk)]
        return subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603

    with ThreadPoolExecutor(len(chunks)) as pool:
        results = list(pool.map(run, chunks))
    errors: list[str] = []
    notes: dict[str, int] = {}
    for result in results:
        if result.returncode & 1:  # cfn-lint itself failed (a template it could not read)
            errors.append(result.stderr.strip() or result.stdout.strip())
        for line in result.stdout.splitlines():
            parts = line.split(":", 6)
            if len(parts) == 7 and parts[5].startswith("E"):
                errors.append(line)
            elif len(parts) == 7:  # a warning: once, however many templates say it
                notes[f"{parts[5]} {parts[6]}"] = notes.get(f"{parts[5]} {parts[6]}", 0) + 1
    for note, count in notes.items():
        print(f"validate: cfn-lint note ({count} templates): {note}")
    return errors


def validate(root: Path, *, run_lint: bool = True, check_upgrade: bool = True) -> list[str]:
    """What was checked, one line each; ValidationFailed on the first refusal."""
    template = root / "template.yaml"
    done = []
    with tempfile.TemporaryDirectory(prefix="eventsapi-transformed-") as out:
        started = time.monotonic()
        written = list(transformed_templates(template, Path(out)))
        done.append(
            f"SAM transform (aws-sam-translator) accepts the packaged template for {len(written)} parameter sets:"
            f" {', '.join(label for label, _ in written)} ({time.monotonic() - started:.1f} s)"
        )
        if run_lint:
            started = time.monotonic()
            errors = lint([path for _, path in written])
            if errors:
                raise ValidationFailed("cfn-lint on the transformed templates: " + " | ".join(errors))
            seconds = time.monotonic() - started
            done.append(f"cfn-lint: no error in the {len(written)} transformed templates ({seconds:.1f} s)")
    if check_upgrade:
        refused = upgrade.check(root)
        if refused:
            raise ValidationFailed("upgrade check: " + " | ".join(refused))
        done.append(f"upgrade check: nothing stateful of {upgrade.RELEASED.name} is replaced or removed")
    return done


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="eventsapi validate", description=__doc__)
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[3])
    parser.add_argument("--no-lint", action="store_true", help="transform only (no cfn-lint)")
    args = parser.parse_args(argv)
    try:
        for line in validate(args.root, run_lint=not args.no_lint):
            print(f"validate: {line}")
    except ValidationFailed as failed:
        print(f"validate: {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
