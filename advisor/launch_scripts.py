"""The command-line options a project launches a Python script with, and on how many processes.

Research code keeps its run settings in `train.sh` (`python train.py -epoch 200 ...`) or in its
README (`python train.py --epochs 100`) while the script's argparse default says 10. Rules that read
an argparse default (the epoch count of GL502/GL503, an evaluation interval) should read the value
the project actually runs with. launch_sources.py finds the command lines (shell and batch-job
scripts, Markdown files, notebooks' shell lines); this module splits each like a shell would
(`shlex`), finds the commands that run a given script (`python[3] path/train.py`, `python -m
pkg.train`, also behind `torchrun`, `python -m torch.distributed.launch`, `accelerate launch`,
`deepspeed`, `horovodrun`/`mpirun`) and collects the options passed to it, and the number of
processes the launcher starts (`--nproc_per_node=8`, `--num_gpus 8`, `--num_processes 4`,
`--multi_gpu`, `-np 4`, `--nnodes 2`).

Deliberately narrow, so that nothing is guessed:
- only options written as literal words (`-e 1000`, `--epochs=1000`), or as a variable that the
  same shell file sets to one literal value (`EPOCHS=1000` ... `-e $EPOCHS`, shell_variables.py);
  any other value holding `$` is unknown and left out;
- an option is known only when every launch of the script found passes it, all with the same
  value: two commands with `-e 100` and `-e 1000`, or one that leaves it at the default, give
  nothing;
- `least_options_for` gives, for the long-run detection only, the smallest value of a numeric
  option that every launch passes with different literal numbers (`--max_train_steps=30000` in one
  script, `=10000` in another: every launch runs at least 10,000 steps);
- `processes_for` gives the most processes any launch of the script starts, written as a literal
  number (a launcher without a count, `deepspeed train.py`, uses every visible GPU: unknown);
- a relative script path starts from the command's folder; a README in `docs/` that says `python
  train.py` means the root's `train.py` when the folder has none;
- at most MAX_SCRIPTS files of each suffix, of at most MAX_SCRIPT_BYTES each (notebooks
  MAX_NOTEBOOK_BYTES), read once per run, and the walk stops after MAX_VISITED_FILES files of any
  kind.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from greenlint.launch_sources import (MARKDOWN_SUFFIXES, MAX_NOTEBOOK_BYTES, NOTEBOOK_SUFFIXES, SHELL_SUFFIXES, CommandLine,
                                      command_lines, shell_lines)
from greenlint.rules.config_data import is_config_path

MAX_SCRIPTS = 200
MAX_SCRIPT_BYTES = 200_000
MAX_VISITED_FILES = 50_000  # the bound the project index puts on its own walk (MAX_PROJECT_FILES)
_SKIPPED = frozenset({".git", ".venv", "venv", "env", "node_modules", "__pycache__", "site-packages", "build", "dist"})
_PYTHON = re.compile(r"^(.*/)?python(\d+(\.\d+)?)?$")
# Shell scripts and the batch-job files of HPC schedulers (PBS `#PBS`, SLURM `#SBATCH` lines are
# comments to the shell), Windows command files (`train.cmd`: `^` continues a line), Markdown
# files and notebooks (launch_sources.py)
_LAUNCH_SUFFIXES = SHELL_SUFFIXES + MARKDOWN_SUFFIXES + NOTEBOOK_SUFFIXES
# `python -m` modules that launch another script rather than being the script
_LAUNCHER_MODULES = frozenset({"torch.distributed.launch", "torch.distributed.run", "accelerate.commands.launch",
                               "deepspeed.launcher.runner", "deepspeed"})
# launcher options that count processes (per node), and the ones that count nodes
_PROCESS_OPTIONS = frozenset({"--nproc_per_node", "--nproc-per-node", "--num_gpus", "--num-gpus", "--num_processes",
                              "--num-processes", "-np", "--np"})
_NODE_OPTIONS = frozenset({"--nnodes", "--num_nodes", "--num-nodes", "--num_machines", "--num-machines"})


@dataclass(frozen=True)
class Launch:
    script: str  # what the command names: "src/train.py" (relative to the shell file's folder) or "-m src.train"
    options: dict[str, str | None]  # "--epochs" -> "1000"; a flag without value -> None
    where: str  # "train.sh:9", "README.md:103", "run.ipynb cell 4"
    processes: int = 1  # processes the launcher starts, all nodes together (1: one, or not written)
    launcher: str = ""  # how the command starts them: "`torchrun --nproc_per_node=8`"


@dataclass(frozen=True)
class ProjectScript:
    path: Path
    shown: str  # the path relative to the project root, "/"-separated
    text: str


class ScriptWalk:
    """The project's files with one of `suffixes`, read as text, in a stable order, within the
    bounds above (MAX_SCRIPTS per suffix); `not_a_project` is set when the walk stopped at
    MAX_VISITED_FILES files (a home folder or a data tree). Shared by the launch reader here and
    the GPU hints (gpu_hints.py)."""

    def __init__(self, root: Path, suffixes: tuple[str, ...]) -> None:
        self.root = root
        self.suffixes = suffixes
        self.not_a_project = False

    def __iter__(self) -> Iterator[ProjectScript]:
        counts: dict[str, int] = {}
        visited = 0
        for folder, subfolders, files in os.walk(self.root, onerror=lambda _error: None):
            subfolders[:] = sorted(d for d in subfolders if d not in _SKIPPED and not d.startswith("."))
            visited += len(files)
            if visited > MAX_VISITED_FILES:
                self.not_a_project = True
                return
            for name in sorted(files):
                lower = name.lower()
                if not lower.endswith(self.suffixes):
                    continue
                suffix = lower.rsplit(".", 1)[-1]
                counts[suffix] = counts.get(suffix, 0) + 1
                if counts[suffix] > MAX_SCRIPTS:
                    continue
                path = Path(folder, name)
                try:
                    if path.stat().st_size > (MAX_NOTEBOOK_BYTES if lower.endswith(NOTEBOOK_SUFFIXES) else MAX_SCRIPT_BYTES):
                        continue
                    text = path.read_text(encoding="utf-8", errors="replace")
                except OSError:
                    continue
                yield ProjectScript(path, path.relative_to(self.root).as_posix(), text)


def read_launches(root: Path) -> list[Launch]:
    """Every Python launch written in the project's shell scripts, Markdown files and notebooks."""
    launches: list[Launch] = []
    for script in ScriptWalk(root, _LAUNCH_SUFFIXES):
        folder_rel = script.path.parent.relative_to(root).as_posix()
        folder = "" if folder_rel == "." else folder_rel
        for line in command_lines(script.path, script.shown, folder, script.text):
            launch = _launch_on(line, root)
            if launch is not None:
                launches.append(launch)
    missing = {launch.script for launch in launches if _bare_and_missing(launch, root)}
    if missing:
        found = _scripts_on_path(root, {script.rpartition("/")[2] for script in missing})
        launches = [replace(launch, script=found[launch.script.rpartition("/")[2]])
                    if launch.script in missing and launch.script.rpartition("/")[2] in found else launch
                    for launch in launches]
    return launches


