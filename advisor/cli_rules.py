"""`greenlint rules` (the catalogue as a table or JSON) and `greenlint rule CODE` (one rule's
documentation: what, why, its evidence and impact basis, examples)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from greenlint.exit_codes import EXIT_CLEAN, EXIT_ERROR

if TYPE_CHECKING:
    from greenlint.terminal import Console


def list_rules(args: argparse.Namespace) -> int:
    from greenlint.rules import ALL_RULES
    from greenlint.terminal import Console

    if args.output_format == "json":
        sys.stdout.write(json.dumps([r.to_json() for r in ALL_RULES], indent=2, ensure_ascii=False) + "\n")
        return EXIT_CLEAN
    from greenlint.reporters.rules_table import render_rules

    render_rules(ALL_RULES, Console(highlight=False))
    return EXIT_CLEAN


def show_rule(args: argparse.Namespace, stderr: Console) -> int:
    from greenlint.cli_parsing import suggestion
    from greenlint.rules import ALL_CODES, get_rule
    from greenlint.rules.docs import rule_markdown, rule_text
    from greenlint.terminal import Console

    rule = get_rule(args.code)
    if rule is None:
        close = suggestion(args.code.upper(), list(ALL_CODES))
        hint = f"did you mean {close}? " if close else ""
        stderr.print(f"greenlint: error: unknown rule `{args.code}` ({hint}see `greenlint rules`)", markup=False)
        return EXIT_ERROR
    if args.output_format == "json":
        sys.stdout.write(json.dumps(rule.to_json(), indent=2, ensure_ascii=False) + "\n")
        return EXIT_CLEAN
    console = Console()
    if console.is_terminal:
        from rich.markdown import Markdown

        # rich lays the Markdown out to the terminal's width, wrapping at word boundaries
        console.print(Markdown(rule_markdown(rule, links=False)))
    else:
        sys.stdout.write(rule_text(rule))
    return EXIT_CLEAN
