"""The `greenlint` command line: the parser, `check` (lint, fix, report) and the dispatch to the other
commands (`cli_rules.py`: rules, rule; `cli_profile.py`: profile, compare, merge; `demo.py`).

Exit status of `check`: 0 nothing found, 1 findings remain, 2 usage, configuration or internal error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from greenlint import __version__
from greenlint.cli_parsing import SuggestingParser, parse_arguments
from greenlint.exit_codes import EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS
from greenlint.reporters import FORMATS  # the package imports each renderer on first use
from greenlint.reporters.escaping import display_text  # stdlib only

if TYPE_CHECKING:
    from greenlint.impact_filter import Shown
    from greenlint.terminal import Console

# Everything else (rich, libcst, the rules, the reporters) is imported by the command that needs
# it: `greenlint --version` or a pre-commit `check` of files no rule can match must not pay for
# importing them (bench/startup.py measures it; tests/test_startup.py checks what is imported).

DEFAULT_HTML_REPORT = "greenlint-report.html"



def _codes(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _append_codes(namespace_list: list[str] | None, value: str) -> list[str]:
    return (namespace_list or []) + _codes(value)


class _CodesAction(argparse.Action):
    def __call__(self, parser, namespace, values, option_string=None):  # noqa: ANN001
        setattr(namespace, self.dest, _append_codes(getattr(namespace, self.dest), values))


def build_parser() -> argparse.ArgumentParser:
    parser = SuggestingParser(
        prog="greenlint",
        description="Find the energy waste in ML training code.",
    )
    parser.add_argument("--version", action="version", version=f"greenlint {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = commands.add_parser("check", help="lint files and directories (default: .)")
    check.add_argument("paths", nargs="*", default=["."], metavar="PATH")
    check.add_argument("--select", action=_CodesAction, metavar="CODES", help="comma-separated codes or prefixes to enable (replaces the configured list)")
    check.add_argument("--extend-select", action=_CodesAction, metavar="CODES", help="codes or prefixes to enable in addition")
    check.add_argument("--ignore", action=_CodesAction, metavar="CODES", help="codes or prefixes to disable")
    check.add_argument("--exclude", action=_CodesAction, metavar="PATTERNS", help="file patterns to skip (replaces the defaults)")
    check.add_argument("--extend-exclude", action=_CodesAction, metavar="PATTERNS", help="file patterns to skip in addition")
    check.add_argument("--preview", action=argparse.BooleanOptionalAction, default=None, help="also run the preview rules (under 80 %% measured precision; see docs/precision.md)")
    check.add_argument("--long-run", action="append", metavar="PATTERN", dest="long_runs",
                       help="a script that runs for hours: the run-length rules report in files matching PATTERN (repeatable; adds to long-runs)")
    check.add_argument("--detect-long-runs", action=argparse.BooleanOptionalAction, default=None,
                       help="treat files whose code shows a long run (distributed training, 100+ epochs, 50k+ steps) as named in long-runs (default: on)")
    check.add_argument("--min-impact", choices=("low", "medium", "high"), help="hide findings whose estimated impact is below this level (default: medium; an exactly selected code shows all its findings)")
    check.add_argument("--no-respect-gitignore", action="store_true", help="lint files that .gitignore ignores")
    check.add_argument("--force-exclude", action="store_true", help="apply excludes to files named on the command line too (for pre-commit)")
    check.add_argument("--config", metavar="FILE", help="a greenlint.toml or pyproject.toml to use")
    check.add_argument("--isolated", action="store_true", help="ignore all configuration files")
    check.add_argument("--format", choices=FORMATS, default="text", dest="output_format")
    check.add_argument("--output", "-o", metavar="FILE", help="write the report to FILE")
    check.add_argument("--statistics", action="store_true", help="count findings per rule")
    check.add_argument("--no-cache", action="store_true", help="do not read or write the result cache")
    check.add_argument("--cache-dir", metavar="DIR", help="where the cache lives (default: .greenlint_cache)")
    check.add_argument("--exit-zero", action="store_true", help="exit 0 even when findings remain")
    check.add_argument("--jobs", "-j", type=int, metavar="N", help="worker processes (default: CPU count)")
    check.add_argument("--quiet", "-q", action="store_true", help="print findings only, no summary")
    check.add_argument("--fix", action="store_true", help="apply safe fixes")
    check.add_argument("--unsafe-fixes", action="store_true", help="also offer (and with --fix apply) fixes that change numerics or behaviour")
    check.add_argument("--diff", action="store_true", help="print the fixes as a unified diff and write nothing (exit 1 if there is a diff)")
    check.add_argument("--fix-only", action="store_true", help="apply fixes, do not report what remains (exit 0)")

    rules = commands.add_parser("rules", help="list every rule")
    rules.add_argument("--format", choices=("text", "json"), default="text", dest="output_format")

    rule = commands.add_parser("rule", help="show one rule's documentation")
    rule.add_argument("code")
    rule.add_argument("--format", choices=("text", "json"), default="text", dest="output_format")

    profile = commands.add_parser(
        "profile",
        help="run a training script under energy measurement",
        usage="greenlint profile [OPTIONS] [--] (SCRIPT | -m MODULE | torchrun [TORCHRUN_OPTIONS] SCRIPT) [ARGS...]",
        description="Run SCRIPT (or -m MODULE, or a torchrun command line) with its ARGS under measurement; "
                    "greenlint's options come first.",
    )
    profile.add_argument("--nproc-per-node", type=int, metavar="N", help="run N processes under torchrun (one node, standalone rendezvous) and merge their profiles")
    profile.add_argument("--steps", type=int, default=20, metavar="N", help="measured optimizer steps, then stop (default 20)")
    profile.add_argument("--warmup", type=int, default=3, metavar="N", help="optimizer steps to skip before measuring (default 3)")
    profile.add_argument("--duration", type=float, metavar="SECONDS", help="stop at the first step boundary after this long")
    profile.add_argument("--full", action="store_true", help="run the script to completion")
    profile.add_argument("--through-epoch", action="store_true", help="measure on past the first epoch boundary, so that work between epochs (evaluation, checkpoints) is projected too")
    profile.add_argument("--total-steps", type=int, metavar="N", help="the full run's optimizer steps, for the projection")
    profile.add_argument("--sample-interval", type=float, default=0.005, metavar="SECONDS", help="stack-sampling interval for line attribution (default 0.005; 0.01 halves the sampler's cost)")
    profile.add_argument("--gpu-trace-steps", type=int, default=3, metavar="N", help="steps traced with torch.profiler after the warm-up for GPU line attribution, outside the measured window (default 3; 0: none)")
    profile.add_argument("--cpu-watts-per-core", type=float, metavar="W", help="power per busy core for the CPU estimate (default 12 W)")
    profile.add_argument("--format", choices=("text", "json"), default="text", dest="output_format")
    profile.add_argument("--output", "-o", metavar="FILE", help="write the report to FILE")
    profile.add_argument("--html", metavar="FILE", default=DEFAULT_HTML_REPORT, help=f"write the HTML report to FILE (default {DEFAULT_HTML_REPORT})")
    profile.add_argument("--no-html", action="store_true", help="do not write the HTML report")
    profile.add_argument("--no-progress", action="store_true", help="no live progress bar (it is shown only on a terminal)")
    profile.add_argument("--no-advice", action="store_true", help="measure only: do not lint the code that ran")
    profile.add_argument("--grid-intensity", type=float, metavar="G_PER_KWH", help="grid carbon intensity in gCO2e/kWh (default: a cited world average)")
    profile.add_argument("--pue", type=float, metavar="PUE", help="data-centre power usage effectiveness (default 1.0: devices only)")
    profile.add_argument("--measure-fixes", action="store_true", help="after the advice, apply each top fix alone in a scratch copy and profile original and fixed alternately: the measured saving with a 95 %% interval")
    profile.add_argument("--top", type=int, metavar="K", help="--measure-fixes: the first K advice items with an autofix (default 3)")
    profile.add_argument("--rounds", type=int, metavar="R", help="--measure-fixes: runs of each variant, alternating (default 5)")
    profile.add_argument("-m", dest="module", nargs=argparse.REMAINDER, metavar="MODULE", help="run a module, as python -m")
    profile.add_argument("script", nargs=argparse.REMAINDER, metavar="SCRIPT [ARGS...]")

    compare = commands.add_parser("compare", help="measured saving between two profiles, next to the advice's prediction")
    compare.add_argument("documents", nargs="+", metavar="BEFORE.json AFTER.json", help="two profiles, or several pairs made alternately (BEFORE AFTER BEFORE AFTER ...): each pair is a round, and the interval then covers changes of the machine between runs")
    compare.add_argument("--format", choices=("text", "json"), default="text", dest="output_format")
    compare.add_argument("--fail-over", type=float, metavar="PCT", help="exit 1 when AFTER uses significantly more energy per step than BEFORE by more than PCT %% (the whole 95 %% interval above PCT): an energy gate for CI")

    merge = commands.add_parser("merge", help="combine the profiles of a multi-node job (one `greenlint profile --format json` per node)")
    merge.add_argument("documents", nargs="+", metavar="NODE.json")
    merge.add_argument("--output", "-o", metavar="FILE", help="write the merged JSON to FILE (default: stdout)")

    demo = commands.add_parser("demo", help="lint, profile and advise a bundled CPU example (under a minute, no GPU needed)")
    demo.add_argument("--html", metavar="FILE", help=f"where to write the HTML report (default: {DEFAULT_HTML_REPORT} in greenlint's cache directory, ~/.cache/greenlint/demo)")
    demo.add_argument("--steps", type=int, default=20, metavar="N", help="measured optimizer steps (default 20)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parse_arguments(parser, argv)
    # the stderr console is made when something is said on it: a clean, piped `check` (a
    # pre-commit hook) never imports rich
    stderr = _LazyStderr()
    try:
        if args.command == "check":
            return _check(args, stderr)
        if args.command in ("rules", "rule"):
            from greenlint import cli_rules

            if args.command == "rules":
                return cli_rules.list_rules(args)
            return cli_rules.show_rule(args, stderr.console)
        if args.command in ("profile", "compare", "merge"):
            from greenlint import cli_profile

            command = {"profile": cli_profile.profile_command, "compare": cli_profile.compare_command,
                       "merge": cli_profile.merge_command}[args.command]
            return command(args, stderr.console)
        if args.command == "demo":
            from greenlint.demo import run_demo
            from greenlint.terminal import Console

            return run_demo(Path(args.html) if args.html else None, args.steps, Console(highlight=False), stderr.console)
        parser.print_help(sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        stderr.print("greenlint: interrupted; nothing was written")
        return 130
    except BrokenPipeError:
        return EXIT_CLEAN


class _LazyStderr:
    """A rich Console on stderr, made on first use."""

    def __init__(self) -> None:
        self._console: Console | None = None

    @property
    def console(self) -> Console:
        """The Console itself, for code that needs a real one (a progress bar)."""
        if self._console is None:
            from greenlint.terminal import Console

            self._console = Console(stderr=True, highlight=False)
        return self._console

    def __getattr__(self, name: str):  # noqa: ANN204
        return getattr(self.console, name)


def _plain_stdout() -> bool:
    """stdout is a pipe or a file and nobody asked for a terminal's output: text reports need no
    rich. The same decision as rich's Console.is_terminal (TTY_COMPATIBLE, FORCE_COLOR, isatty)."""
    import os

    tty_compatible = os.environ.get("TTY_COMPATIBLE", "")
    if tty_compatible in ("0", "1"):
        return tty_compatible == "0"
    if os.environ.get("FORCE_COLOR") is not None:
        return os.environ["FORCE_COLOR"] == ""
    try:
        return not sys.stdout.isatty()
    except ValueError:  # closed
        return True