def _bare_and_missing(launch: Launch, root: Path) -> bool:
    """The command names its script without a folder (`train.py`, read from the command's own
    folder) and no such file is there."""
    if launch.script.startswith("-m "):
        return False
    command_folder = launch.where.rsplit(":", 1)[0].split(" cell ")[0].rpartition("/")[0]
    return launch.script.rpartition("/")[0] == command_folder and not (root / launch.script).is_file()


def _scripts_on_path(root: Path, names: set[str]) -> dict[str, str]:
    """For a recipe that runs a script by its bare name from another folder (Kaldi/ESPnet's
    `egs/aishell/run.sh` runs `train.py`, which its path.sh puts on PATH from `src/bin/`): the one
    project file of each name, from the root. A name that two files share stays unresolved."""
    seen: dict[str, list[str]] = {}
    visited = 0
    for folder, subfolders, files in os.walk(root, onerror=lambda _error: None):
        subfolders[:] = sorted(d for d in subfolders if d not in _SKIPPED and not d.startswith("."))
        visited += len(files)
        if visited > MAX_VISITED_FILES:
            return {}
        for name in names.intersection(files):
            seen.setdefault(name, []).append(Path(folder, name).relative_to(root).as_posix())
    return {name: paths[0] for name, paths in seen.items() if len(paths) == 1}


