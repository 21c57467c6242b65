"""GL308: DataLoader workers started again for every epoch (no `persistent_workers=True`)."""

from __future__ import annotations

from typing import Iterable

import libcst as cst

from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.data_pipeline_facts import (
    dataloader_sites,
    in_test_code,
    literal_flag,
    walk,
)
from greenlint.rules.analysis.facts import CallSite, LoopInfo, ModuleFacts
from greenlint.rules.analysis.training_steps import loop_descendants
from greenlint.rules.analysis.literals import argument, has_double_star, keyword_arg, literal_value
from greenlint.rules.analysis.names import terminal_name
from greenlint.rules.analysis.precision import HF_TRAINING_ARGUMENTS
from greenlint.rules.base import Evidence, Report, Rule, RuleFix
from greenlint.rules.data_pipeline.impacts import GL308_IMPACT
from greenlint.rules.fixes import loop_header, set_keyword
from greenlint.rules.impact import Scale

# Lightning calls these hooks once and iterates the loader they return on every epoch.
_EPOCH_HOOKS = frozenset({"train_dataloader", "val_dataloader"})
# Calls that read a loader without iterating it.
_NOT_ITERATING = frozenset({"len", "print", "str", "repr", "isinstance", "type", "id", "hasattr", "getattr"})


def _loader_names(site: CallSite, facts: ModuleFacts) -> set[str]:
    """The names the DataLoader is bound to: `loader = DataLoader(...)`, `self.loader = ...`, or the
    name assigned from a local function that returns it."""
    names = {name for name, value in facts.assignments if value is site.node}
    function = site.function
    if function is not None and _returns(function.node, site.node):
        for name, value in facts.assignments:
            if isinstance(value, cst.Call) and terminal_name(value.func) == function.name:
                names.add(name)
    return names


def _returns(function: cst.FunctionDef, call: cst.Call) -> bool:
    for node in walk(function.body):
        if isinstance(node, cst.Return) and node.value is call:
            return True
    return False


def _is_loader(node: cst.BaseExpression, names: set[str]) -> bool:
    """The expression is the loader itself: `loader`, `self.loader`."""
    return isinstance(node, (cst.Name, cst.Attribute)) and terminal_name(node) in names


def _iterates(node: cst.BaseExpression, names: set[str]) -> bool:
    """A `for` header over the loader: `loader`, `enumerate(loader)`, `tqdm(loader, ...)`."""
    if _is_loader(node, names):
        return True
    return isinstance(node, cst.Call) and any(_is_loader(arg.value, names) for arg in node.args)


def _epoch_loop(site: CallSite, names: set[str], facts: ModuleFacts) -> LoopInfo | None:
    """A loop, not around the DataLoader's construction, whose every iteration iterates the loader
    again: it holds a loop over the loader, or passes the loader to a function (a `train_one_epoch`)."""
    around = set(map(id, site.loop.enclosing())) if site.loop is not None else set()
    for loop in facts.loops:
        if id(loop) in around:
            continue
        for inner in loop.calls:
            if terminal_name(inner.node.func) in _NOT_ITERATING:
                continue
            if any(_is_loader(arg.value, names) for arg in inner.node.args):
                return loop
        for child in loop_descendants(loop):
            if isinstance(child.node, cst.For) and _iterates(child.node.iter, names):
                return loop
    return None


def _epoch_count(loop: LoopInfo) -> int | None:
    """N for `for epoch in range(N)` / `range(start, N)` with literal bounds, else None."""
    node = loop.node
    if not isinstance(node, cst.For) or not isinstance(node.iter, cst.Call):
        return None
    call = node.iter
    if not (isinstance(call.func, cst.Name) and call.func.value == "range") or not 1 <= len(call.args) <= 2:
        return None
    bounds = [literal_value(arg.value) for arg in call.args]
    if not all(isinstance(b, int) and not isinstance(b, bool) for b in bounds):
        return None
    return bounds[-1] - (bounds[0] if len(bounds) == 2 else 0)


