"""Walking a libcst tree cheaply: the rules' quick scans of one statement or loop (`walk`,
`children`), and running a plain `CSTVisitor` over a tree (`visit`).

Why not libcst's own: `node.children` and `node.visit(visitor)` both go through the node's
`_visit_and_replace_children`, which builds (and validates) a new copy of every node it passes,
even for a visitor that changes nothing. On fairseq's parsed files that rebuilding cost more than
the parse itself (docs/benchmarks.md, 2026-12-04). Here each node class's child fields are learned
once, in the order libcst visits them, and read directly: the same children in the same order, and
the same `visit_*` / `leave_*` calls in the same order (tests/test_tree_walk.py compares both with
libcst's on real files).
"""

from __future__ import annotations

import dataclasses
import operator
import weakref
from typing import Callable, Iterator, Optional

import libcst as cst

# node class -> a function returning the values of its child fields as a tuple, in libcst's visiting
# (= source) order
_CHILD_FIELDS: dict[type, Callable[[cst.CSTNode], tuple]] = {}
_ABSENT = cst.MaybeSentinel.DEFAULT


class _FieldRecorder(cst.CSTVisitor):
    """Records which fields `_visit_and_replace_children` visits, in order, without descending.
    libcst announces every child field (an absent optional one too) with `on_visit_attribute`."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[str] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        return False

    def on_leave(self, original_node: cst.CSTNode) -> None:
        pass

    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        if attribute not in self.fields:
            self.fields.append(attribute)

    def on_leave_attribute(self, original_node: cst.CSTNode, attribute: str) -> None:
        pass


def _no_fields(node: cst.CSTNode) -> tuple:
    return ()


def _libcst_children(node: cst.CSTNode) -> tuple:
    return (node.children,)


def _child_fields(node: cst.CSTNode) -> Callable[[cst.CSTNode], tuple]:
    """The getter of a node class's child fields, learned once per class. The order is that of the
    field names in the code of `_visit_and_replace_children` (whose only string constants are the
    names it hands to libcst's visit_* helpers; a few classes visit a field only when it is set,
    so the first instance alone cannot tell). Checked against what libcst visits on this first
    instance: on any disagreement the class keeps libcst's own `children`."""
    node_class = type(node)
    code = node_class._visit_and_replace_children.__code__
    names = {f.name for f in dataclasses.fields(node)}
    fields = [c for c in code.co_consts if isinstance(c, str) and c in names]
    recorder = _FieldRecorder()
    node._visit_and_replace_children(recorder)
    if [f for f in fields if f in recorder.fields] != recorder.fields:
        getter = _libcst_children
    elif not fields:
        getter = _no_fields
    elif len(fields) == 1:
        single = operator.attrgetter(fields[0])
        getter = lambda child: (single(child),)  # noqa: E731
    else:
        getter = operator.attrgetter(*fields)
    _CHILD_FIELDS[node_class] = getter
    return getter


def children(node: cst.CSTNode) -> list[cst.CSTNode]:
    """`node.children`: the node's direct children in source order (sequence fields flattened)."""
    getter = _CHILD_FIELDS.get(type(node))
    if getter is None:
        getter = _child_fields(node)
    found: list[cst.CSTNode] = []
    for value in getter(node):
        # a visited field holds a node, a sequence of nodes, or nothing (None / MaybeSentinel);
        # type tests, because isinstance against libcst's abstract node class is slow
        kind = type(value)
        if kind is tuple or kind is list:
            found.extend(value)
        elif value is not None and value is not _ABSENT:
            found.append(value)
    return found


def walk(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """`node` and all its descendants, depth first in source order, without recursion (deeply
    nested expressions must not hit Python's recursion limit)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(children(current)))


_Handlers = tuple[Optional[Callable], Optional[Callable]]
# visitor class -> node class -> (visit_<Node>, leave_<Node>) of that visitor class, or None for a
# class `visit` leaves to libcst. Weak keys: rules define visitor classes inside functions, one new
# class per call.
_DISPATCH: weakref.WeakKeyDictionary[type, dict[type, _Handlers] | None] = weakref.WeakKeyDictionary()


def _plain(visitor_class: type) -> bool:
    """A CSTVisitor that only defines visit_<Node> / leave_<Node>: no on_visit / on_leave of its
    own and no per-attribute hook (visit_<Node>_<field>), which this walk does not call."""
    base = cst.CSTVisitor
    if not issubclass(visitor_class, base):
        return False
    for hook in ("on_visit", "on_leave", "on_visit_attribute", "on_leave_attribute"):
        if getattr(visitor_class, hook) is not getattr(base, hook):
            return False
    own = {name for klass in visitor_class.__mro__[: visitor_class.__mro__.index(base)] for name in vars(klass)}
    for name in own:
        prefix, _, rest = name.partition("_")
        node_name, _, field_name = rest.partition("_")
        if prefix in ("visit", "leave") and field_name and isinstance(getattr(cst, node_name, None), type):
            return False
    return True


def _handlers(visitor_class: type, node_class: type) -> _Handlers:
    """The visitor's own visit_<Node> / leave_<Node>; None where it keeps libcst's no-op."""
    base = cst.CSTVisitor
    found = []
    for prefix in ("visit_", "leave_"):
        name = prefix + node_class.__name__
        handler = getattr(visitor_class, name, None)
        found.append(None if handler is None or handler is getattr(base, name, None) else handler)
    return found[0], found[1]


def visit(node: cst.CSTNode, visitor: cst.CSTVisitor) -> None:
    """`node.visit(visitor)` for a visitor that only reads the tree. Recursive like libcst's, with
    one Python frame per tree level where libcst uses four."""
    visitor_class = type(visitor)
    if visitor_class not in _DISPATCH:
        _DISPATCH[visitor_class] = {} if _plain(visitor_class) else None
    table = _DISPATCH[visitor_class]
    if table is None:
        node.visit(visitor)
    else:
        _visit(node, visitor, table, visitor_class)


def _visit(node: cst.CSTNode, visitor: cst.CSTVisitor, table: dict[type, _Handlers], visitor_class: type) -> None:
    handlers = table.get(type(node))
    if handlers is None:
        handlers = table[type(node)] = _handlers(visitor_class, type(node))
    enter, leave = handlers
    # libcst descends unless visit_<Node> returns False exactly
    if enter is None or enter(visitor, node) is not False:
        for child in children(node):
            _visit(child, visitor, table, visitor_class)
    if leave is not None:
        leave(visitor, node)
