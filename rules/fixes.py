"""libcst building blocks for fixes: each returns a function Module -> Module bound to nodes.

The transforms find their targets by node identity, so they must be applied to the very module
the analysis ran on (the engine does that, then turns what changed into text edits). Formatting is
kept: only the touched statements or arguments change, comments move with their statements.

When the engine has indexed the module (`tree_index`), a replacement rebuilds only the path from
the node to the module and statements are found through parent links: the cost of a fix is the
depth of the tree, not its size. Without an index (a module no index knows), the transforms walk
the whole module, with the same result.
"""

from __future__ import annotations

from typing import Callable, Sequence

import libcst as cst

from greenlint.rules.analysis.facts import CallSite, LoopInfo
from greenlint.rules.analysis.invariance import reads_of
from greenlint.rules.analysis.names import ImportTable
from greenlint.rules.tree_index import current_index

Transform = Callable[[cst.Module], cst.Module]


def loop_header(module: cst.Module, node: cst.For | cst.While, width: int = 60) -> str:
    """`for epoch in range(10)` / `while step < n`, on one line and cut to `width`, for messages."""
    if isinstance(node, cst.For):
        code = f"for {module.code_for_node(node.target)} in {module.code_for_node(node.iter)}"
    else:
        code = f"while {module.code_for_node(node.test)}"
    code = " ".join(code.split())
    return code if len(code) <= width else code[: width - 3] + "..."


class _ReplaceNode(cst.CSTTransformer):
    def __init__(self, target: cst.CSTNode, make: Callable[[cst.CSTNode], cst.CSTNode]) -> None:
        super().__init__()
        self.target = target
        self.make = make
        self.done = False

    def on_leave(self, original_node, updated_node):  # noqa: ANN001
        if original_node is self.target:
            self.done = True
            return self.make(updated_node)
        return updated_node


def replace_node(target: cst.CSTNode, make: Callable[[cst.CSTNode], cst.CSTNode]) -> Transform:
    def transform(module: cst.Module) -> cst.Module:
        index = current_index()
        if index is not None:
            rebuilt = index.replace(module, target, make)
            if rebuilt is not None:
                return rebuilt
        replacer = _ReplaceNode(target, make)
        result = module.visit(replacer)
        if not replacer.done:
            raise LookupError("fix target not found in the module")
        return result

    return transform


def chain(*transforms: Transform) -> Transform:
    def transform(module: cst.Module) -> cst.Module:
        for step in transforms:
            module = step(module)
        return module

    return transform


# ---- call arguments ---------------------------------------------------------------------------

_NO_SPACE_EQUAL = cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace(""))


def set_keyword(call: cst.Call, keyword: str, value: cst.BaseExpression) -> Transform:
    """Set `keyword=value` on a call: replace the value if the keyword is there, else append the
    argument in the call's own style (one per line with a trailing comma stays that way)."""

    def make(node: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(node, cst.Call)
        args = list(node.args)
        for index, arg in enumerate(args):
            if arg.keyword is not None and arg.keyword.value == keyword:
                args[index] = arg.with_changes(value=value)
                return node.with_changes(args=args)
        new_arg = cst.Arg(value=value, keyword=cst.Name(keyword), equal=_NO_SPACE_EQUAL)
        if not args:
            return node.with_changes(args=[new_arg])
        # a `**kwargs` must stay last
        insert_at = len(args)
        while insert_at > 0 and args[insert_at - 1].star == "**":
            insert_at -= 1
        if insert_at == 0:
            return node.with_changes(args=[new_arg.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))), *args])
        last = args[insert_at - 1]
        between = _separator(args, insert_at - 1, node)
        if insert_at < len(args):
            # inserting before **kwargs: the new argument takes the same separator
            args.insert(insert_at, new_arg.with_changes(comma=cst.Comma(whitespace_after=between)))
            return node.with_changes(args=args)
        if isinstance(last.comma, cst.Comma):
            # trailing comma: the new argument inherits it (and the newline before `)`)
            args[insert_at - 1] = last.with_changes(comma=cst.Comma(whitespace_after=between))
            args.append(new_arg.with_changes(comma=last.comma))
        else:
            args[insert_at - 1] = last.with_changes(comma=cst.Comma(whitespace_after=between))
            args.append(new_arg)
        return node.with_changes(args=args)

    return replace_node(call, make)


