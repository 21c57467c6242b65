"""Where a project writes the commands that run its scripts: shell scripts, the commands shown in
its Markdown files (a README's `python train.py --epochs 100`), and the shell lines of its
notebooks (`!deepspeed --num_gpus=8 scripts/train.py ...`, `%run train.py -e 5`, a `%%bash` cell).

A README or a launching notebook is often the only place a project says how long its runs are:
blind18's yolov3-tf2 trains for the README's `--epochs 100`, philschmid's FLAN-T5 notebook launches
its script with DeepSpeed on 8 GPUs. Everything is read as text (nothing is run or imported), within
the bounds of launch_scripts.ScriptWalk. This module only finds the command lines; launch_scripts.py
parses them.

Which lines count:
- a shell or batch-job file: every line (backslash continuations joined; `^` in a `.cmd`/`.bat`),
  with the variables the file sets to one literal value put in (shell_variables.py);
- a Markdown file: a line (continuations joined) whose first word, after a `$ ` prompt, inline
  backticks and `VAR=value` assignments, runs Python or a known launcher (`python`, `torchrun`,
  `deepspeed`, `accelerate`, ...). Prose that merely mentions `train.py` is not a command;
- a notebook: a code cell's `!` lines, `%run script.py ...` (a `python script.py ...` run), and every
  line of a `%%bash`/`%%sh`/`%%script bash` cell.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from greenlint.shell_variables import known_variables, substitute

SHELL_SUFFIXES = (".sh", ".bash", ".zsh", ".pbs", ".slurm", ".sbatch", ".qsub", ".job", ".cmd", ".bat")
_WINDOWS_SUFFIXES = (".cmd", ".bat")
MARKDOWN_SUFFIXES = (".md", ".markdown")
NOTEBOOK_SUFFIXES = (".ipynb",)
# a notebook's size is mostly saved output; its shell lines are few
MAX_NOTEBOOK_BYTES = 5_000_000
_COMMAND_START = re.compile(r"^(python[\d.]*|torchrun|deepspeed|accelerate|horovodrun|mpirun|srun|"
                            r"CUDA_VISIBLE_DEVICES=\S*|[A-Z_][A-Z0-9_]*=\S*)(\s|$)")
_SHELL_CELL = re.compile(r"^%%(bash|sh|script\s+(ba)?sh)\b")


@dataclass(frozen=True)
class CommandLine:
    """One logical command line and where it is written."""

    text: str
    where: str  # "train.sh:9", "README.md:103", "notebooks/run.ipynb cell 5"
    folder: str  # the folder (from the project root, "" for the root) its relative paths start from


def logical_lines(text: str, continuation: str = "\\") -> list[tuple[int, str]]:
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


def shell_lines(text: str, shown: str, folder: str, windows: bool = False) -> Iterator[CommandLine]:
    """A shell or batch-job file's command lines, with the variables the file itself fixes put in
    (`EPOCHS=150` ... `--epochs $EPOCHS`, shell_variables.py); a Windows command file as written."""
    lines = logical_lines(text, "^" if windows else "\\")
    known = {} if windows else known_variables([line for _number, line in lines])
    for number, line in lines:
        yield CommandLine(line if windows else substitute(line, known), f"{shown}:{number}", folder)


def markdown_lines(text: str, shown: str, folder: str) -> Iterator[CommandLine]:
    for number, line in logical_lines(text):
        command = _command_in_prose(line)
        if command:
            yield CommandLine(command, f"{shown}:{number}", folder)


def _command_in_prose(line: str) -> str:
    """The command a Markdown line shows ("" for prose): `$ python train.py`, `` `torchrun ...` ``."""
    text = line.strip()
    for prefix in ("$ ", "> ", "!"):
        if text.startswith(prefix):
            text = text[len(prefix):].lstrip()
    if text.startswith("`") and text.endswith("`"):
        text = text.strip("`").strip()
    return text if _COMMAND_START.match(text) else ""


def notebook_lines(text: str, shown: str, folder: str) -> Iterator[CommandLine]:
    try:
        cells = json.loads(text).get("cells", [])
    except (ValueError, AttributeError):
        return
    if not isinstance(cells, list):
        return
    for index, cell in enumerate(cells):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        if not isinstance(source, str):
            continue
        where = f"{shown} cell {index}"
        body = source.lstrip()
        if _SHELL_CELL.match(body):
            for _number, line in logical_lines(body.split("\n", 1)[1] if "\n" in body else ""):
                yield CommandLine(line, where, folder)
            continue
        for _number, line in logical_lines(source):
            stripped = line.strip()
            if stripped.startswith("!"):
                yield CommandLine(stripped[1:].strip(), where, folder)
            elif stripped.startswith("%run "):
                yield CommandLine("python " + stripped[len("%run "):].strip(), where, folder)


def command_lines(script_path: Path, shown: str, folder: str, text: str) -> Iterator[CommandLine]:
    """The command lines of one project file, by its kind (the suffix)."""
    name = script_path.name.lower()
    if name.endswith(NOTEBOOK_SUFFIXES):
        yield from notebook_lines(text, shown, folder)
    elif name.endswith(MARKDOWN_SUFFIXES):
        yield from markdown_lines(text, shown, folder)
    else:
        yield from shell_lines(text, shown, folder, name.endswith(_WINDOWS_SUFFIXES))
