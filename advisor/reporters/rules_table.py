"""`greenlint rules`: one row per rule, columns aligned whatever the longest name.

On a terminal, a rich table without borders: the summary column wraps inside itself, at word
boundaries. Piped, plain text padded to the longest code and name, one rule per line, unwrapped.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from greenlint.rules.base import Rule


def _notes(rule: Rule) -> str:
    notes = [f"{rule.fix_applicability} fix"] if rule.fix_applicability else []
    if rule.preview:
        notes.append("preview")
    return ", ".join(notes)


def rules_lines(rules: tuple[Rule, ...]) -> list[str]:
    """The plain-text rows: code, name and notes padded to their longest value, then the summary."""
    name_width = max(len(rule.name) for rule in rules)
    notes_width = max(len(_notes(rule)) for rule in rules)
    return [
        f"{rule.code}  {rule.name:<{name_width}}  {_notes(rule):<{notes_width}}  {rule.summary}".rstrip()
        for rule in rules
    ]


def render_rules(rules: tuple[Rule, ...], console: Console) -> None:
    if not console.is_terminal:
        for line in rules_lines(rules):
            console.file.write(line + "\n")
        return
    table = Table(box=None, show_edge=False, pad_edge=False, header_style="bold")
    table.add_column("code", no_wrap=True, style="bold red")
    table.add_column("name", no_wrap=True)
    table.add_column("fix", no_wrap=True, style="cyan")
    table.add_column("summary", overflow="fold")
    for rule in rules:
        table.add_row(rule.code, rule.name, _notes(rule), rule.summary)
    console.print(table)
