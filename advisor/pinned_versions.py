"""The framework versions a project pins, so that advice fits the version it runs.

Some advice only exists from a version on: `torch.compile` since PyTorch 2.0 (GL413), Keras'
`tf.function(jit_compile=True)` since TensorFlow 2.5 (GL411; blind23's TensorFlow2.0_ResNet runs
"Tensorflow == 2.0.0", as its README says). A project that pins an older release gets advice it
cannot follow. This module reads the pins once per run, as text, from the places projects write
them: requirements files, `environment.yml`, `setup.py`/`setup.cfg`/`pyproject.toml`, and README
lines (`+ Tensorflow == 2.0.0`). Only exact pins and upper bounds count (`==`, `<`, `<=`, `~=`);
a lower bound says nothing about what runs. When two files disagree, the more formal source wins
(requirements over setup files over README); two different pins in sources of the same rank make
the version unknown.
"""

from __future__ import annotations

import re
from pathlib import Path

# the packages whose version changes advice, as pip spells them (lower case, `_` -> `-`)
PACKAGES = ("torch", "tensorflow", "tensorflow-gpu")
# `torch==1.13.1`, `tensorflow-gpu<2.4`, conda's `pytorch=1.13.1`, a README's `Tensorflow == 2.0.0`
_PIN = re.compile(r"(?<![\w-])(pytorch|torch|tensorflow-gpu|tensorflow)\s*(==|<=|<|~=|=(?!=))\s*v?(\d+(?:\.\d+){0,2})"
                  r"(?![\d.]*\*)", re.IGNORECASE)
# (glob pattern, rank): a lower rank wins
_SOURCES = (("requirements*.txt", 0), ("requirements/*.txt", 0), ("environment*.yml", 1), ("environment*.yaml", 1),
            ("setup.py", 1), ("setup.cfg", 1), ("pyproject.toml", 1), ("README*", 2), ("readme*", 2))
_MAX_FILES = 20
_MAX_BYTES = 200_000


def read_pinned_versions(root: Path) -> dict[str, tuple[str, str]]:
    """package -> (version, "`Tensorflow == 2.0.0` in README.md:9"): the highest release the
    project's pins allow (an upper bound `<2.0` is read as below 2.0: "<2.0")."""
    found: dict[str, tuple[int, str, str]] = {}  # package -> (rank, version, where)
    conflicts: set[tuple[str, int]] = set()
    seen = 0
    for pattern, rank in _SOURCES:
        for path in sorted(root.glob(pattern)):
            if seen >= _MAX_FILES or not path.is_file():
                continue
            seen += 1
            try:
                text = path.read_bytes()[:_MAX_BYTES].decode("utf-8", "replace")
            except OSError:
                continue
            shown = path.relative_to(root).as_posix()
            for number, line in enumerate(text.splitlines(), 1):
                for match in _PIN.finditer(line):
                    package = "torch" if match.group(1).lower() == "pytorch" else match.group(1).lower()
                    operator, version = match.group(2), match.group(3)
                    value = f"<{version}" if operator == "<" else version
                    where = f"`{match.group(0).strip()}` in {shown}:{number}"
                    known = found.get(package)
                    if known is None or rank < known[0]:
                        found[package] = (rank, value, where)
                    elif rank == known[0] and known[1] != value:
                        conflicts.add((package, rank))
    return {package: (value, where) for package, (rank, value, where) in found.items()
            if (package, rank) not in conflicts}
