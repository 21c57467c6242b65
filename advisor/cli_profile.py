"""`greenlint profile`, `compare` and `merge` on the command line: check the options, run, write the
report (text, JSON, HTML). The measuring is greenlint.profiler's, the advice greenlint.profiling's.

Exit status: the profiled script's own when it fails, 130 on Ctrl-C; `compare --fail-over` 1 when
the gate fails; 2 on bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from greenlint.exit_codes import EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS

if TYPE_CHECKING:
    from greenlint.terminal import Console


def profile_command(args: argparse.Namespace, stderr: Console) -> int:
    """Exit status: the script's own when it fails, 130 on Ctrl-C, else 0."""
    from greenlint.terminal import Console

    from greenlint.profiler.report import render_text
    from greenlint.profiler.runner import ProfileOptions, run_profile
    from greenlint.profiling import advise, project_settings
    from greenlint.reporters.advice_text import render_advice_text
    from greenlint.writer import atomic_write

    module = args.module[0] if args.module else None
    command = args.module[1:] if args.module else args.script
    if module is None and not command:
        stderr.print("greenlint: error: profile needs a SCRIPT or -m MODULE")
        return EXIT_ERROR
    launched = _torchrun(args, module, command, stderr)
    if isinstance(launched, int):
        return launched
    launcher_args, module, command = launched
    for name in ("steps", "warmup", "total_steps", "gpu_trace_steps"):
        value = getattr(args, name)
        minimum = 0 if name in ("warmup", "gpu_trace_steps") else 1
        if value is not None and value < minimum:
            stderr.print(f"greenlint: error: --{name.replace('_', '-')} must be at least {minimum}")
            return EXIT_ERROR
    if not 0.001 <= args.sample_interval <= 1.0:
        stderr.print("greenlint: error: --sample-interval must be between 0.001 and 1 second")
        return EXIT_ERROR
    for name in ("grid_intensity", "pue"):
        value = getattr(args, name)
        if value is not None and (value <= 0 or (name == "pue" and value < 1)):
            stderr.print(f"greenlint: error: --{name.replace('_', '-')} must be {'at least 1' if name == 'pue' else 'positive'}")
            return EXIT_ERROR
    from greenlint.measure_fixes_cli import usage_error

    if (problem := usage_error(args)) is not None:
        stderr.print(f"greenlint: error: {problem}")
        return EXIT_ERROR
    script = None if module else command[0]
    if script is not None and not Path(script).is_file():
        stderr.print(f"greenlint: error: {script}: no such file")
        return EXIT_ERROR
    settings, config_notices = project_settings(Path.cwd())
    for notice in config_notices:
        stderr.print(f"greenlint: warning: {notice}", soft_wrap=True, markup=False)
    options = ProfileOptions(
        script=script, module=module, args=command if module else command[1:],
        steps=args.steps, warmup=args.warmup, duration=args.duration, full=args.full,
        total_steps=args.total_steps, cpu_watts_per_core=args.cpu_watts_per_core,
        gpu_trace_steps=args.gpu_trace_steps, launcher_args=launcher_args, sample_interval_s=args.sample_interval,
        through_epoch=args.through_epoch,
    )
    # the live bar appears only where stdout and stderr are both a terminal (profiler/progress.py)
    run = run_profile(options, progress_console=None if args.no_progress else stderr)
    target = f"-m {module}" if module else script
    advised = advise(run.exit_code, run.profile, script, settings, args.grid_intensity, args.pue,
                     lint=not args.no_advice)
    document = advised.document()
    measured: tuple[list, bool] | None = None
    if args.measure_fixes:
        from greenlint.measure_fixes_cli import measure_for_profile

        measured = measure_for_profile(args, options, advised, stderr)
        document["measured_fixes"] = measured[0]

    def text(console: Console) -> None:
        render_text(run.profile, console, target)
        render_advice_text(advised.advice, advised.carbon, console, advised.notices, linted=not args.no_advice)
        if measured is not None:
            from greenlint.reporters.measured_fixes_text import render_measured_fixes

            render_measured_fixes(measured[0], console, measured[1])

    try:
        if args.output_format == "json":
            payload = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
            if args.output:
                atomic_write(Path(args.output), payload.encode("utf-8"))
            else:
                sys.stdout.write(payload)
        elif args.output:
            with open(args.output, "w", encoding="utf-8") as handle:
                text(Console(file=handle, no_color=True, width=120, highlight=False))
        else:
            text(Console(highlight=False))
    except OSError as exc:
        stderr.print(f"greenlint: error: cannot write {args.output}: {exc.strerror}")
        return run.exit_code or EXIT_ERROR
    if not args.no_html:
        # stdout carries the report, unless it carries the JSON itself: then the path goes to stderr
        said = stderr if args.output_format == "json" and not args.output else Console(highlight=False)
        write_html(Path(args.html), document, target, said, stderr)
    if measured is not None and not measured[1]:
        return 130  # Ctrl-C stopped the experiment; what it measured is in the report
    return run.exit_code


