"""A fix's text edits from what its transform changed, without regenerating the whole module.

The old and new trees are compared by identity from the module down: a fix built with the
`greenlint.rules.fixes` helpers keeps every node off its path as the same object, so the
comparison follows one path and stops at the changed nodes. Only those get code generated, at
their indentation, and replace their old text; the innermost statements around them are checked
(parsed by libcst and by Python) on their own. The cost is the size of the changed statements,
not of the file.

`None` means "cannot tell here" (for example a transform that rebuilt the whole tree), and the
engine falls back to regenerating the module and diffing it (`slow_fix_edits`), which is always
correct, only slower.
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
import operator
import re
from dataclasses import dataclass

import libcst as cst
from greenlint.edits import _offsets, diff_edits
from greenlint.findings import Edit, Location
from greenlint.rules.tree_index import TreeIndex, identity_index
from libcst._nodes.internal import CodegenState

# Fields whose node the parent generates with extra arguments (`default_indicator`, `is_elif`,
# ...): such a node cannot be regenerated on its own, so the comparison stops at its parent.
_CONTEXTUAL_FIELDS = frozenset({"annotation", "returns", "orelse", "cause"})
_CONTEXTUAL_PARENTS = (cst.Yield,)
_LINE_END = re.compile(r"(\r\n|\r|\n)\Z")


class _CannotTell(Exception):
    pass


class InvalidFix(Exception):
    """The fix's result does not parse: it must be dropped."""


@dataclass
class _Region:
    start: int  # in the original text
    end: int
    code: str
    unit: tuple[int, int] | None  # the statement(s) to check around it; None: `code` alone
    indents: tuple[str, ...]


class FileFixer:
    """Per file: the index, the text and its line starts, shared by every finding's fix."""

    def __init__(self, index: TreeIndex, text: str) -> None:
        self.index = index
        self.text = text
        self.module = index.module
        self.usable = text.startswith(index.code)  # libcst drops a CR-only file's last line end
        self._line_starts: list[int] | None = None

    @property
    def line_starts(self) -> list[int]:
        if self._line_starts is None:
            self._line_starts = _offsets(self.text)
        return self._line_starts

    def edits(self, new_module: cst.Module) -> tuple[Edit, ...] | None:
        """The edits that turn the text into `new_module`'s code; () if nothing changed; None if
        this way cannot tell. Raises InvalidFix if the changed statements do not parse."""
        if not self.usable:
            return None
        regions: list[_Region] = []
        try:
            self._compare(self.module, new_module, regions)
        except _CannotTell:
            return None
        regions = [self._clamped(r) for r in regions]
        regions = [r for r in regions if self.text[r.start:r.end] != r.code]
        if not regions:
            return ()
        regions.sort(key=lambda r: (r.start, r.end))
        for before, after in itertools.pairwise(regions):
            if after.start < before.end:
                return None
        self._check(regions)
        return self._line_edits(regions)

    # ---- what changed ----------------------------------------------------------------------

    def _compare(self, old: cst.CSTNode, new: cst.CSTNode, regions: list[_Region]) -> None:
        if old is new:
            return
        if not self.index.knows(old):
            raise _CannotTell
        if type(old) is not type(new) or isinstance(old, _CONTEXTUAL_PARENTS):
            regions.append(self._node_region(old, new))
            return
        if isinstance(old, (cst.Module, cst.IndentedBlock)):
            self._compare_block(old, new, regions)  # type: ignore[arg-type]
            return
        differing = [f.name for f in dataclasses.fields(old) if not _same(getattr(old, f.name), getattr(new, f.name))]
        if len(differing) == 1 and differing[0] not in _CONTEXTUAL_FIELDS:
            old_child, new_child = getattr(old, differing[0]), getattr(new, differing[0])
            if isinstance(old_child, cst.CSTNode) and isinstance(new_child, cst.CSTNode):
                self._compare(old_child, new_child, regions)
                return
        regions.append(self._node_region(old, new))

    def _compare_block(self, old: cst.Module | cst.IndentedBlock, new: cst.Module | cst.IndentedBlock, regions: list[_Region]) -> None:
        others = [f.name for f in dataclasses.fields(old) if f.name != "body"]
        if any(not _same(getattr(old, name), getattr(new, name)) for name in others) or not new.body or not old.body:
            if isinstance(old, cst.Module):
                raise _CannotTell  # the whole file: regenerate it
            regions.append(self._node_region(old, new))
            return
        prefix = _common_prefix(old.body, new.body)
        suffix = min(_common_suffix(old.body, new.body), len(old.body) - prefix, len(new.body) - prefix)
        old_middle = old.body[prefix:len(old.body) - suffix]
        new_middle = new.body[prefix:len(new.body) - suffix]
        if len(old_middle) == 1 and len(new_middle) == 1:
            self._compare(old_middle[0], new_middle[0], regions)
            return
        indents = self.index.indents(old.body[0])
        if old_middle:
            start, end = self.index.span(old_middle[0])[0], self.index.span(old_middle[-1])[1]
        elif prefix:
            start = end = self.index.span(old.body[prefix - 1])[1]
        else:
            start = end = self.index.span(old.body[0])[0]
        code = "".join(self._generate(statement, indents) for statement in new_middle)
        regions.append(_Region(start, end, code, None, indents))

    def _node_region(self, old: cst.CSTNode, new: cst.CSTNode) -> _Region:
        start, end = self.index.span(old)
        unit = self._statement_around(old)
        return _Region(start, end, self._generate(new, self.index.indents(old)), self.index.span(unit), self.index.indents(unit))

    def _statement_around(self, node: cst.CSTNode) -> cst.CSTNode:
        """The innermost statement of a Module's or IndentedBlock's body at or above `node`."""
        while True:
            parent = self.index.parent(node)
            if parent is None:
                raise _CannotTell
            if isinstance(parent, (cst.Module, cst.IndentedBlock)) and _contains(parent.body, node):
                return node
            node = parent

    def _generate(self, node: cst.CSTNode, indents: tuple[str, ...]) -> str:
        state = CodegenState(self.module.default_indent, self.module.default_newline, indent_tokens=list(indents))
        node._codegen(state)
        return "".join(state.tokens)

    # ---- checking and edits ----------------------------------------------------------------

    def _clamped(self, region: _Region) -> _Region:
        """A region that reaches the end of a file without a final line end: libcst's code for
        the last statement has one that the module then drops; drop it here too."""
        limit = len(self.index.code)
        if region.end <= limit:
            return region
        return dataclasses.replace(region, end=limit, code=_LINE_END.sub("", region.code))

    def _check(self, regions: list[_Region]) -> None:
        units: dict[tuple[int, int] | None, list[_Region]] = {}
        for region in regions:
            units.setdefault(region.unit, []).append(region)
        for unit, members in units.items():
            if unit is None:
                for region in members:
                    _check_statements(region.code, region.indents, self.module.default_newline)
                continue
            start, end = unit
            end = min(end, len(self.index.code))
            pieces, position = [], start
            for region in sorted(members, key=lambda r: r.start):
                pieces += [self.text[position:region.start], region.code]
                position = region.end
            pieces.append(self.text[position:end])
            _check_statements("".join(pieces), members[0].indents, self.module.default_newline)

    def _row(self, offset: int) -> int:
        return bisect.bisect_right(self.line_starts, offset)  # 1-based row of the offset

    def _line_edits(self, regions: list[_Region]) -> tuple[Edit, ...]:
        """Whole-line edits, as a diff of the text gives them (rows, not characters, are what
        the fixer compares), computed on the few lines each change touches."""
        starts = self.line_starts
        windows: list[list] = []
        for region in regions:
            first = starts[self._row(region.start) - 1]
            row_end = self._row(max(region.end - 1, region.start))
            last = region.end if region.end == region.start and region.end == first else starts[min(row_end, len(starts) - 1)]
            last = max(last, region.end)
            if windows and first <= windows[-1][1]:
                windows[-1][1] = max(windows[-1][1], last)
                windows[-1][2].append(region)
            else:
                windows.append([first, last, [region]])
        edits: list[Edit] = []
        for first, last, members in windows:
            pieces, position = [], first
            for region in members:
                pieces += [self.text[position:region.start], region.code]
                position = region.end
            pieces.append(self.text[position:last])
            row = self._row(first) - 1
            for edit in diff_edits(self.text[first:last], "".join(pieces)):
                edits.append(Edit(edit.content, Location(edit.location.row + row, 1), Location(edit.end_location.row + row, 1)))
        return tuple(edits)


