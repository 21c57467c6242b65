"""How long a `while counter < N:` training loop runs: the bound and what the counter counts.

Long runs are often written as a while loop over a step counter rather than a `for` over
`range`: earhian's Humpback Whale solution trains `while i < 10000000:` around `for data in
dataloader_train:` with `i += 1` per batch; GAN and RL scripts loop `while step < max_steps:`.
long_run_evidence.py reads the bound as steps when the counter grows once per batch (inside the
training-step loop, or in a while loop that is itself the step loop) and as epochs when it grows
once per pass of a while loop around the step loop. Anything else (a counter changed elsewhere, a
second counter, `while True` with a `break`) is no length.

Session 16: the same counter read from the other end, a loop over an endless loader that stops
itself at a step count (qiuqiangkong/audioset_tagging_cnn's `for batch_data_dict in train_loader:`
... `if iteration == early_stop: break` ... `iteration += 1`, with `--early_stop=1000000` in its
launch script; break_bound).
"""

from __future__ import annotations

import libcst as cst

# A bound this large only says "until something stops it": no length (as `range(10**9)`).
MAX_WHILE_BOUND = 10**9


def while_counter(node: cst.While) -> tuple[str, cst.BaseExpression] | None:
    """(counter, bound expression) of `while counter < bound:` / `counter <= bound`."""
    test = node.test
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return None
    comparison = test.comparisons[0]
    if not isinstance(test.left, cst.Name) or not isinstance(comparison.operator, (cst.LessThan, cst.LessThanEqual)):
        return None
    return test.left.value, comparison.comparator


class _LoopDepth(cst.CSTVisitor):
    """Counts the loops nested inside the loop body being walked (`depth`, 0 in the body itself);
    nested functions are not walked: their statements run elsewhere."""

    depth = 0

    def visit_For(self, loop: cst.For) -> None:
        self.depth += 1

    def leave_For(self, loop: cst.For) -> None:
        self.depth -= 1

    def visit_While(self, loop: cst.While) -> None:
        self.depth += 1

    def leave_While(self, loop: cst.While) -> None:
        self.depth -= 1

    def visit_FunctionDef(self, function: cst.FunctionDef) -> bool:
        return False


def increment_depth(node: cst.While | cst.For, counter: str) -> int | None:
    """How many loops inside the while loop the counter's one increment sits (0: in the while's
    own body); None when it is not incremented exactly once by a constant (`i += 1`, `i = i + 1`)."""
    found: list[int] = []
    assigned_otherwise = False

    class _Increments(_LoopDepth):
        def visit_AugAssign(self, assign: cst.AugAssign) -> None:
            if isinstance(assign.target, cst.Name) and assign.target.value == counter:
                if isinstance(assign.operator, cst.AddAssign) and isinstance(assign.value, cst.Integer):
                    found.append(self.depth)
                else:
                    nonlocal assigned_otherwise
                    assigned_otherwise = True

        def visit_Assign(self, assign: cst.Assign) -> None:
            for target in assign.targets:
                if isinstance(target.target, cst.Name) and target.target.value == counter:
                    value = assign.value
                    if (isinstance(value, cst.BinaryOperation) and isinstance(value.operator, cst.Add)
                            and isinstance(value.left, cst.Name) and value.left.value == counter
                            and isinstance(value.right, cst.Integer)):
                        found.append(self.depth)
                    else:
                        nonlocal assigned_otherwise
                        assigned_otherwise = True

    for statement in node.body.body:  # the body only: the test reads the counter, never sets it
        statement.visit(_Increments())
    if assigned_otherwise or len(found) != 1:
        return None
    return found[0]


def endless_loop(node: cst.For | cst.While) -> str | None:
    """A phrase for an outer loop that never ends by itself: `for epoch in itertools.count(...)`
    (seungwonpark/melgan's utils/train.py, blind24) or `while True:`, with no `break` of its own and
    no `return`, `exit()`, `quit()`, `sys.exit()` or `raise StopIteration`/`SystemExit` anywhere
    inside (an error raised on a diverging loss is no planned end). Such a run lasts until someone
    stops it. None for any other loop."""
    if isinstance(node, cst.For):
        iterable = node.iter
        name = iterable.func if isinstance(iterable, cst.Call) else None
        spelled = (name.attr.value if isinstance(name, cst.Attribute) else name.value if isinstance(name, cst.Name) else "")
        if spelled != "count":
            return None
        what = "`for ... in itertools.count(...)`"
    elif isinstance(node.test, cst.Name) and node.test.value == "True":
        what = "`while True:`"
    else:
        return None
    ends = False

    class _Ends(_LoopDepth):
        def visit_Break(self, statement: cst.Break) -> None:
            nonlocal ends
            ends = ends or self.depth == 0  # a break of an inner loop does not end this one

        def visit_Return(self, statement: cst.Return) -> None:
            nonlocal ends
            ends = True

        def visit_Raise(self, statement: cst.Raise) -> None:
            # `raise StopIteration` / `SystemExit` / a custom "done" exception ends the run; an error
            # (`raise Exception("Loss exploded")`, melgan) is not how it is meant to end
            nonlocal ends
            raised = statement.exc.func if isinstance(statement.exc, cst.Call) else statement.exc
            name = raised.attr.value if isinstance(raised, cst.Attribute) else raised.value if isinstance(raised, cst.Name) else ""
            ends = ends or name in ("StopIteration", "SystemExit") or name.endswith(("Stop", "Done", "Finished"))

        def visit_Call(self, call: cst.Call) -> None:
            nonlocal ends
            func = call.func
            spelled = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
            ends = ends or spelled in ("exit", "quit", "_exit")

    for statement in node.body.body:
        statement.visit(_Ends())
    return None if ends else what


def break_bound(node: cst.For) -> tuple[str, cst.BaseExpression] | None:
    """(counter, bound) of a loop that ends itself at a count: an `if counter == bound: break` (or
    `>=`, or the bound on the left) in the loop's own body, with the counter's one increment there
    too (`counter += 1`), so the bound counts the loop's iterations. None for anything else: a
    break under another test, a counter grown inside a nested loop or set twice."""
    for statement in node.body.body:
        if not isinstance(statement, cst.If) or statement.orelse is not None or not _breaks(statement.body):
            continue
        found = _counted_test(statement.test)
        if found is not None and increment_depth(node, found[0]) == 0:
            return found
    return None


def _breaks(body: cst.BaseSuite) -> bool:
    statements = body.body if isinstance(body, cst.IndentedBlock) else [body]
    for statement in statements:
        small = statement.body if isinstance(statement, cst.SimpleStatementLine) else (
            statement.body if isinstance(statement, cst.SimpleStatementSuite) else ())
        if any(isinstance(item, cst.Break) for item in small):
            return True
    return False


def _counted_test(test: cst.BaseExpression) -> tuple[str, cst.BaseExpression] | None:
    """`counter == bound`, `counter >= bound` or `bound <= counter` / `bound == counter`."""
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return None
    operator, right = test.comparisons[0].operator, test.comparisons[0].comparator
    if isinstance(test.left, cst.Name) and isinstance(operator, (cst.Equal, cst.GreaterThanEqual)):
        return test.left.value, right
    if isinstance(right, cst.Name) and isinstance(operator, (cst.Equal, cst.LessThanEqual)):
        return right.value, test.left
    return None
