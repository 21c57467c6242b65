"""GL315: a new iterator of a multi-worker DataLoader on every step (`next(iter(loader))`)."""

from __future__ import annotations

from typing import Iterable

import libcst as cst

from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.data_pipeline_facts import assigned_values, in_test_code
from greenlint.rules.analysis.facts import CallSite, LoopInfo
from greenlint.rules.analysis.literals import argument, literal_value, resolved_value, value_source
from greenlint.rules.analysis.step_guards import conditions_between
from greenlint.rules.base import Evidence, Report, Rule
from greenlint.rules.data_pipeline.impacts import GL315_IMPACT

# A periodic guard up to this many steps still rebuilds the workers often enough to matter
# (PointNet's test batch every 10 steps); a rarer one (`% 1000`) is a small share.
MAX_GUARD_PERIOD = 100
_WRAPPERS = frozenset({"iter", "enumerate"})


class LoaderIteratorPerStep(Rule):
    code = "GL315"
    name = "loader-iterator-per-step"
    summary = "`next(iter(loader))` in the training loop: a multi-worker DataLoader restarts its workers for one batch"
    detects = """
        `next(iter(loader))`, `next(enumerate(loader))` or `next(iter(enumerate(loader)))` inside a
        training loop, on every step or under a periodic guard of at most 100 steps
        (`if i % 10 == 0:`), where `loader` is a `DataLoader(...)` of the module with `num_workers`
        above 0 (written out or a known configured default) and no `persistent_workers=True`. A
        loader without workers builds its iterator in microseconds and is not reported, nor is an
        iterator built once per epoch or before the loop, nor test code.
    """
    why = """
        Each `iter()` of a DataLoader with worker processes starts the workers again (unless they
        are persistent) and has each of them prefetch `prefetch_factor` batches (2 by default); taking
        one batch and dropping the iterator throws the rest away. The training loop waits for the
        start-up every time, and the input pipeline does several times the work it uses.
    """
    bad_example = """
        import torch
        from torch.utils.data import DataLoader

        test_loader = DataLoader(test_set, batch_size=32, shuffle=True, num_workers=4)
        for epoch in range(250):
            for i, (x, y) in enumerate(train_loader):
                loss = model(x.cuda()).sum()
                loss.backward()
                optimizer.step()
                if i % 10 == 0:
                    j, (tx, ty) = next(enumerate(test_loader, 0))
                    print(model(tx.cuda()).argmax(1).eq(ty.cuda()).float().mean())
    """
    good_example = """
        import torch
        from torch.utils.data import DataLoader

        test_loader = DataLoader(test_set, batch_size=32, shuffle=True, num_workers=4)
        test_batches = iter(test_loader)
        for epoch in range(250):
            for i, (x, y) in enumerate(train_loader):
                loss = model(x.cuda()).sum()
                loss.backward()
                optimizer.step()
                if i % 10 == 0:
                    try:
                        tx, ty = next(test_batches)
                    except StopIteration:
                        test_batches = iter(test_loader)
                        tx, ty = next(test_batches)
                    print(model(tx.cuda()).argmax(1).eq(ty.cuda()).float().mean())
    """
    fix = """
        Build the iterator once and draw from it (`batches = iter(loader)`, rebuilt on
        `StopIteration`), or pass `persistent_workers=True` to the DataLoader so that a new
        iterator reuses the running workers.
    """
    evidence = (
        Evidence(
            "persistent_workers: if False, the DataLoader shuts the worker processes down after the "
            "dataset has been consumed once and starts them again on the next iter(); each worker "
            "loads prefetch_factor (default 2) batches in advance",
            "PyTorch documentation, torch.utils.data.DataLoader",
            "doc",
        ),
        Evidence(
            "next(iter(loader)) took 80.6 ms with 4 workers and 40.4 ms with 2 (0.4 ms with none), "
            "against 1.92-3.18 ms for next() on a kept iterator (a 32-image batch of an in-memory set, 2-core CPU)",
            "greenlint's own CPU timing, PyTorch 2.13 (docs/evidence.md#cpu-loader-iterator)",
            "measured",
        ),
    )
    saving_scope = "the worker start-up and the prefetched batches thrown away at every rebuilt iterator"
    impact = GL315_IMPACT
    trigger = (("next(",), ("iter(", "enumerate("), ("num_workers",))

    def check(self, analysis: ModuleAnalysis) -> Iterable[Report]:
        facts = analysis.facts
        for site in facts.calls:
            if not (isinstance(site.node.func, cst.Name) and site.node.func.value == "next") or not site.node.args:
                continue
            if site.loop is None or in_test_code(site):
                continue
            loader = _iterated_loader(site.node.args[0].value)
            workers = _workers(analysis, loader) if loader is not None else None
            if workers is None:
                continue
            how_often = _how_often(site)
            if how_often is None:
                continue
            written = analysis.module.code_for_node(site.node)
            yield Report(
                site.node,
                f"`{written if len(written) <= 50 else 'next(iter(...))'}` builds a new iterator of `{loader}` "
                f"{how_often}, and the loader has {workers}: each iterator starts the workers again and has "
                "them prefetch batches it drops (80.6 ms against 1.92 ms for 4 workers in greenlint's CPU "
                "timing); build the iterator once and draw from it, or pass `persistent_workers=True`",
                frequency="every-step",
            )


