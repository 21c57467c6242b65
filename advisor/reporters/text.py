"""`--format text`: `path:row:col: CODE message`, coloured with rich when writing to a terminal."""

from __future__ import annotations

from collections import Counter

from rich.console import Console
from rich.markup import escape

from greenlint.findings import Finding
from greenlint.reporters.escaping import display_text
from greenlint.rules import get_rule


def _fixable(finding: Finding, unsafe: bool) -> bool:
    return finding.fix is not None and (finding.fix.applicability == "safe" or unsafe)


def render_text(findings: list[Finding], console: Console, files_checked: int, unsafe: bool = False, fixed: int = 0) -> None:
    for f in findings:
        mark = " [cyan]\\[*][/cyan]" if _fixable(f, unsafe) else ""
        console.print(
            f"[bold]{escape(display_text(f.filename))}[/bold][cyan]:[/cyan]{escape(f.position)}[cyan]:[/cyan]"
            f" [bold red]{f.code}[/bold red]{mark} {escape(display_text(f.message))}",
            soft_wrap=True,
            highlight=False,
        )
    if fixed:
        console.print(f"Fixed {fixed} finding{'s' if fixed != 1 else ''}.", highlight=False)
    if findings:
        files = len({f.filename for f in findings})
        noun = "finding" if len(findings) == 1 else "findings"
        console.print(f"Found {len(findings)} {noun} in {files} of {files_checked} files.", highlight=False)
        fixable = sum(_fixable(f, unsafe) for f in findings)
        hidden = sum(f.fix is not None and not _fixable(f, unsafe) for f in findings)
        if fixable:
            console.print(f"[cyan]\\[*][/cyan] {fixable} fixable with the `--fix` option.", highlight=False)
        if hidden:
            console.print(f"{hidden} more fixable with `--fix --unsafe-fixes` (they change numerics or behaviour).", highlight=False)
    elif not fixed:
        console.print(f"[green]All checks passed![/green] ({files_checked} files)", highlight=False)


def render_statistics(findings: list[Finding], console: Console) -> None:
    counts = Counter(f.code for f in findings)
    for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        rule = get_rule(code)
        name = rule.name if rule else ""
        console.print(f"{count:>6}  {code}  {name}", highlight=False, soft_wrap=True)
