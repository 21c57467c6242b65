"""Where every node of a parsed module sits: its text span, its parent, its indentation.

Built by one code-generation pass over the module (the same walk `module.code` makes), lazily,
the first time a fix needs it, and shared by every finding of the file. With it:

- a fix replaces a node by rebuilding only the path from that node to the module (every other
  node is kept as the same object), instead of transforming the whole module;
- the engine finds what a fix changed by comparing the old and new trees by identity along that
  path, and generates code only for the changed nodes, at their place in the original text.

So one finding's fix costs about the depth of the tree, not the size of the file (issue 17,
item 11: fixes used to cost findings x file size).
"""

from __future__ import annotations

import contextvars
import dataclasses
import itertools
import operator
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import libcst as cst
from libcst._nodes.internal import (
    CodegenState,  # libcst's own code generator state; stable since 0.3
)


class _RecordingState(CodegenState):
    """Code generation that also records, per node, where its code starts and ends (characters),
    which node's code it is part of, and the indentation in force when it starts."""

    def __init__(self, module: cst.Module) -> None:
        super().__init__(default_indent=module.default_indent, default_newline=module.default_newline)
        self.position = 0
        self.stack: list[cst.CSTNode] = []
        self.indents: tuple[str, ...] = ()
        self.info: dict[int, tuple[int, int, cst.CSTNode | None, tuple[str, ...]]] = {}

    def add_token(self, value: str) -> None:
        self.tokens.append(value)
        self.position += len(value)

    def add_indent_tokens(self) -> None:
        self.tokens.extend(self.indent_tokens)
        self.position += sum(len(token) for token in self.indent_tokens)

    def increase_indent(self, value: str) -> None:
        self.indent_tokens.append(value)
        self.indents = tuple(self.indent_tokens)

    def decrease_indent(self) -> None:
        self.indent_tokens.pop()
        self.indents = tuple(self.indent_tokens)

    def pop_trailing_newline(self) -> None:
        if self.tokens:
            self.position -= len(self.tokens.pop())

    def before_codegen(self, node: cst.CSTNode) -> None:
        self.info[id(node)] = (self.position, -1, self.stack[-1] if self.stack else None, self.indents)
        self.stack.append(node)

    def after_codegen(self, node: cst.CSTNode) -> None:
        self.stack.pop()
        start, _, parent, indents = self.info[id(node)]
        self.info[id(node)] = (start, self.position, parent, indents)