def _iterated_loader(node: cst.BaseExpression) -> str | None:
    """`iter(loader)`, `enumerate(loader, 0)`, `iter(enumerate(loader))` -> "loader"."""
    depth = 0
    while isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value in _WRAPPERS \
            and node.args and depth < 3:
        node = node.args[0].value
        depth += 1
    return node.value if depth and isinstance(node, cst.Name) else None


def _workers(analysis: ModuleAnalysis, name: str) -> str | None:
    """"4 worker processes (`num_workers=4`)" for a DataLoader bound once to `name` with workers and
    without persistent ones, else None."""
    values = assigned_values(analysis.facts, name)
    if len(values) != 1 or not isinstance(values[0], cst.Call):
        return None
    call = values[0]
    if not (analysis.facts.imports.resolve(call.func) or "").endswith("DataLoader"):
        return None
    if resolved_value(argument(call, "persistent_workers")) is True:
        return None
    node = argument(call, "num_workers", 5)
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "int" and len(node.args) == 1:
        node = node.args[0].value  # `num_workers=int(opt.workers)` (fxia22/pointnet.pytorch, blind44)
    count = resolved_value(node)
    if type(count) is not int or count <= 0:
        return None
    where = value_source(node)
    return f"{count} worker process{'es' if count != 1 else ''}" + (f" ({where})" if where else "")


def _how_often(site: CallSite) -> str | None:
    """"on every step of the training loop" / "every 10 steps", or None when rarer or not in training."""
    loop = _training_loop(site.loop)
    if loop is None:
        return None
    conditions = conditions_between(loop.node.body, site.node)
    if not conditions:
        return "on every step of the training loop"
    if len(conditions) != 1 or not isinstance(conditions[0], cst.If):
        return None
    period = _modulo_period(conditions[0].test)
    return f"every {period} steps of the training loop" if period is not None and period <= MAX_GUARD_PERIOD else None


def _training_loop(loop: LoopInfo | None) -> LoopInfo | None:
    """The innermost enclosing loop that runs a training step on each iteration."""
    for enclosing in loop.enclosing() if loop is not None else ():
        if enclosing.is_training_step:
            return enclosing
    return None


def _modulo_period(test: cst.BaseExpression) -> int | None:
    """`i % 10 == 0` (or `== 9`, `!= 0` is not periodic): the literal period, else None."""
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return None
    if not isinstance(test.comparisons[0].operator, cst.Equal):
        return None
    left = test.left
    if isinstance(left, cst.BinaryOperation) and isinstance(left.operator, cst.Modulo):
        period = literal_value(left.right)
        return period if type(period) is int and period > 0 else None
    return None


RULE = LoaderIteratorPerStep()