def _few_epochs(epochs: int | None) -> Scale | None:
    """With N epochs, N - 1 of the N worker start-ups are avoidable (arithmetic, no other figure)."""
    if epochs is None:
        return None
    return Scale((epochs - 1) / epochs, f"{epochs} epochs: {epochs - 1} of the {epochs} worker start-ups are avoidable")


def _changes_dataset_between_epochs(loop: LoopInfo) -> bool:
    """`dataset.set_epoch(epoch)` or `loader.dataset.x = ...` in the epoch loop: persistent workers
    would keep their old copy of the dataset (a sampler's `set_epoch` is fine: samplers stay in the
    main process)."""
    for site in loop.calls:
        if site.attr == "set_epoch" and site.receiver is not None:
            receiver = terminal_name(site.receiver) or ""
            if "sampler" not in receiver.lower():
                return True
    return any("dataset" in attr.lower() for attr in loop.assigned_attrs)


class PersistentWorkersMissing(Rule):
    code = "GL308"
    # Out of the default set (issue 14, rule under 80 % blind precision): 0 of 30 sampled findings worth acting on in the second blind corpus (2 of 30 on the tuning
    # corpus): a worker start-up once per epoch is a small share of an epoch of real work.
    preview = True
    name = "persistent-workers-missing"
    summary = "DataLoader with worker processes iterated every epoch without `persistent_workers=True`"
    detects = """
        A `torch.utils.data.DataLoader` with a literal `num_workers` > 0 and `persistent_workers` absent
        or `False`, built once and iterated again on every iteration of an outer loop (an epoch loop that
        contains a loop over the loader or passes the loader to a function), or returned from a Lightning
        `train_dataloader`/`val_dataloader` hook. Also Hugging Face `TrainingArguments` with
        `dataloader_num_workers` > 0 and no `dataloader_persistent_workers`. Silent when the epoch loop
        changes the dataset between epochs (`dataset.set_epoch(...)`, `loader.dataset.x = ...`): persistent
        workers would keep stale copies, and when the epoch loop is `range(1)` (one start-up either way).
        With a literal epoch count N (`range(N)`, `num_train_epochs=N`, the Trainer's default 3), a
        finding's impact is scaled by (N - 1) / N: the first start-up is not avoidable.
    """
    why = """
        Without persistent workers, every `for batch in loader` starts `num_workers` new processes, each
        importing and copying the dataset, and tears them down at the end of the epoch. For datasets that
        are expensive to set up this start-up repeats every epoch while the GPU waits.
    """
    bad_example = """
        from torch.utils.data import DataLoader

        loader = DataLoader(train_set, batch_size=64, shuffle=True, num_workers=8, pin_memory=True)
        for epoch in range(90):
            for x, y in loader:
                loss = criterion(model(x.cuda()), y.cuda())
                loss.backward()
                optimizer.step()
    """
    good_example = """
        from torch.utils.data import DataLoader

        loader = DataLoader(train_set, batch_size=64, shuffle=True, num_workers=8, pin_memory=True,
                            persistent_workers=True)
        for epoch in range(90):
            for x, y in loader:
                loss = criterion(model(x.cuda()), y.cuda())
                loss.backward()
                optimizer.step()
    """
    fix = """
        Pass `persistent_workers=True` (Hugging Face: `dataloader_persistent_workers=True`). The automatic
        fix is marked unsafe: the workers then keep their copy of the dataset and their random state
        across epochs, so changes the main process makes to the dataset between epochs no longer reach
        them, the random stream of on-the-fly augmentation differs from before (one project saw its
        augmentation sequence change), and the workers' memory stays held between epochs.
    """
    fix_applicability = "unsafe"
    evidence = (
        Evidence(
            "persistent_workers=True cut per-run data initialisation from ~7 min to ~35 s",
            "open-mmlab/mmhuman3d PR #233",
            "issue",
        ),
        Evidence(
            "persistent_workers (with pin_memory) took training from 3.5 h to 2.7 h on Windows, with no difference on Linux (RTX A6000)",
            "delta-interpolator PR #3",
            "issue",
        ),
    )
    saving_scope = "the worker start-up time of every epoch after the first (large on Windows/macOS or with costly dataset setup, small on Linux)"
    impact = GL308_IMPACT
    trigger = (
        ("num_workers",),
        ("DataLoader(", "TrainingArguments(", "Config("),
        ("epoch", "Epoch", "_dataloader(", "dataloader_num_workers"),
    )

    def check(self, analysis: ModuleAnalysis) -> Iterable[Report]:
        facts = analysis.facts
        lightning = None
        for site in dataloader_sites(analysis):
            call = site.node
            if in_test_code(site) or has_double_star(call):
                continue
            workers = literal_flag(call, "num_workers")
            if not isinstance(workers, int) or isinstance(workers, bool) or workers <= 0:
                continue
            persistent = keyword_arg(call, "persistent_workers")
            if persistent is not None and literal_value(persistent.value) is not False:
                continue
            where = None
            epochs = None
            function = site.function
            if function is not None and function.name in _EPOCH_HOOKS and _returns(function.node, call):
                if lightning is None:
                    lightning = any(q.split(".", 1)[0] in ("lightning", "pytorch_lightning") for q in facts.imports.bindings.values())
                if lightning:
                    where = f"Lightning's `{function.name}` loader is iterated again every epoch"
            if where is None:
                names = _loader_names(site, facts)
                loop = _epoch_loop(site, names, facts) if names else None
                if loop is None or _changes_dataset_between_epochs(loop):
                    continue
                epochs = _epoch_count(loop)
                if epochs is not None and epochs <= 1:
                    continue  # one pass: the workers start once either way
                where = f"it is iterated again on every pass of `{loop_header(analysis.module, loop.node, 50)}`"
            yield Report(
                call,
                f"this DataLoader starts {workers} worker process{'es' if workers > 1 else ''} and {where}: without "
                "`persistent_workers=True` the workers, and their copies of the dataset, are created again "
                "each epoch (mmhuman3d cut ~7 min of data start-up to ~35 s with it, open-mmlab/mmhuman3d PR #233)",
                fix=RuleFix("keep the workers alive across epochs", "unsafe", set_keyword(call, "persistent_workers", cst.Name("True"))),
                scale=_few_epochs(epochs),
            )
        for site in facts.calls:
            if site.qualname not in HF_TRAINING_ARGUMENTS or in_test_code(site) or has_double_star(site.node):
                continue
            workers = literal_value(argument(site.node, "dataloader_num_workers"))
            if not isinstance(workers, int) or isinstance(workers, bool) or workers <= 0:
                continue
            persistent = keyword_arg(site.node, "dataloader_persistent_workers")
            if persistent is not None and literal_value(persistent.value) is not False:
                continue
            hf_epochs = literal_value(argument(site.node, "num_train_epochs"))
            if hf_epochs == 1 and argument(site.node, "max_steps") is None:
                continue
            hf_scale = None
            if argument(site.node, "max_steps") is None:
                count = 3 if argument(site.node, "num_train_epochs") is None else hf_epochs  # the Trainer's default is 3
                if isinstance(count, int) and not isinstance(count, bool):
                    hf_scale = _few_epochs(count)
            yield Report(
                site.node,
                f"`dataloader_num_workers={workers}` without `dataloader_persistent_workers=True`: the Trainer "
                "starts its worker processes again every epoch (mmhuman3d cut ~7 min of data start-up to "
                "~35 s with persistent workers, open-mmlab/mmhuman3d PR #233)",
                fix=RuleFix(
                    "keep the workers alive across epochs",
                    "unsafe",
                    set_keyword(site.node, "dataloader_persistent_workers", cst.Name("True")),
                ),
                scale=hf_scale,
            )


RULE = PersistentWorkersMissing()