def _launches_in(text: str, shown: str, folder: str, windows: bool = False) -> list[Launch]:
    """The launches of one shell script's text (its relative paths resolved from `folder`)."""
    return [launch for line in shell_lines(text, shown, folder, windows) if (launch := _launch_on(line)) is not None]


def _launch_on(line: CommandLine, root: Path | None = None) -> Launch | None:
    if "python" not in line.text and ".py" not in line.text:
        return None
    try:
        words = shlex.split(line.text, comments=True)
    except ValueError:
        return None
    launch = _launch(words, line.folder, line.where)
    if launch is not None and root is not None and line.folder and not launch.script.startswith("-m "):
        # a README in docs/ that says `python train.py` means the root's train.py when docs/ has none
        if not (root / launch.script).is_file():
            from_root = _script_path("", next(word for word in words if word.endswith(".py") and not word.startswith("-")))
            if (root / from_root).is_file():
                launch = Launch(from_root, launch.options, launch.where, launch.processes, launch.launcher)
    return launch


def _launch(words: list[str], folder: str, where: str) -> Launch | None:
    """The script a command runs, the options after it, and the processes a launcher before it
    starts; None when the line runs no script."""
    behind_launcher = False  # `torchrun ... -m pkg.train` runs a module too
    for index, word in enumerate(words):
        if word in ("|", "&&", "||", ";"):
            return None  # a pipeline before any script: not parsed
        if word.endswith(".py") and not word.startswith("-"):
            processes, launcher = _processes(words[:index])
            return Launch(_script_path(folder, word), _options(words[index + 1:]), where, processes, launcher)
        if word in ("torchrun", "deepspeed", "horovodrun", "mpirun") or word in _LAUNCHER_MODULES:
            behind_launcher = True
        if word == "-m" and index + 1 < len(words) and index > 0 and (behind_launcher or _PYTHON.match(words[index - 1])):
            if words[index + 1] in _LAUNCHER_MODULES:
                continue  # `python -m torch.distributed.launch --nproc_per_node=8 train.py`: the script follows
            processes, launcher = _processes(words[:index])
            return Launch(f"-m {words[index + 1]}", _options(words[index + 2:]), where, processes, launcher)
    return None


def _script_path(folder: str, word: str) -> str:
    return os.path.normpath(os.path.join(folder, word)).replace(os.sep, "/")


def _processes(words: list[str]) -> tuple[int, str]:
    """(processes, the launcher words that say so) from the words before the script: per-node
    counts times node counts; `--multi_gpu` alone means at least 2. (1, "") when nothing says."""
    options = _options(words)
    per_node = nodes = 1
    said: list[str] = []
    for option, value in options.items():
        count = int(value) if value is not None and value.isdigit() else None
        if option in _PROCESS_OPTIONS and count:
            per_node = count
            said.append(f"{option}={value}")
        elif option in _NODE_OPTIONS and count:
            nodes = count
            said.append(f"{option}={value}")
    if per_node == 1 and "--multi_gpu" in options:
        per_node = 2
        said.append("--multi_gpu")
    processes = per_node * nodes
    if processes < 2:
        return 1, ""
    starter = next((word for word in words  # the launcher's name, not a wrapper's variable (`${cuda_cmd}`)
                    if not word.startswith("-") and "=" not in word and "$" not in word and not _PYTHON.match(word)), "")
    return processes, f"`{' '.join([starter, *said]).strip()}`"


def _options(words: list[str]) -> dict[str, str | None]:
    options: dict[str, str | None] = {}
    index = 0
    while index < len(words):
        word = words[index]
        if word in ("|", "&&", "||", ";", ">", ">>", "2>&1", "&") or word.startswith((">", "2>")):
            break
        if word.startswith("-") and not _is_number(word):
            if "=" in word and word.startswith("--"):
                name, _, value = word.partition("=")
                options[name] = value
            elif index + 1 < len(words) and (not words[index + 1].startswith("-") or _is_number(words[index + 1])):
                options[word] = words[index + 1]
                index += 1
            else:
                options[word] = None
        index += 1
    return options


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


# Beyond this many different config files per option, the launches are left unread: each file is
# parsed for every lookup that goes through the option (config_file_values.py).
MAX_CONFIG_CHOICES = 16


def _launches_of(launches: list[Launch], relative: str) -> list[Launch]:
    module = "-m " + relative[:-3].replace("/", ".") if relative.endswith(".py") else None
    return [launch for launch in launches if launch.script == relative or launch.script == module]


