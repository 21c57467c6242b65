"""Growth loops that do not run, or run only a handful of times, for GL602 (issue 14).

- `per_file_pieces`: the loop walks a directory listing (`os.listdir`, `glob.glob`, `Path.glob`)
  and reads a whole table per file (`pd.read_csv`, `json.load`): the frame grows once per input
  file, a handful of pieces whose copies cost little next to reading the files themselves.
  A directory of one-row files (one review per file) does not read a table per file and stays
  reported.
- `dead_version_branch`: the growth sits in the branch of `if version(pd.__version__) >= "1.3.2"`
  that current pandas does not take. "Current" is every pandas from 2.0 on (the release that
  removed `DataFrame.append`): a branch is dead only when the condition has the same value at 2.0
  and at any later version, so the answer does not depend on the pandas installed here.
"""

from __future__ import annotations

import re

import libcst as cst

from greenlint.rules.analysis.facts import ModuleFacts
from greenlint.rules.analysis.tree import walk

_LISTINGS = {"os.listdir", "os.scandir", "glob.glob", "glob.iglob"}
_LISTING_METHODS = {"glob", "rglob", "iterdir"}
_WRAPPERS = {"sorted", "enumerate", "list", "tqdm", "reversed"}
_TABLE_READERS = ("pandas.read_", "json.load", "numpy.load", "numpy.loadtxt", "numpy.genfromtxt")
# pandas 2.0 removed DataFrame.append; any later version stands for "later" in the comparison
_CURRENT = (2, 0)
_LATER = (99, 0)


def _listing(node: cst.BaseExpression, facts: ModuleFacts) -> bool:
    while isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value in _WRAPPERS and node.args:
        node = node.args[0].value
    if not isinstance(node, cst.Call):
        return False
    if facts.imports.resolve(node.func) in _LISTINGS:
        return True
    return isinstance(node.func, cst.Attribute) and node.func.attr.value in _LISTING_METHODS


def per_file_pieces(loop: cst.For | cst.While, facts: ModuleFacts) -> str | None:
    """Why the loop grows the frame only once per input file, or None."""
    if not isinstance(loop, cst.For) or not _listing(loop.iter, facts):
        return None
    for node in walk(loop.body):
        if isinstance(node, cst.Call):
            qualname = facts.imports.resolve(node.func) or ""
            if qualname.startswith(_TABLE_READERS):
                return "one piece per input file of a directory listing"
    return None


def _version(text: str) -> tuple[int, ...] | None:
    parts = re.findall(r"\d+", text)
    return tuple(int(part) for part in parts[:3]) if parts else None


def _side(node: cst.BaseExpression, facts: ModuleFacts) -> str | tuple[int, ...] | None:
    """"pandas" for an expression of `pd.__version__`, a version tuple for a string literal (possibly
    wrapped: `version.parse("1.3.2")`), None otherwise."""
    while isinstance(node, cst.Call) and len(node.args) == 1:
        node = node.args[0].value
    if isinstance(node, cst.SimpleString):
        return _version(node.evaluated_value if isinstance(node.evaluated_value, str) else "")
    if isinstance(node, cst.Attribute) and node.attr.value == "__version__":
        root = facts.imports.resolve(node.value) or ""
        return "pandas" if root.split(".", 1)[0] == "pandas" else None
    return None


def _compare(left: tuple[int, ...], operator: cst.BaseCompOp, right: tuple[int, ...]) -> bool | None:
    width = max(len(left), len(right))
    left, right = left + (0,) * (width - len(left)), right + (0,) * (width - len(right))
    table = {
        cst.GreaterThanEqual: left >= right, cst.GreaterThan: left > right,
        cst.LessThanEqual: left <= right, cst.LessThan: left < right,
        cst.Equal: left == right, cst.NotEqual: left != right,
    }
    return table.get(type(operator))


def _condition(test: cst.BaseExpression, facts: ModuleFacts) -> bool | None:
    """The value of a pandas version test for every pandas from 2.0 on, or None when it varies."""
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return None
    target = test.comparisons[0]
    left, right = _side(test.left, facts), _side(target.comparator, facts)
    values = []
    for current in (_CURRENT, _LATER):
        if left == "pandas" and isinstance(right, tuple):
            values.append(_compare(current, target.operator, right))
        elif right == "pandas" and isinstance(left, tuple):
            values.append(_compare(left, target.operator, current))
        else:
            return None
    return values[0] if values[0] is not None and values[0] == values[1] else None


def dead_version_branch(module: cst.Module, node: cst.CSTNode, facts: ModuleFacts) -> str | None:
    """Why `node` never runs under current pandas (it sits in the branch of a pandas version test
    that pandas 2.0 and later do not take), or None."""
    stack: list[tuple[cst.CSTNode, tuple[cst.CSTNode, ...]]] = [(module, ())]
    path: tuple[cst.CSTNode, ...] | None = None
    while stack:
        current, ancestors = stack.pop()
        if current is node:
            path = ancestors
            break
        stack.extend((child, ancestors + (current,)) for child in current.children)
    if path is None:
        return None
    for index, ancestor in enumerate(path):
        if not isinstance(ancestor, cst.If):
            continue
        value = _condition(ancestor.test, facts)
        if value is None:
            continue
        inside = path[index + 1] if index + 1 < len(path) else node
        if inside is not ancestor.body and inside is not ancestor.orelse:
            continue
        if (inside is ancestor.body) != value:
            return "it sits in a branch of a pandas version test that pandas 2.0 and later never take"
    return None
