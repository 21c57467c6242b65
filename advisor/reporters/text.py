"""`--format text`: `path:row:col: CODE message`, coloured with rich when writing to a terminal.

Piped (a pre-commit hook, CI), the same lines are written without rich (render_plain): there is
nothing to colour, and importing rich would cost a clean run a quarter of its time.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, TextIO

from greenlint.findings import Finding
from greenlint.reporters.escaping import display_text

if TYPE_CHECKING:
    from rich.console import Console


def _fixable(finding: Finding, unsafe: bool) -> bool:
    return finding.fix is not None and (finding.fix.applicability == "safe" or unsafe)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def fix_counts(findings: list[Finding]) -> tuple[int, int]:
    """(findings with a safe fix, findings whose fix needs --unsafe-fixes)."""
    safe = sum(f.fix is not None and f.fix.applicability == "safe" for f in findings)
    unsafe = sum(f.fix is not None and f.fix.applicability != "safe" for f in findings)
    return safe, unsafe


def fix_sentences(findings: list[Finding], unsafe: bool) -> list[tuple[str, bool]]:
    """What `--fix` would do, as ruff says it, each with whether the findings it counts carry the
    `[*]` mark: a fix that needs `--unsafe-fixes` is never counted as fixable by `--fix` alone."""
    safe, needs_unsafe = fix_counts(findings)
    sentences = []
    if safe:
        sentences.append((f"{safe} fixable with the `--fix` option.", True))
    if needs_unsafe and unsafe:
        sentences.append((f"{needs_unsafe} {'more ' if safe else ''}fixable with `--fix --unsafe-fixes` "
                          "(they change numerics or behaviour).", True))
    elif needs_unsafe:
        noun = "hidden fix" if needs_unsafe == 1 else "hidden fixes"
        sentences.append((f"{needs_unsafe} {noun} can be enabled with the `--unsafe-fixes` option "
                          "(they change numerics or behaviour).", False))
    return sentences


def summary_line(findings: list[Finding], files_checked: int, unsafe: bool = False, fixed: int = 0,
                 note: str | None = None) -> str:
    """One line, for a report in another format or in a file: what the run found. `note`: how many
    findings min-impact or preview mode hid (impact_filter.Shown.note)."""
    parts = [f"Fixed {_plural(fixed, 'finding')}."] if fixed else []
    if findings:
        files = len({f.filename for f in findings})
        parts.append(f"Found {_plural(len(findings), 'finding')} in {files} of {files_checked} files.")
        parts += [sentence for sentence, _ in fix_sentences(findings, unsafe)]
    elif not fixed:
        parts.append(f"All checks passed! ({_plural(files_checked, 'file')})")
    if note:
        parts.append(note)
    return " ".join(parts)


def render_plain(findings: list[Finding], out: TextIO, files_checked: int, unsafe: bool = False, fixed: int = 0,
                 note: str | None = None) -> None:
    """render_text's lines, uncoloured, without rich; `note` (findings min-impact or preview mode hid) comes last."""
    lines = [
        f"{display_text(f.filename)}:{f.position}: {f.code}{' [*]' if _fixable(f, unsafe) else ''} {display_text(f.message)}"
        for f in findings
    ]
    if fixed:
        lines.append(f"Fixed {_plural(fixed, 'finding')}.")
    if findings:
        files = len({f.filename for f in findings})
        lines.append(f"Found {_plural(len(findings), 'finding')} in {files} of {files_checked} files.")
        lines += [f"{'[*] ' if marked else ''}{sentence}" for sentence, marked in fix_sentences(findings, unsafe)]
    elif not fixed:
        lines.append(f"All checks passed! ({_plural(files_checked, 'file')})")
    if note:
        lines.append(note)
    out.write("".join(line + "\n" for line in lines))


def render_text(findings: list[Finding], console: Console, files_checked: int, unsafe: bool = False, fixed: int = 0,
                note: str | None = None) -> None:
    from rich.markup import escape

    for f in findings:
        mark = " [cyan]\\[*][/cyan]" if _fixable(f, unsafe) else ""
        console.print(
            f"[bold]{escape(display_text(f.filename))}[/bold][cyan]:[/cyan]{escape(f.position)}[cyan]:[/cyan]"
            f" [bold red]{f.code}[/bold red]{mark} {escape(display_text(f.message))}",
            soft_wrap=True,
            highlight=False,
        )
    if fixed:
        console.print(f"Fixed {_plural(fixed, 'finding')}.", highlight=False)
    if findings:
        files = len({f.filename for f in findings})
        console.print(f"Found {_plural(len(findings), 'finding')} in {files} of {files_checked} files.", highlight=False)
        for sentence, marked in fix_sentences(findings, unsafe):
            mark = "[cyan]\\[*][/cyan] " if marked else ""
            console.print(f"{mark}{escape(sentence)}", highlight=False)
    elif not fixed:
        console.print(f"[green]All checks passed![/green] ({_plural(files_checked, 'file')})", highlight=False)
    if note:
        console.print(escape(note), highlight=False)


def render_statistics(findings: list[Finding], console: Console) -> None:
    from greenlint.rules import get_rule

    counts = Counter(f.code for f in findings)
    for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        rule = get_rule(code)
        name = rule.name if rule else ""
        console.print(f"{count:>6}  {code}  {name}", highlight=False, soft_wrap=True)
