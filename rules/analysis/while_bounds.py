"""How long a `while counter < N:` training loop runs: the bound and what the counter counts.

Long runs are often written as a while loop over a step counter rather than a `for` over
`range`: earhian's Humpback Whale solution trains `while i < 10000000:` around `for data in
dataloader_train:` with `i += 1` per batch; GAN and RL scripts loop `while step < max_steps:`.
long_run_evidence.py reads the bound as steps when the counter grows once per batch (inside the
training-step loop, or in a while loop that is itself the step loop) and as epochs when it grows
once per pass of a while loop around the step loop. Anything else (a counter changed elsewhere, a
second counter, `while True` with a `break`) is no length.
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


def increment_depth(node: cst.While, counter: str) -> int | None:
    """How many loops inside the while loop the counter's one increment sits (0: in the while's
    own body); None when it is not incremented exactly once by a constant (`i += 1`, `i = i + 1`)."""
    found: list[int] = []
    assigned_otherwise = False

    class _Increments(cst.CSTVisitor):
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
            return False  # a nested function's counter is its own

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