def _same(a: object, b: object) -> bool:
    if a is b:
        return True
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(x is y for x, y in zip(a, b))
    if isinstance(a, cst.CSTNode) or isinstance(b, cst.CSTNode):
        return False
    return a == b


def _common_prefix(a, b) -> int:  # noqa: ANN001
    """How many leading items are the same objects, compared in C and stopping at the first
    difference (a module can have 100,000 top-level statements; this runs once per finding)."""
    return next(itertools.compress(itertools.count(), map(operator.is_not, a, b)), min(len(a), len(b)))


def _common_suffix(a, b) -> int:  # noqa: ANN001
    return next(itertools.compress(itertools.count(), map(operator.is_not, reversed(a), reversed(b))), min(len(a), len(b)))


def _contains(body, node: cst.CSTNode) -> bool:  # noqa: ANN001
    return identity_index(body, node) is not None


def _check_statements(code: str, indents: tuple[str, ...], newline: str) -> None:
    """Complete statements, checked on their own: indented ones under an `if 1:`."""
    from greenlint.syntax_check import _python_syntax_error

    source = f"if 1:{newline}{code}" if indents else code
    try:
        cst.parse_module(source)
    except Exception as exc:  # noqa: BLE001 - whatever libcst says, the fix is not usable
        raise InvalidFix(str(exc)) from None
    if _python_syntax_error(source) is not None:
        raise InvalidFix("Python rejects the fixed statement")


def slow_fix_edits(module: cst.Module, new_module: cst.Module, text: str) -> tuple[Edit, ...] | None:
    """Regenerate the whole module and diff it: for transforms the fast way cannot follow.
    None if the result is unchanged or does not parse."""
    from greenlint.syntax_check import source_compiles

    original_code = module.code
    if not text.startswith(original_code):
        return None
    # libcst's code for a file that ends with a lone CR lacks that CR: put back what it dropped
    new_text = new_module.code + text[len(original_code):]
    if new_text == text or not source_compiles(new_text):
        return None
    return diff_edits(text, new_text)
