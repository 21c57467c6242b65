"""Launching a profile through PyTorch's own elastic launcher (torchrun), with every rank running
greenlint's bootstrap.

    greenlint profile --nproc-per-node N SCRIPT ARGS
        -> python -c LAUNCHER --standalone --nproc-per-node N --no-python
               python -u -c CHILD CONFIG SCRIPT ARGS
    greenlint profile torchrun [TORCHRUN OPTIONS] SCRIPT ARGS      (also `python -m torch.distributed.run ...`
    greenlint profile -m torch.distributed.run [OPTIONS] SCRIPT ARGS         and `-m MODULE` for the script)
        -> the same, with the user's torchrun options kept

Every rank runs `python -u -c CHILD CONFIG SCRIPT ARGS` (torchrun's --no-python runs that command
as given): CHILD is the bootstrap's safe start (child_command below), which runs the user's script
(or `-m MODULE`) as the single-process profiler does. `python -m` or `-c` alone would put the
working directory first on sys.path, so a json.py or signal.py there would run in place of the
modules greenlint imports; LAUNCHER starts torchrun itself the same safe way. The user's
options are parsed by torchrun's own parser (torch.distributed.run.get_args_parser), so every
spelling and abbreviation torchrun accepts is understood the way torchrun understands it.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field

TORCHRUN_MODULES = ("torch.distributed.run",)
BOOTSTRAP = "greenlint.profiler.bootstrap"  # the child, as CHILD_CODE imports it

# The first lines the child runs (`python -c CHILD_CODE CONFIG TARGET ARGS`). `-c` (like `-m`) puts
# the working directory first on sys.path and PYTHONPATH's folders follow: both belong to the user.
# Greenlint imports its own modules with neither on the path, so a json.py, signal.py or
# greenlint.py there never runs in their place; bootstrap.main then gives the script the sys.path
# that `python SCRIPT` (or `python -m MODULE`) would have, built from `user_path`. Only where
# greenlint itself is installed on PYTHONPATH (pip --target) is that kept for its imports.
CHILD_CODE = """\
import os, sys
user_path = sys.path[1:]
extra = os.environ.get("PYTHONPATH")
users = {os.path.abspath(p) for p in extra.split(os.pathsep)} if extra else set()
sys.path[:] = [p for p in user_path if os.path.abspath(p) not in users]
import importlib.util
if importlib.util.find_spec("greenlint") is None:
    sys.path[:] = user_path
from greenlint.profiler.bootstrap import main
sys.exit(main(sys.argv, user_path))
"""

# torchrun's own process, started as safely (it needs no user path at all).
LAUNCHER_CODE = """\
import runpy, sys
del sys.path[0]
sys.argv[0] = "torchrun"
runpy.run_module("torch.distributed.run", run_name="__main__")
"""
# torchrun flags that change how the script is started; the bootstrap replaces that start
_START_FLAGS = ("-m", "--module", "--run-path", "--run_path")


class LaunchError(Exception):
    """The command line cannot be profiled as given; the message says why."""


@dataclass
class TorchrunCommand:
    launcher_args: list[str]  # torchrun's own options, as the user spelled them
    module: str | None  # the user's `torchrun -m MODULE`
    script: str | None
    args: list[str] = field(default_factory=list)
    nproc_per_node: str = "1"
    nnodes: str = "1:1"

    @property
    def max_nodes(self) -> int:
        try:
            return int(self.nnodes.split(":")[-1])
        except ValueError:
            return 1


def torchrun_argv(command: list[str], module: str | None) -> list[str] | None:
    """torchrun's arguments when `greenlint profile` was given a torchrun command line, else None.

    `command` is what followed greenlint's options (SCRIPT ARGS), `module` greenlint's own `-m`."""
    if module is not None:
        return list(command) if module in TORCHRUN_MODULES else None
    if not command:
        return None
    head = os.path.basename(command[0])
    if head == "torchrun":
        return command[1:]
    python = head.startswith("python") or os.path.realpath(command[0]) == os.path.realpath(sys.executable)
    if python and len(command) >= 3 and command[1] == "-m" and command[2] in TORCHRUN_MODULES:
        return command[3:]
    return None


def parse_torchrun(argv: list[str]) -> TorchrunCommand:
    """Split a torchrun argument list into its own options and the script with its arguments."""
    try:
        from torch.distributed.run import get_args_parser
    except ImportError as exc:
        raise LaunchError(f"torchrun needs PyTorch, which does not import here ({exc})") from None
    parser = get_args_parser()
    parser.exit_on_error = False  # type: ignore[attr-defined]
    try:
        ns = parser.parse_args(argv)
    except SystemExit:
        raise LaunchError("torchrun's options could not be parsed (its message is above)") from None
    except Exception as exc:  # noqa: BLE001 - argparse.ArgumentError
        raise LaunchError(f"torchrun's options could not be parsed: {exc}") from None
    if ns.no_python:
        raise LaunchError("torchrun --no-python runs a program that is not Python; greenlint can only profile Python")
    # argparse's REMAINDER takes everything after the script, so the script sits just before it
    cut = len(argv) - len(ns.training_script_args) - 1
    if cut < 0 or argv[cut] != ns.training_script:
        raise LaunchError("could not find the training script in the torchrun command line")
    launcher = [a for a in argv[:cut] if a not in _START_FLAGS]
    check = parser.parse_args([*launcher, "x.py"])
    if check.module or check.run_path:
        raise LaunchError("spell torchrun's -m / --run-path in full (greenlint inserts its own `-m`)")
    return TorchrunCommand(launcher_args=launcher, module=ns.training_script if ns.module else None,
                           script=None if ns.module else ns.training_script, args=list(ns.training_script_args),
                           nproc_per_node=str(ns.nproc_per_node), nnodes=str(ns.nnodes))


def standalone(nproc_per_node: int) -> list[str]:
    """torchrun options for `greenlint profile --nproc-per-node N` (one node, a local rendezvous)."""
    return ["--standalone", "--nproc-per-node", str(nproc_per_node)]


def child_command(config_path: str, target: list[str], args: list[str], unbuffered: bool = False) -> list[str]:
    """The command line of one profiled process: the bootstrap, started without the working
    directory or PYTHONPATH on sys.path (CHILD_CODE)."""
    return [sys.executable, *(["-u"] if unbuffered else []), "-c", CHILD_CODE, config_path, *target, *args]


def launch_command(launcher_args: list[str], config_path: str, target: list[str], args: list[str]) -> list[str]:
    """The parent's command line: torchrun, running the child command on every rank. torchrun's
    --no-python runs it as given; without it torchrun would add `python -u` itself, which is what
    the child command already starts with."""
    return [sys.executable, "-c", LAUNCHER_CODE, *launcher_args, "--no-python",
            *child_command(config_path, target, args, unbuffered=True)]