class TreeIndex:
    def __init__(self, module: cst.Module) -> None:
        self.module = module
        state = _RecordingState(module)
        module._codegen(state)
        self.code = "".join(state.tokens)
        self._info = state.info
        # modules that fixes derived from this one: id -> (module, original node id -> its copy)
        self._derived: dict[int, tuple[cst.Module, dict[int, cst.CSTNode]]] = {id(module): (module, {})}

    def knows(self, node: cst.CSTNode) -> bool:
        return id(node) in self._info

    def span(self, node: cst.CSTNode) -> tuple[int, int]:
        start, end, _, _ = self._info[id(node)]
        return start, end

    def parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        return self._info[id(node)][2]

    def indents(self, node: cst.CSTNode) -> tuple[str, ...]:
        return self._info[id(node)][3]

    def ancestors(self, node: cst.CSTNode) -> Iterator[cst.CSTNode]:
        parent = self.parent(node)
        while parent is not None:
            yield parent
            parent = self.parent(parent)

    # ---- rebuilding a path ---------------------------------------------------------------

    def replace(
        self, module: cst.Module, target: cst.CSTNode, make: Callable[[cst.CSTNode], cst.CSTNode], follow: bool = False
    ) -> cst.Module | None:
        """`module` with `target` replaced by `make(target)`, every node off the path to the root
        kept as the same object. None when this index cannot do it (the caller transforms the
        whole module instead). If an earlier step of the fix already replaced `target` (or a
        node inside it), `follow` passes that copy to `make`; without it, that is a LookupError,
        as it is for a transform that looks for `target` by identity."""
        derived = self._derived.get(id(module))
        if derived is None or derived[0] is not module or not self.knows(target):
            return None
        _, copies = derived
        if id(target) in copies and not follow:
            raise LookupError("fix target not found in the module")
        new_node = make(copies.get(id(target), target))
        if not isinstance(new_node, cst.CSTNode):
            return None
        new_copies = dict(copies)
        new_copies[id(target)] = new_node
        old_child, new_child = target, new_node
        for ancestor in self.ancestors(target):
            current = copies.get(id(ancestor), ancestor)
            rebuilt = _replace_child(current, copies.get(id(old_child), old_child), new_child)
            if rebuilt is None:
                return None
            new_copies[id(ancestor)] = rebuilt
            old_child, new_child = ancestor, rebuilt
        if old_child is not self.module or not isinstance(new_child, cst.Module):
            return None
        self._derived[id(new_child)] = (new_child, new_copies)
        return new_child

    # ---- statements ----------------------------------------------------------------------

    def statement_block(self, root: cst.CSTNode, statement: cst.CSTNode) -> tuple[cst.CSTNode, int] | None | bool:
        """(block, index) of `statement` in the body of a Module or IndentedBlock under `root`;
        None if it is not there; False if this index cannot tell (the caller searches instead)."""
        if not (self.knows(root) and self.knows(statement)):
            return False
        block = self.parent(statement)
        if not isinstance(block, (cst.Module, cst.IndentedBlock)):
            return None
        body = block.body
        index = _index_of(body, statement)
        if index is None:
            return None
        if block is not root and all(ancestor is not root for ancestor in self.ancestors(block)):
            return None
        return block, index

    def containing_statement(self, root: cst.CSTNode, target: cst.CSTNode) -> cst.CSTNode | None | bool:
        """The innermost statement strictly above `target`, at or below `root`; False if unknown."""
        if not (self.knows(root) and self.knows(target)):
            return False
        if target is root:
            return None
        innermost: cst.CSTNode | None = None
        for ancestor in self.ancestors(target):
            if innermost is None and isinstance(ancestor, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
                innermost = ancestor
            if ancestor is root:
                return innermost
        return None


def identity_index(sequence, node: object) -> int | None:  # noqa: ANN001
    """Where `node` itself is in `sequence`. `list.index` would call CSTNode.__eq__ (a Python
    method) on every other item; this compares identities in C and stops at the match."""
    return next(itertools.compress(itertools.count(), map(operator.is_, sequence, itertools.repeat(node))), None)


_index_of = identity_index


def _replace_child(parent: cst.CSTNode, old: cst.CSTNode, new: cst.CSTNode) -> cst.CSTNode | None:
    for field in dataclasses.fields(parent):
        value = getattr(parent, field.name)
        if value is old:
            return parent.with_changes(**{field.name: new})
        if isinstance(value, (list, tuple)):
            index = _index_of(value, old)
            if index is not None:
                items = list(value)
                items[index] = new
                return parent.with_changes(**{field.name: type(value)(items) if isinstance(value, tuple) else items})
    return None


class LazyIndex:
    """The index of one module, built on first use."""

    def __init__(self, module: cst.Module) -> None:
        self.module = module
        self._index: TreeIndex | None = None

    def get(self) -> TreeIndex:
        if self._index is None:
            self._index = TreeIndex(self.module)
        return self._index


_LAZY: contextvars.ContextVar[LazyIndex | None] = contextvars.ContextVar("greenlint_lazy_index", default=None)


@contextmanager
def indexing(module: cst.Module) -> Iterator[LazyIndex]:
    """Make `module`'s index available to fixes (built only if one asks)."""
    lazy = LazyIndex(module)
    token = _LAZY.set(lazy)
    try:
        yield lazy
    finally:
        _LAZY.reset(token)


def current_index() -> TreeIndex | None:
    lazy = _LAZY.get()
    return lazy.get() if lazy is not None else None