def _torchrun(args: argparse.Namespace, module: str | None, command: list[str],
              stderr: Console) -> tuple[list[str] | None, str | None, list[str]] | int:
    """(torchrun's options or None, the script's module, SCRIPT ARGS) for a torchrun run, or an
    exit status: a torchrun command line is unpacked, --nproc-per-node N becomes a standalone one."""
    from greenlint.profiler.launch import LaunchError, parse_torchrun, standalone, torchrun_argv

    argv = torchrun_argv(command, module)
    if argv is None:
        if args.nproc_per_node is None:
            return None, module, command
        if args.nproc_per_node < 1:
            stderr.print("greenlint: error: --nproc-per-node must be at least 1")
            return EXIT_ERROR
        return standalone(args.nproc_per_node), module, command
    try:
        parsed = parse_torchrun(argv)
    except LaunchError as exc:
        stderr.print(f"greenlint: error: {exc}", soft_wrap=True, markup=False)
        return EXIT_ERROR
    if args.nproc_per_node is not None:
        stderr.print("greenlint: error: give --nproc-per-node to torchrun, not to greenlint, with a torchrun command line")
        return EXIT_ERROR
    if args.duration is not None and parsed.max_nodes > 1:
        # the ranks of a node agree on --duration's last step through greenlint's directory;
        # other nodes cannot see it, so they could stop a step apart and hang in a collective
        stderr.print("greenlint: error: --duration cannot stop several nodes at the same step; use --steps")
        return EXIT_ERROR
    if parsed.module:
        return parsed.launcher_args, parsed.module, parsed.args
    return parsed.launcher_args, None, [parsed.script or "", *parsed.args]


def merge_command(args: argparse.Namespace, stderr: Console) -> int:
    from greenlint.merging import MergeError, merge_documents
    from greenlint.writer import atomic_write

    try:
        document = merge_documents([_load_json(path) for path in args.documents], names=args.documents)
    except (MergeError, OSError, ValueError) as exc:
        stderr.print(f"greenlint: error: {exc}", soft_wrap=True, markup=False)
        return EXIT_ERROR
    payload = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if args.output:
        try:
            atomic_write(Path(args.output), payload.encode("utf-8"))
        except OSError as exc:
            stderr.print(f"greenlint: error: cannot write {args.output}: {exc.strerror}")
            return EXIT_ERROR
    else:
        sys.stdout.write(payload)
    return EXIT_CLEAN


def _load_json(path: str) -> dict:
    from greenlint.merging import MergeError

    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except OSError as exc:
        raise MergeError(f"{path}: cannot read: {exc.strerror}") from None
    except (ValueError, RecursionError) as exc:
        raise MergeError(f"{path}: not JSON ({exc})") from None


def compare_command(args: argparse.Namespace, stderr: Console) -> int:
    """Exit status: 2 on bad input; with --fail-over, 1 when the gate fails, else 0."""
    from greenlint.compare import CompareError, compare, load_document, regression_gate
    from greenlint.terminal import Console
    from greenlint.reporters.compare_text import render_comparison

    if len(args.documents) < 2 or len(args.documents) % 2:
        stderr.print("greenlint: error: compare needs BEFORE.json AFTER.json, or pairs of them (an even number of files)")
        return EXIT_ERROR
    try:
        documents = [load_document(path) for path in args.documents]
        result = compare(documents[0], documents[1], list(zip(documents[2::2], documents[3::2])))
    except CompareError as exc:
        stderr.print(f"greenlint: error: {exc}", soft_wrap=True, markup=False)
        return EXIT_ERROR
    if args.fail_over is not None:
        result.gate = regression_gate(result, args.fail_over)
        if result.gate is None:
            stderr.print("greenlint: error: --fail-over needs per-step energies of at least 2 measured steps in "
                         "both profiles", soft_wrap=True)
            return EXIT_ERROR
    if args.output_format == "json":
        sys.stdout.write(json.dumps(result.to_json(), indent=2) + "\n")
    else:
        render_comparison(result, Console(highlight=False))
    return EXIT_FINDINGS if result.gate is not None and result.gate.failed else EXIT_CLEAN


def write_html(path: Path, document: dict, target: str, out: Console, stderr: Console) -> None:
    from greenlint.reporters.html import load_sources, write_html_report

    advised_files = [item["filename"] for item in document.get("advice", [])]
    try:
        write_html_report(path, document, load_sources(document["profile"], also=advised_files), script=target)
    except OSError as exc:
        stderr.print(f"greenlint: error: cannot write the HTML report {path}: {exc.strerror}")
        return
    out.print(f"HTML report: {path}", highlight=False, soft_wrap=True)
