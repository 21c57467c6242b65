"""The child side of `greenlint profile`: run the user's script under measurement.

    python -c CHILD_CODE CONFIG_JSON SCRIPT [ARGS...]        (launch.child_command)
    python -c CHILD_CODE CONFIG_JSON -m MODULE [ARGS...]

The script sees its own argv, ``__name__ == "__main__"``, the sys.path ``python SCRIPT`` would give
it (its directory first; the working directory first for ``-m MODULE``), the unchanged working
directory and environment. The modules imported here are imported before any of the user's folders
is on sys.path (launch.CHILD_CODE), so a json.py beside the script cannot replace them.

Training steps are found through PyTorch's global optimizer step post-hook, registered only when
``torch.optim.optimizer`` is first imported, so a script that never imports torch pays nothing for
it. The raw result (``RawResult`` as JSON) is written to the config's ``result_path`` on every kind
of exit; ``profile.py`` turns it into a Profile in the parent. Meanwhile the measurements are
streamed to a journal (journal.py), for a run killed before it can write its result. The
measurement state is ``recorder.Recorder``; this module installs its step hook and runs the script.
"""

from __future__ import annotations

import json
import os
import runpy
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from greenlint.profiler.import_hooks import after_import
from greenlint.profiler.journal import Journal, journal_path
from greenlint.profiler.ranks import RankInfo, rank_sources
from greenlint.profiler.rapl_source import RAPL_ROOT
from greenlint.profiler.recorder import Recorder, StopProfiling, write_result_atomically
from greenlint.profiler.run_length_probe import RunLengthProbe
from greenlint.profiler.sources import EnergySource, select_sources

EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


class _Terminated(BaseException):
    """SIGTERM, turned into an exception so that the partial result is still written."""


# ------------------------------------------------------------------------- installing the step hook


def _register(optimizer_module: Any, recorder: Recorder) -> None:
    register = getattr(optimizer_module, "register_optimizer_step_post_hook", None)
    if register is None:
        recorder.sources.notices.append("this torch has no global optimizer step hook; steps cannot be counted")
        return
    if recorder.probe is not None:  # before ours: it must see the first step even if on_step stops the run
        recorder.probe.on_optimizer_module(optimizer_module)
    register(recorder.on_step)
    recorder.hook_installed = True


def install_step_hook(recorder: Recorder) -> None:
    after_import("torch.optim.optimizer", lambda module: _register(module, recorder))


# ---------------------------------------------------------------------------------------- the run

# runpy's frames are named "<frozen runpy>" on 3.11+ (frozen stdlib modules), its path before.
_OUR_FILES = {os.path.abspath(__file__), os.path.abspath(runpy.__file__), "<frozen runpy>"}


def _is_ours(filename: str) -> bool:
    return filename in _OUR_FILES or (not filename.startswith("<") and os.path.abspath(filename) in _OUR_FILES)


def _print_user_traceback(exc: BaseException) -> None:
    """The script's traceback as Python would print it, without our and runpy's frames."""
    tb = exc.__traceback__
    while tb is not None and _is_ours(tb.tb_frame.f_code.co_filename):
        tb = tb.tb_next
    exc.__traceback__ = tb
    try:
        sys.excepthook(type(exc), exc, tb)
    except Exception:  # noqa: BLE001 - a broken user excepthook: fall back to the default print
        traceback.print_exception(type(exc), exc, tb)


def _system_exit_code(exc: SystemExit) -> int:
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF if code >= 0 else code % 256
    print(code, file=sys.stderr)
    return 1


def _select(config: dict[str, Any]) -> tuple[list[EnergySource], list[str], RankInfo | None, str]:
    """The sources, notices, rank (under torchrun) and where to write the raw result."""
    rapl_root = Path(config["rapl_root"]) if config.get("rapl_root") else RAPL_ROOT
    if not config.get("distributed"):
        sources, notices = select_sources(config.get("cpu_watts_per_core"), rapl_root=rapl_root,
                                          use_nvml=config.get("use_nvml", True))
        return sources, notices, None, config["result_path"]
    info = RankInfo.from_env()
    sources, notices = rank_sources(info, config.get("result_dir"), config.get("cpu_watts_per_core"),
                                    rapl_root=rapl_root, use_nvml=config.get("use_nvml", True))
    return sources, notices, info, os.path.join(config["result_dir"], f"result.rank{info.rank}.json")


