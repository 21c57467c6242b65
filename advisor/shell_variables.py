"""The values of a shell script's own variables, put into its command lines (session 16).

Launch scripts rarely write the run's settings on the command itself: Kaldi/ESPnet-style recipes
and most research `train.sh` files set them first and pass them on,

    EPOCHS=150
    NGPUS=8
    torchrun --nproc_per_node=$NGPUS train.py --epochs ${EPOCHS} --config configs/${CONFIG:-base}.yaml

so that, read word by word, every value holds a `$` and is unknown (launch_scripts.py). This module
substitutes the variables whose value the script itself fixes, and only those, so that nothing is
guessed:

- a variable counts only when every assignment of it in the file (`NAME=value`, `export NAME=value`,
  `local`/`readonly`/`declare NAME=value`) gives the same literal word; `NAME=${NAME:-100}` (a
  default the environment may override) gives its default, as a run without that environment does;
- a variable that a `for NAME in ...` loop, a `read NAME`, an arithmetic or command substitution
  (`$((...))`, `$(...)`, backquotes) or another variable's value sets is unknown and stays as written;
- `${NAME:-default}` at a use gives the variable's value, else its literal default;
- positional and special parameters (`$1`, `$@`, `$?`) are never substituted, nor is anything inside
  single quotes, where the shell does not substitute either.

Only shell files get this (launch_sources.shell_lines): a notebook's `!python train.py --epochs
$EPOCHS` substitutes a Python variable, not a shell one.
"""

from __future__ import annotations

import re

# `NAME=value` at the start of a command, after an optional declaring builtin; the value is the rest
# of the line up to a comment or a `;`/`&&` (a value with spaces must be quoted, as in the shell)
_ASSIGNMENT = re.compile(r"^\s*(?:(?:export|local|readonly|declare(?:\s+-\w+)?)\s+)?([A-Za-z_]\w*)=(.*)$")
_FOR_LOOP = re.compile(r"^\s*for\s+([A-Za-z_]\w*)\s+in\b")
_READ = re.compile(r"^\s*read\s+(?:-\w+\s+)*([A-Za-z_]\w*)")
# the default of `${NAME:-default}` / `${NAME:=default}` / `${NAME-default}`
_DEFAULTED = re.compile(r"^\$\{([A-Za-z_]\w*):?[-=]([^${}`]*)\}$")
_USE = re.compile(r"\$\{([A-Za-z_]\w*)(?::?[-=]([^${}`'\"]*))?\}|\$([A-Za-z_]\w*)")
_UNKNOWN = object()


def known_variables(lines: list[str]) -> dict[str, str]:
    """The variables `lines` (a shell script's logical lines) set to one literal value."""
    values: dict[str, object] = {}

    def record(name: str, value: object) -> None:
        previous = values.get(name, value)
        values[name] = value if previous == value else _UNKNOWN

    for line in lines:
        for command in re.split(r"\s*(?:;|&&|\|\|)\s*", line):
            loop = _FOR_LOOP.match(command) or _READ.match(command)
            if loop:
                record(loop.group(1), _UNKNOWN)
                continue
            match = _ASSIGNMENT.match(command)
            if match:
                record(match.group(1), _literal(match.group(2)))
    return {name: value for name, value in values.items() if isinstance(value, str)}


def _literal(text: str) -> object:
    """The literal word an assignment's right-hand side holds, else _UNKNOWN."""
    value = text.split(" #", 1)[0].strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        quote, value = value[0], value[1:-1]
        if quote == "'":
            return value
    defaulted = _DEFAULTED.match(value)
    if defaulted:
        return defaulted.group(2).strip("'\"")
    if not value or any(mark in value for mark in ("$", "`", " ", "(", ")")):
        return _UNKNOWN
    return value


def substitute(line: str, known: dict[str, str]) -> str:
    """`line` with the `known` variables (and the literal defaults of unknown ones) put in; single-
    quoted text is left alone."""
    if "$" not in line:
        return line
    parts = line.split("'")
    for index in range(0, len(parts), 2):  # the even parts lie outside single quotes
        parts[index] = _USE.sub(lambda match: _value(match, known), parts[index])
    return "'".join(parts)


def _value(match: re.Match[str], known: dict[str, str]) -> str:
    name = match.group(1) or match.group(3)
    if name in known:
        return known[name]
    default = match.group(2)
    return default if default else match.group(0)
