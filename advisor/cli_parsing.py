"""Argument parsing with "did you mean" suggestions, and errors from the command that was meant.

argparse reports an option that a sub-command does not know (`greenlint check --fromat json`) from
the top-level parser, with the top-level usage, and suggests nothing. Here the sub-command's own
parser reports it, with its usage and the closest option names (difflib, as git and ruff do);
a mistyped command or choice (`greenlint chek`, `--format jsno`) gets the closest choice too.
"""

from __future__ import annotations

import argparse
import re
from typing import NoReturn

# argparse's wording: "invalid choice: 'x' (choose from 'a', 'b')" (3.12+ drops the quotes)
_INVALID_CHOICE = re.compile(r"invalid choice: '?(?P<value>[^'\s]*)'? \(choose from (?P<choices>.*)\)")


def suggestion(word: str, candidates: list[str]) -> str | None:
    """The closest candidate to a mistyped `word`, or None when nothing is close."""
    import difflib  # only a mistake pays for it

    matches = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return matches[0] if matches else None


class SuggestingParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        match = _INVALID_CHOICE.search(message)
        if match:
            choices = [c.strip().strip("'\"") for c in match.group("choices").split(",")]
            close = suggestion(match.group("value"), choices)
            if close:
                message += f"; did you mean '{close}'?"
        super().error(message)


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:  # noqa: SLF001 - argparse has no public way to list them
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            return dict(action.choices)
    return {}


def _option_strings(parser: argparse.ArgumentParser) -> list[str]:
    return [option for action in parser._actions for option in action.option_strings]  # noqa: SLF001


def parse_arguments(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """parse_args, except that unknown options are reported by the sub-command that got them."""
    args, extras = parser.parse_known_args(argv)
    if getattr(args, "command", None) == "profile":
        _strip_double_dash(args)
    if not extras:
        return args
    command = _subparsers(parser).get(getattr(args, "command", None) or "")
    reporter = command or parser
    unknown = extras[0]
    message = f"unrecognized arguments: {' '.join(extras)}"
    if unknown.startswith("-"):
        close = suggestion(unknown.split("=", 1)[0], _option_strings(reporter))
        if close:
            message = f"unrecognized option '{unknown}'; did you mean '{close}'?"
    _fail(reporter, message)


def _strip_double_dash(args: argparse.Namespace) -> None:
    """`greenlint profile [OPTIONS] -- SCRIPT ARGS` (or `-- -m MODULE ARGS`): the `--` that ends
    greenlint's options is not part of the command line to run (argparse keeps it in REMAINDER).
    A `--` later on belongs to the script's own arguments and stays."""
    script = getattr(args, "script", None)
    if not script or script[0] != "--" or getattr(args, "module", None) is not None:
        return
    rest = script[1:]
    if rest[:1] == ["-m"]:
        args.module, args.script = rest[1:], []
    else:
        args.script = rest


def _fail(parser: argparse.ArgumentParser, message: str) -> NoReturn:
    # argparse.ArgumentParser.error, without SuggestingParser's choice handling (already done)
    argparse.ArgumentParser.error(parser, message)