def processes_for(launches: list[Launch], relative: str) -> tuple[int, str] | None:
    """(processes, "`torchrun --nproc_per_node=8` in train.sh:3") for the launch of the script at
    `relative` that starts the most processes, when one starts two or more; else None."""
    most = max(_launches_of(launches, relative), key=lambda launch: launch.processes, default=None)
    if most is None or most.processes < 2:
        return None
    return most.processes, f"{most.launcher} in {most.where}"


def least_options_for(launches: list[Launch], relative: str) -> dict[str, tuple[str, str]]:
    """option -> (smallest value, where) for the numeric options every launch of the script passes
    as literal numbers that differ between launches (options_for has those that agree)."""
    mine = _launches_of(launches, relative)
    if len(mine) < 2:
        return {}
    least: dict[str, tuple[str, str]] = {}
    for option in mine[0].options:
        values = [launch.options.get(option) for launch in mine]
        if any(value is None or not _is_number(value) for value in values) or len(set(values)) == 1:
            continue
        smallest = min(zip(values, mine), key=lambda pair: float(pair[0]))  # type: ignore[arg-type]
        least[option] = (smallest[0], f"{smallest[1].where}, the smallest of {len(mine)} launches")  # type: ignore[misc]
    return least


def config_choices_for(launches: list[Launch], relative: str) -> dict[str, tuple[tuple[str, str], ...]]:
    """option -> ((config path, where of its first launch), ...) for the options every launch of the
    script passes a config file to, when the launches pass different files (`--config
    configs/small.yaml` in one, `configs/large.yaml` in another); options_for has the file every
    launch agrees on. An option with more than MAX_CONFIG_CHOICES files is left out (unknown)."""
    mine = _launches_of(launches, relative)
    if len(mine) < 2:
        return {}
    choices: dict[str, tuple[tuple[str, str], ...]] = {}
    for option in mine[0].options:
        values = [launch.options.get(option) for launch in mine]
        if any(value is None or not is_config_path(value) for value in values) or len(set(values)) == 1:
            continue
        first_where: dict[str, str] = {}
        for value, launch in zip(values, mine):
            first_where.setdefault(value, launch.where)  # type: ignore[arg-type]
        if len(first_where) <= MAX_CONFIG_CHOICES:
            choices[option] = tuple(first_where.items())
    return choices


def options_for(launches: list[Launch], relative: str) -> dict[str, tuple[str, str]]:
    """option -> (value, where) for the script at `relative` (posix, from the root): only the
    options every launch of it passes with one literal value (no shell variable); a flag every
    launch passes without a value (`--fp16`) has the value "" (argparse's `store_true` reads it)."""
    mine = _launches_of(launches, relative)
    if not mine:
        return {}
    known: dict[str, tuple[str, str]] = {}
    for option, value in mine[0].options.items():
        if value is None:
            if all(option in launch.options and launch.options[option] is None for launch in mine[1:]):
                known[option] = ("", mine[0].where)
            continue
        if "$" in value or "`" in value or "%" in value:  # a shell or cmd variable
            continue
        if all(launch.options.get(option, None) == value for launch in mine[1:]):
            known[option] = (value, mine[0].where)
    return known


@dataclass(frozen=True)
class LaunchValues:
    """What the project's launches say about one script (the project index's questions)."""

    options: dict[str, tuple[str, str]]  # every launch agrees (options_for)
    least: dict[str, tuple[str, str]]  # numbers the launches differ on: the smallest (least_options_for)
    configs: dict[str, tuple[tuple[str, str], ...]]  # config files the launches differ on (config_choices_for)


class ProjectLaunches:
    """The launches of one project, read from its scripts, READMEs and notebooks when first asked."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._launches: list[Launch] | None = None

    @property
    def launches(self) -> list[Launch]:
        if self._launches is None:
            self._launches = read_launches(self.root)
        return self._launches

    def values_for(self, relative: str | None) -> LaunchValues:
        if not relative:
            return LaunchValues({}, {}, {})
        launches = self.launches
        return LaunchValues(options_for(launches, relative), least_options_for(launches, relative),
                            config_choices_for(launches, relative))

    def processes_for(self, relative: str | None) -> tuple[int, str] | None:
        return processes_for(self.launches, relative) if relative else None