def main(argv: list[str], user_path: list[str] | None = None) -> int:
    """``user_path``: sys.path after its first entry as Python built it for this process (CHILD_CODE);
    the script gets it behind its own first entry. None (``python -m`` this module): sys.path as is,
    its first entry replaced."""
    if len(argv) < 3 or (argv[2] == "-m" and len(argv) < 4):
        print("usage: python -m greenlint.profiler.bootstrap CONFIG_JSON (SCRIPT | -m MODULE) [ARGS...]", file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as fh:
        config = json.load(fh)
    module = argv[3] if argv[2] == "-m" else None
    script_argv = argv[3:] if module else argv[2:]

    sources, notices, rank, result_path = _select(config)
    if rank is not None and rank.rank != 0:
        # one progress display and one --duration decision per run: global rank 0's
        config = {**config, "status_path": None, "decides_stop": False}
    recorder = Recorder(config, sources, notices)
    try:
        recorder.journal = Journal(journal_path(result_path))
        recorder.journal_rank = rank.to_json() if rank is not None else None
    except OSError as exc:
        recorder.sources.notices.append(f"no live record of the measurements ({exc}): a killed run leaves no profile")
    recorder.probe = RunLengthProbe(lambda: recorder.step_count, recorder._user_files.resolve,
                                    None if module else script_argv[0])
    recorder.probe.install()
    install_step_hook(recorder)

    last_sigint = [0.0]

    def on_sigint(signum: int, frame: Any) -> None:
        # A terminal Ctrl-C reaches both greenlint and this child, and greenlint forwards it too:
        # one interrupt, not two (the second could cut the script's own cleanup short).
        now = time.monotonic()
        if now - last_sigint[0] < 1.0:
            return
        last_sigint[0] = now
        raise KeyboardInterrupt

    def on_sigterm(signum: int, frame: Any) -> None:
        raise _Terminated

    signal.signal(signal.SIGINT, on_sigint)
    signal.signal(signal.SIGTERM, on_sigterm)
    signal.signal(signal.SIGUSR1, recorder.on_sigusr1)

    sys.argv = list(script_argv)
    # `python SCRIPT` puts the script's folder first, `python -m MODULE` the working directory.
    first = os.path.dirname(os.path.abspath(script_argv[0])) if module is None else os.getcwd()
    if user_path is not None:
        sys.path[:] = [first, *user_path]
    else:
        sys.path[0] = first

    exit_code, outcome = 0, "completed"
    recorder.start()
    try:
        if module is None:
            runpy.run_path(script_argv[0], run_name="__main__")
        else:
            runpy.run_module(module, run_name="__main__", alter_sys=True)
    except StopProfiling:
        outcome = "stopped"
    except SystemExit as exc:
        exit_code = _system_exit_code(exc)
        outcome = "completed" if exit_code == 0 else "failed"
    except KeyboardInterrupt:
        exit_code, outcome = EXIT_INTERRUPTED, "interrupted"
    except _Terminated:
        exit_code, outcome = EXIT_TERMINATED, "terminated"
    except BaseException as exc:  # noqa: BLE001 - the user's crash: shown as theirs, code 1
        _print_user_traceback(exc)
        exit_code, outcome = 1, "failed"
    finally:
        # Writing the result must not be cut short by a second Ctrl-C or a SIGTERM.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            result = recorder.finish(exit_code, outcome)
            if rank is not None:
                result["rank"] = rank.to_json()
            write_result_atomically(result_path, result)
        except Exception as exc:  # noqa: BLE001
            print(f"greenlint: could not write the profile result: {exc}", file=sys.stderr)
        if recorder.journal is not None:
            recorder.journal.close()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:  # noqa: BLE001
        pass
    return exit_code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