def _separator(args: Sequence[cst.Arg], index: int, call: cst.Call) -> cst.BaseParenthesizableWhitespace:
    """The whitespace that separates arguments in this call (after a comma)."""
    for arg in reversed(args[:index]):
        if isinstance(arg.comma, cst.Comma):
            return arg.comma.whitespace_after
    if isinstance(call.whitespace_before_args, cst.ParenthesizedWhitespace):
        return call.whitespace_before_args
    return cst.SimpleWhitespace(" ")


# ---- imports ----------------------------------------------------------------------------------


def module_alias(imports: ImportTable, module_name: str) -> str | None:
    """The local name bound to `module_name` (`torch` for `import torch`, `T` for `import torch as T`)."""
    for local, qualified in imports.bindings.items():
        if qualified == module_name:
            return local
    return None


def top_level_torch_alias(module: cst.Module) -> str | None:
    """The name a top-level `import torch` binds (not one inside a function): what a statement
    placed at module level, or a fix in any function, can rely on."""
    for statement in module.body:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.Import):
                    for name in small.names:
                        if isinstance(name.name, cst.Name) and name.name.value == "torch":
                            return name.asname.name.value if name.asname else "torch"  # type: ignore[union-attr]
    return None


def ensure_import(module_name: str) -> Transform:
    """Add `import module_name` after the module's last top-level import, if it is not there."""

    def transform(module: cst.Module) -> cst.Module:
        body = list(module.body)
        insert_at = 0
        for index, statement in enumerate(body):
            if isinstance(statement, cst.SimpleStatementLine) and statement.body:
                first = statement.body[0]
                if isinstance(first, (cst.Import, cst.ImportFrom)):
                    insert_at = index + 1
                    continue
                if index == 0 and isinstance(first, cst.Expr) and isinstance(first.value, (cst.SimpleString, cst.ConcatenatedString)):
                    insert_at = 1  # after the module docstring
        line = cst.SimpleStatementLine(body=[cst.Import(names=[cst.ImportAlias(name=cst.Name(module_name))])])
        body.insert(insert_at, line)
        return module.with_changes(body=body)

    return transform


# ---- statements -------------------------------------------------------------------------------


def find_statement_block(root: cst.CSTNode, statement: cst.CSTNode) -> tuple[cst.CSTNode, int] | None:
    """The block node (IndentedBlock or Module) whose body holds `statement`, and its index."""
    index = current_index()
    if index is not None:
        known = index.statement_block(root, statement)
        if known is not False:
            return known  # type: ignore[return-value]
    result: list[tuple[cst.CSTNode, int]] = []

    class Finder(cst.CSTVisitor):
        def _check(self, node: cst.CSTNode) -> bool:
            if result:
                return False
            for index, child in enumerate(node.body):  # type: ignore[attr-defined]
                if child is statement:
                    result.append((node, index))
                    return False
            return True

        def visit_IndentedBlock(self, node: cst.IndentedBlock) -> bool:
            return self._check(node)

        def visit_Module(self, node: cst.Module) -> bool:
            return self._check(node)

    root.visit(Finder())
    return result[0] if result else None


def statement_containing(root: cst.CSTNode, target: cst.CSTNode) -> cst.CSTNode | None:
    """The innermost statement (simple line or compound) under `root` that contains `target`."""
    index = current_index()
    if index is not None:
        known = index.containing_statement(root, target)
        if known is not False:
            return known  # type: ignore[return-value]
    stack: list[cst.CSTNode] = []
    found: list[cst.CSTNode] = []

    class Finder(cst.CSTVisitor):
        def on_visit(self, node: cst.CSTNode) -> bool:
            if found:
                return False
            if node is target:
                statements = [n for n in stack if isinstance(n, (cst.SimpleStatementLine, cst.BaseCompoundStatement))]
                if statements:
                    found.append(statements[-1])
                return False
            stack.append(node)
            return True

        def on_leave(self, original_node: cst.CSTNode) -> None:
            if stack and stack[-1] is original_node:
                stack.pop()

    root.visit(Finder())
    return found[0] if found else None


def wrap_statements_in_with(block: cst.CSTNode, start: int, end: int, item: cst.BaseExpression) -> Transform:
    """Replace statements [start, end) of `block` with `with <item>:` holding them."""

    def make(node: cst.CSTNode) -> cst.CSTNode:
        body = list(node.body)  # type: ignore[attr-defined]
        moved = body[start:end]
        first = moved[0]
        leading = first.leading_lines  # comments above the first statement stay above the `with`
        moved[0] = first.with_changes(leading_lines=())
        wrapped = cst.With(
            items=[cst.WithItem(item=item)],
            body=cst.IndentedBlock(body=moved),
            leading_lines=leading,
        )
        return node.with_changes(body=[*body[:start], wrapped, *body[end:]])

    return replace_node(block, make)


