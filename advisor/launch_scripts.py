"""The command-line options a project's shell scripts launch a Python script with.

Research code keeps its run settings in `train.sh` (`python train.py -epoch 200 ...`) while
the script's argparse default says 10. Rules that read an argparse default (the epoch count of
GL502/GL503, an evaluation interval) should read the value the project actually runs with. This
module reads the project's shell scripts (`*.sh`, HPC batch jobs `*.pbs`/`*.slurm`/`*.sbatch`,
Windows `*.cmd`/`*.bat`) as text (nothing is run), joins backslash-continued
lines, splits each line like a shell would (`shlex`), finds the commands that run a given
script (`python[3] path/train.py`, `python -m pkg.train`, also after `torchrun`,
`accelerate launch`, `deepspeed`) and collects the options passed to it.

Deliberately narrow, so that nothing is guessed:
- only options written as literal words (`-e 1000`, `--epochs=1000`); a value holding `$` (a
  shell variable) is unknown and left out;
- an option is known only when every launch of the script found passes it, all with the same
  value: two scripts with `-e 100` and `-e 1000`, or one that leaves it at the default, give
  nothing;
- `least_options_for` gives, for the long-run detection only, the smallest value of a numeric
  option that every launch passes with different literal numbers (`--max_train_steps=30000` in one
  script, `=10000` in another: every launch runs at least 10,000 steps);
- at most MAX_SCRIPTS files of at most MAX_SCRIPT_BYTES each, read once per run, and the walk
  stops after MAX_VISITED_FILES files of any kind.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

MAX_SCRIPTS = 200
MAX_SCRIPT_BYTES = 200_000
MAX_VISITED_FILES = 50_000  # the bound the project index puts on its own walk (MAX_PROJECT_FILES)
_SKIPPED = frozenset({".git", ".venv", "venv", "env", "node_modules", "__pycache__", "site-packages", "build", "dist"})
_PYTHON = re.compile(r"^(.*/)?python(\d+(\.\d+)?)?$")
# Shell scripts and the batch-job files of HPC schedulers (PBS `#PBS`, SLURM `#SBATCH` lines are
# comments to the shell) and Windows command files (`train.cmd`: `^` continues a line)
_SCRIPT_SUFFIXES = (".sh", ".bash", ".zsh", ".pbs", ".slurm", ".sbatch", ".qsub", ".job", ".cmd", ".bat")
_WINDOWS_SUFFIXES = (".cmd", ".bat")


@dataclass(frozen=True)
class Launch:
    script: str  # what the command names: "src/train.py" (relative to the shell file's folder) or "-m src.train"
    options: dict[str, str | None]  # "--epochs" -> "1000"; a flag without value -> None
    where: str  # "train.sh:9"


@dataclass(frozen=True)
class ProjectScript:
    path: Path
    shown: str  # the path relative to the project root, "/"-separated
    text: str


class ScriptWalk:
    """The project's script files with one of `suffixes`, read as text, in a stable order, within
    the bounds above; `not_a_project` is set when the walk stopped at MAX_VISITED_FILES files (a
    home folder or a data tree). Shared by the launch reader here and the GPU hints (gpu_hints.py)."""

    def __init__(self, root: Path, suffixes: tuple[str, ...]) -> None:
        self.root = root
        self.suffixes = suffixes
        self.not_a_project = False

    def __iter__(self) -> Iterator[ProjectScript]:
        count = visited = 0
        for folder, subfolders, files in os.walk(self.root, onerror=lambda _error: None):
            subfolders[:] = sorted(d for d in subfolders if d not in _SKIPPED and not d.startswith("."))
            visited += len(files)
            if visited > MAX_VISITED_FILES:
                self.not_a_project = True
                return
            for name in sorted(files):
                if not name.lower().endswith(self.suffixes):
                    continue
                count += 1
                if count > MAX_SCRIPTS:
                    return
                path = Path(folder, name)
                try:
                    if path.stat().st_size > MAX_SCRIPT_BYTES:
                        continue
                    text = path.read_text(encoding="utf-8", errors="replace")
                except OSError:
                    continue
                yield ProjectScript(path, path.relative_to(self.root).as_posix(), text)


def read_launches(root: Path) -> list[Launch]:
    """Every Python launch written in the project's shell scripts."""
    launches: list[Launch] = []
    for script in ScriptWalk(root, _SCRIPT_SUFFIXES):
        folder_rel = script.path.parent.relative_to(root).as_posix()
        windows = script.path.name.lower().endswith(_WINDOWS_SUFFIXES)
        launches.extend(_launches_in(script.text, script.shown, "" if folder_rel == "." else folder_rel, windows))
    return launches


def _logical_lines(text: str, continuation: str = "\\") -> list[tuple[int, str]]:
    """(first physical line number, line) with continuations (`\\`, `^` in a .cmd file) joined."""
    lines: list[tuple[int, str]] = []
    current, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        if not current:
            start = number
        stripped = raw.rstrip()
        if stripped.endswith(continuation):
            current += stripped[:-1] + " "
            continue
        current += stripped
        lines.append((start, current))
        current = ""
    if current:
        lines.append((start, current))
    return lines


def _launches_in(text: str, shown: str, folder: str, windows: bool = False) -> list[Launch]:
    found = []
    for number, line in _logical_lines(text, "^" if windows else "\\"):
        if "python" not in line and ".py" not in line:
            continue
        try:
            words = shlex.split(line, comments=True)
        except ValueError:
            continue
        launch = _launch(words, folder, f"{shown}:{number}")
        if launch is not None:
            found.append(launch)
    return found


def _launch(words: list[str], folder: str, where: str) -> Launch | None:
    """The script a command runs and the options after it; None when the line runs no script."""
    for index, word in enumerate(words):
        if word in ("|", "&&", "||", ";"):
            return None  # a pipeline before any script: not parsed
        if word.endswith(".py") and not word.startswith("-"):
            script = os.path.normpath(os.path.join(folder, word)).replace(os.sep, "/")
            return Launch(script, _options(words[index + 1:]), where)
        if word == "-m" and index + 1 < len(words) and index > 0 and _PYTHON.match(words[index - 1]):
            return Launch(f"-m {words[index + 1]}", _options(words[index + 2:]), where)
    return None


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


def _launches_of(launches: list[Launch], relative: str) -> list[Launch]:
    module = "-m " + relative[:-3].replace("/", ".") if relative.endswith(".py") else None
    return [launch for launch in launches if launch.script == relative or launch.script == module]


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


def options_for(launches: list[Launch], relative: str) -> dict[str, tuple[str, str]]:
    """option -> (value, where) for the script at `relative` (posix, from the root): only the
    options every launch of it passes with one literal value (no shell variable)."""
    mine = _launches_of(launches, relative)
    if not mine:
        return {}
    known: dict[str, tuple[str, str]] = {}
    for option, value in mine[0].options.items():
        if value is None or "$" in value or "`" in value or "%" in value:  # a shell or cmd variable
            continue
        if all(launch.options.get(option, None) == value for launch in mine[1:]):
            known[option] = (value, mine[0].where)
    return known