def _check(args: argparse.Namespace, stderr: Console) -> int:
    from greenlint.cache_dir import CacheDirError
    from greenlint.config import ConfigError, Overrides, load_settings
    from greenlint.discovery import DiscoveryError, discover
    from greenlint.runner import lint_files
    from greenlint.selection import preview_only_codes, preview_rules_selected_without_preview

    overrides = Overrides(
        select=args.select,
        extend_select=args.extend_select,
        ignore=args.ignore,
        exclude=args.exclude,
        extend_exclude=args.extend_exclude,
        respect_gitignore=False if args.no_respect_gitignore else None,
        cache_dir=args.cache_dir,
        preview=args.preview,
        min_impact=args.min_impact,
        long_runs=args.long_runs,
        detect_long_runs=args.detect_long_runs,
    )
    skipped: list[str] = []  # folders discovery could not read
    try:
        settings = load_settings(args.config, args.isolated, overrides)
        files = discover(args.paths, settings, force_exclude=args.force_exclude, skipped=skipped)
    except (ConfigError, DiscoveryError) as exc:
        stderr.print(f"greenlint: error: {display_text(str(exc))}", soft_wrap=True, markup=False)
        return EXIT_ERROR
    for message in skipped:
        stderr.print(f"greenlint: warning: {message}", soft_wrap=True, markup=False)
    for code in preview_rules_selected_without_preview(settings.selection):
        stderr.print(f"greenlint: warning: {code} is a preview rule; selecting it has no effect without --preview")
    if args.jobs is not None and args.jobs < 1:
        stderr.print("greenlint: error: --jobs must be at least 1")
        return EXIT_ERROR
    if args.fix or args.diff or args.fix_only:
        return _fix(args, settings, files, stderr)
    preview_only = preview_only_codes(settings.selection)  # run, counted, not shown (impact_filter)
    try:
        result = lint_files(files, settings, use_cache=not args.no_cache, jobs=args.jobs, extra_codes=preview_only)
    except CacheDirError as exc:
        stderr.print(f"greenlint: error: {exc}", soft_wrap=True, markup=False)
        return EXIT_ERROR
    for notice in result.notices:
        stderr.print(f"greenlint: note: {notice}", soft_wrap=True, markup=False)
    for path, reason in result.unreadable:
        stderr.print(f"greenlint: warning: {display_text(path)}: cannot read: {reason}", soft_wrap=True, markup=False)
    from greenlint.impact_filter import apply_threshold

    if settings.long_runs and not result.long_run_files and result.files_checked:
        patterns = ", ".join(display_text(p) for p in settings.long_runs)
        stderr.print(f"greenlint: warning: long-runs ({patterns}) matches none of the {result.files_checked} files checked",
                     soft_wrap=True, markup=False)
    # hidden ones neither show nor fail the run
    shown = apply_threshold(result.findings, settings, preview_only, result.long_run_files)
    status = _report(args, shown.findings, result.files_checked, stderr, threshold=shown)
    if status is not None:
        return status
    if any(f.code == "GL000" for f in shown.findings):
        return EXIT_ERROR
    if shown.findings and not args.exit_zero:
        return EXIT_FINDINGS
    return EXIT_CLEAN