def hoist_statement(statement: cst.CSTNode, before: cst.CSTNode) -> Transform:
    """Move `statement` out of its block to just before the compound statement `before` (which
    contains it). One pass: the inner block loses the statement, the outer block gains it."""

    def transform(module: cst.Module) -> cst.Module:
        source = find_statement_block(module, statement)
        target = find_statement_block(module, before)
        if source is None or target is None:
            raise LookupError("statement to hoist, or the loop to hoist above, not found")
        (source_block, source_index), (target_block, target_index) = source, target
        index = current_index()
        if index is not None:
            rebuilt = _hoist_along_paths(index, module, statement, source_block, source_index, target_block, target_index)
            if rebuilt is not None:
                return rebuilt

        class Hoister(cst.CSTTransformer):
            def on_leave(self, original_node, updated_node):  # noqa: ANN001
                if original_node is source_block:
                    body = list(updated_node.body)
                    del body[source_index]
                    if not body:
                        body = [cst.SimpleStatementLine(body=[cst.Pass()])]
                    return updated_node.with_changes(body=body)
                if original_node is target_block:
                    body = list(updated_node.body)
                    loop = body[target_index]
                    moved = statement.with_changes(  # type: ignore[attr-defined]
                        leading_lines=(*loop.leading_lines, *statement.leading_lines)  # type: ignore[attr-defined]
                    )
                    body[target_index] = loop.with_changes(leading_lines=())
                    body.insert(target_index, moved)
                    return updated_node.with_changes(body=body)
                return updated_node

        return module.visit(Hoister())

    return transform


def _hoist_along_paths(index, module, statement, source_block, source_index, target_block, target_index):  # noqa: ANN001, ANN202
    """What Hoister does, by rebuilding only the two paths (the target block holds the source)."""

    def remove(block: cst.CSTNode) -> cst.CSTNode:
        body = list(block.body)  # type: ignore[attr-defined]
        del body[source_index]
        return block.with_changes(body=body or [cst.SimpleStatementLine(body=[cst.Pass()])])

    def insert(block: cst.CSTNode) -> cst.CSTNode:
        body = list(block.body)  # type: ignore[attr-defined]
        loop = body[target_index]
        moved = statement.with_changes(leading_lines=(*loop.leading_lines, *statement.leading_lines))
        body[target_index] = loop.with_changes(leading_lines=())
        body.insert(target_index, moved)
        return block.with_changes(body=body)

    first = index.replace(module, source_block, remove)
    return None if first is None else index.replace(first, target_block, insert, follow=True)


def read_before(body: cst.CSTNode, statement: cst.CSTNode, name: str) -> bool:
    """Whether `name` is used in `body` before `statement` (a first iteration would see a different
    value once an assignment to it moves above the loop)."""
    seen: list[bool] = []

    class Scanner(cst.CSTVisitor):
        def on_visit(self, node: cst.CSTNode) -> bool:
            if seen:
                return False
            if node is statement:
                seen.append(False)
                return False
            if isinstance(node, cst.Name) and node.value == name:
                seen.append(True)
                return False
            return True

    body.visit(Scanner())
    return bool(seen and seen[0])


def hoist_assignment_fix(
    site: CallSite,
    inputs: list[cst.CSTNode],
    loops: list[LoopInfo],
    imports: ImportTable,
    refuse: Callable[[LoopInfo, str], bool] | None = None,
) -> Transform | None:
    """Move `name = <site>` above the outermost of `loops` (the loops it is invariant in) when that
    provably gives the same value: a plain one-target assignment directly in one of those loops'
    bodies, `name` bound nowhere else in the loop and not read before it, nothing in `inputs` bound
    anywhere in the loop (not even to an invariant value), and no rule-specific `refuse(loop, name)`."""
    target = loops[-1]
    statement = statement_containing(target.node, site.node)
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    assign = statement.body[0]
    if not (
        isinstance(assign, cst.Assign)
        and len(assign.targets) == 1
        and isinstance(assign.targets[0].target, cst.Name)
        and assign.value is site.node
    ):
        return None
    name = assign.targets[0].target.value
    located = find_statement_block(target.node, statement)
    if located is None or not any(located[0] is loop.node.body for loop in loops):
        return None
    if target.binding_counts[name] != 1 or (refuse is not None and refuse(target, name)):
        return None
    if reads_of(inputs, imports).names & target.assigned or read_before(target.node.body, statement, name):
        return None
    return hoist_statement(statement, target.node)
