"""Global flags before or after the subcommand: `eventsapi --local keys list …` and
`eventsapi keys list … --local` mean the same.

Every leaf command also accepts the root's flags, with no default of its own (argparse.SUPPRESS):
given after the subcommand, a flag overrides; not given there, the root's value (or default) stays.
"""

import argparse
import copy


def _subcommands(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found: list[argparse.ArgumentParser] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found.extend(dict.fromkeys(action.choices.values()))  # an alias names the same parser
    return found


def accept_anywhere(root: argparse.ArgumentParser) -> None:
    flags = [
        action
        for action in root._actions
        if action.option_strings and not isinstance(action, argparse._HelpAction | argparse._SubParsersAction)
    ]
    dests = {action.dest for action in flags}

    def extend(parser: argparse.ArgumentParser) -> None:
        for action in parser._actions:
            if action.dest in dests and action.option_strings:
                action.default = argparse.SUPPRESS  # a command's own copy of a global flag must not reset it
        taken = {option for action in parser._actions for option in action.option_strings}
        for flag in flags:
            if not taken.intersection(flag.option_strings):
                clone = copy.copy(flag)
                clone.default = argparse.SUPPRESS
                parser._add_action(clone)
        for child in _subcommands(parser):
            extend(child)

    for child in _subcommands(root):
        extend(child)