def _report(args: argparse.Namespace, findings: list, files_checked: int, stderr: Console, fixed: int = 0,
            threshold: Shown | None = None) -> int | None:
    """Write the report in the chosen format; returns an exit status only on a write error.
    `threshold` says how many findings min-impact hid (the text report and summary line say it)."""
    note = threshold.note if threshold is not None else None
    out_handle = None
    try:
        if args.output:
            out_handle = open(args.output, "w", encoding="utf-8")  # noqa: SIM115
        out = out_handle or sys.stdout
        if args.output_format == "json":
            from greenlint.reporters.json_format import render_json

            out.write(render_json(findings))
        elif args.output_format == "sarif":
            from greenlint.reporters.sarif import render_sarif

            out.write(render_sarif(findings, Path.cwd(), threshold.sarif_properties() if threshold else None))
        elif args.output_format == "github":
            from greenlint.reporters.github import render_github

            out.write(render_github(findings))
        elif args.statistics:
            from greenlint.reporters.text import render_statistics
            from greenlint.terminal import Console

            render_statistics(findings, Console(file=out, no_color=True, width=10_000, highlight=False)
                              if out_handle else Console(highlight=False))
        elif args.output or _plain_stdout():
            # nothing to colour (a file, a pipe, a pre-commit hook): the same text without rich
            from greenlint.reporters.text import render_plain

            if args.quiet:
                out.write("".join(
                    f"{display_text(f.filename)}:{f.position}: {f.code} {display_text(f.message)}\n" for f in findings
                ))
            else:
                render_plain(findings, out, files_checked, unsafe=args.unsafe_fixes, fixed=fixed, note=note)
        else:
            from greenlint.terminal import Console

            console = Console(highlight=False)
            if args.quiet:
                for f in findings:
                    line = f"{display_text(f.filename)}:{f.position}: {f.code} {display_text(f.message)}"
                    console.print(line, markup=False, soft_wrap=True)
            else:
                from greenlint.reporters.text import render_text

                render_text(findings, console, files_checked, unsafe=args.unsafe_fixes, fixed=fixed, note=note)
    except OSError as exc:
        stderr.print(f"greenlint: error: cannot write {args.output}: {exc.strerror}")
        return EXIT_ERROR
    finally:
        if out_handle is not None:
            out_handle.close()
    _say_summary(args, findings, files_checked, fixed, note)
    return None


