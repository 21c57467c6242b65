"""A module's import statements found without a parse (`scan_imports`: one regex per "import" in
the text, absolute, relative, `from pkg import mod` and star imports), and whether its text looks
like a script (a main guard or a call at column 0).

Separate from project_index.py, which resolves these statements to project files and builds each
file's context: these are text scans only, also used by the whole-project scans
(project_scan.py, training_callers.py) that read every file of the project.
"""

from __future__ import annotations

import re

from greenlint.imported_facts import ImportStatement
from greenlint.module_exports import absolute_module

_IMPORT_LINE = re.compile(
    r"[ \t]*(?:from[ \t]+(\.*)[ \t]*([\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#;]+)|import[ \t]+([^\n#;]+))"
)
_DOTTED = re.compile(r"[\w.]+")
# Both start with a literal, so the regex engine jumps between candidates instead of trying every
# position as a `^` pattern in MULTILINE mode does.
_MAIN_GUARD = re.compile(r"""\nif\s+__name__\s*==\s*['"]__main__['"]""")
_TOP_LEVEL_CALL = re.compile(r"\n[A-Za-z_][\w.]*\(")


def _looks_like_script(text: str) -> bool:
    """A main guard or a call at column 0: the worker decides precisely (liveness.py); this only
    avoids scanning the project for modules that plainly are libraries."""
    text = "\n" + text
    return bool(("__main__" in text and _MAIN_GUARD.search(text)) or _TOP_LEVEL_CALL.search(text))


def scan_imports(text: str, package: str) -> list[ImportStatement]:
    """Every import statement of a module's text, found without a parse (a docstring that looks
    like an import only adds context, never removes any). `str.find` jumps from one "import" to
    the next and the line it is on is matched from its start: a few times cheaper than a
    multi-line regex that must try every position."""
    found: list[ImportStatement] = []
    position = 0
    while True:
        hit = text.find("import", position)
        if hit < 0:
            return found
        line_start = text.rfind("\n", 0, hit) + 1
        match = _IMPORT_LINE.match(text, line_start)
        if match is None or match.end() <= hit:
            position = hit + 6
            continue
        position = match.end()
        dots, module, names, plain = match.groups()
        if plain is not None:
            for part in plain.split(","):
                words = part.split()
                if words and _DOTTED.fullmatch(words[0]):
                    found.append(ImportStatement(words[0], ()))
            continue
        absolute = absolute_module(module, len(dots), package)
        if absolute is None:
            continue
        raw = names.strip().strip("()")
        parts = tuple(p.split()[0] for p in raw.replace("\\\n", " ").split(",") if p.strip())
        if absolute:
            found.append(ImportStatement(absolute, parts))
        else:  # `from . import config`: each name is a module of the package
            found.extend(ImportStatement(name, ()) for name in parts if name != "*")