def _say_summary(args: argparse.Namespace, findings: list, files_checked: int, fixed: int, note: str | None = None) -> None:
    """A summary line whatever the format: a report in a file leaves the terminal free for it (stdout);
    a JSON, SARIF, GitHub or statistics report on stdout keeps stdout for itself (stderr)."""
    if args.quiet or (args.output_format == "text" and not args.statistics and not args.output):
        return  # the text report ends with the summary itself
    from greenlint.reporters.text import summary_line

    line = summary_line(findings, files_checked, unsafe=args.unsafe_fixes, fixed=fixed, note=note)
    if args.output:
        print(f"{line} Report: {args.output}", flush=True)
    else:
        print(line, file=sys.stderr, flush=True)


def _fix(args: argparse.Namespace, settings, files: list[Path], stderr: Console) -> int:  # noqa: ANN001
    from greenlint.runner import fix_files

    outcomes, unreadable = fix_files(files, settings, unsafe=args.unsafe_fixes, jobs=args.jobs)
    for path, reason in unreadable:
        stderr.print(f"greenlint: warning: {path}: cannot read: {reason}", soft_wrap=True)
    for _, outcome in outcomes:
        for problem in outcome.problems:
            stderr.print(f"greenlint: warning: {problem}", soft_wrap=True, markup=False)
    changed = [(path, o) for path, o in outcomes if o.new_bytes is not None]
    if args.diff:
        for _, outcome in changed:
            sys.stdout.write(_unified_diff(outcome))
        if not changed:
            stderr.print("No fixes available.")
        return EXIT_FINDINGS if changed else EXIT_CLEAN
    from greenlint.fix_writing import write_fixes

    report = write_fixes(changed, files)
    if report.stale_removed:
        count = len(report.stale_removed)
        stderr.print(f"greenlint: removed {count} temporary file{'s' if count != 1 else ''} left by an interrupted greenlint run")
    for outcome, reason in report.skipped:
        stderr.print(f"greenlint: warning: {outcome.display_path}: {reason}", soft_wrap=True, markup=False)
    written = len(report.written)
    if report.interrupted:
        stderr.print(f"greenlint: interrupted; {written} of {len(changed)} fixed file{'s' if len(changed) != 1 else ''} written, "
                     f"{len(report.not_written)} not written:", soft_wrap=True, markup=False)
        for outcome in report.not_written:
            stderr.print(f"  {outcome.display_path}", soft_wrap=True, markup=False)
        return 130
    fixed = sum(len(o.applied) for _, o in outcomes)
    remaining = sorted((f for _, o in outcomes for f in o.remaining), key=lambda f: f.sort_key())
    from greenlint.impact_filter import apply_threshold

    from greenlint.long_runs import detected_long_run_codes

    # the run-length rules ran everywhere for `detect-long-runs`: shown only where a file's code
    # shows a long run, counted elsewhere, as `check` does
    shown = apply_threshold(remaining, settings, detected_long_run_codes(settings))
    remaining = shown.findings
    if args.fix_only:
        stderr.print(f"Fixed {fixed} finding{'s' if fixed != 1 else ''} in {written} file{'s' if written != 1 else ''}.")
        return EXIT_CLEAN
    status = _report(args, remaining, len(outcomes), stderr, fixed=fixed, threshold=shown)
    if status is not None:
        return status
    if any(f.code == "GL000" for f in remaining):
        return EXIT_ERROR
    return EXIT_FINDINGS if remaining and not args.exit_zero else EXIT_CLEAN


def _unified_diff(outcome) -> str:  # noqa: ANN001
    import difflib

    return "".join(
        difflib.unified_diff(
            outcome.original_text.splitlines(keepends=True),
            outcome.fixed_text.splitlines(keepends=True),
            fromfile=f"a/{outcome.display_path}",
            tofile=f"b/{outcome.display_path}",
        )
    )


if __name__ == "__main__":
    raise SystemExit(main())
