"""GL307: a GPU training DataLoader without `pin_memory=True`."""

from __future__ import annotations

from typing import Iterable

import libcst as cst

from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.data_pipeline_facts import (
    WORKERS_MEASURED,
    assigned_values,
    dataloader_sites,
    in_test_code,
    literal_flag,
    loader_argument,
    module_trains,
    moves_to_gpu,
)
from greenlint.rules.analysis.batch_bytes import small_batches
from greenlint.rules.analysis.dataset_cost import classify_dataset
from greenlint.rules.analysis.facts import ModuleFacts
from greenlint.rules.analysis.loader_use import loader_consumer
from greenlint.rules.analysis.literals import NOT_LITERAL, has_double_star, keyword_arg
from greenlint.rules.analysis.precision import LIGHTNING_TRAINERS
from greenlint.rules.base import Evidence, Report, Rule, RuleFix
from greenlint.rules.data_pipeline.impacts import GL307_IMPACT
from greenlint.rules.fixes import set_keyword


def _copies_batches_to_gpu(analysis: ModuleAnalysis) -> bool:
    """Batches go from host to GPU during training: a `.cuda()`/`.to(...)` in a training loop (or a
    function it calls), or a Lightning trainer, which moves every batch itself."""
    facts = analysis.facts
    for loop in facts.loops:
        if not (loop.does_training or loop.contains_step_loop):
            continue
        for site in loop.calls:
            if site.attr in ("cuda", "to") and site.is_method_call:
                return True
            for function in facts.local_functions_called(site):
                if any(inner.attr in ("cuda", "to") and inner.is_method_call for inner in function.calls):
                    return True
            if site.qualname in facts.context.step_functions or site.qualname in facts.context.loop_functions:
                # `train_one_epoch(model, data_loader_train, ..., device)` from another module of the
                # project: its step moves the batches (this module already names the CUDA device)
                return True
    return any(site.qualname in LIGHTNING_TRAINERS for site in facts.calls)


def _collate_moves_to_gpu(call: cst.Call, facts: ModuleFacts) -> bool:
    """A `collate_fn` that returns CUDA tensors (pinning them would fail), or one the analysis
    cannot see into (a callable object of the module's own making): stay silent for both."""
    collate = loader_argument(call, "collate_fn")
    if collate is None:
        return False
    if moves_to_gpu(collate):
        return True
    if isinstance(collate, cst.Call):
        qualname = facts.imports.resolve(collate.func) or ""
        if qualname == "functools.partial" and collate.args:
            return _function_moves(collate.args[0].value, facts)
        return not qualname.startswith(("transformers.", "torch.", "torch_geometric.", "sentence_transformers."))
    return _function_moves(collate, facts)


def _function_moves(node: cst.BaseExpression, facts: ModuleFacts) -> bool:
    if isinstance(node, cst.Lambda):
        return moves_to_gpu(node)
    if isinstance(node, (cst.Name, cst.Attribute)):
        if facts.imports.resolve(node) is not None:
            return False  # an imported collate function: returns host tensors in practice
        name = node.value if isinstance(node, cst.Name) else node.attr.value
        functions = facts.functions.get(name, [])
        if functions:
            return any(moves_to_gpu(function.node) for function in functions)
        values = assigned_values(facts, name)[:3]
        return not values or any(moves_to_gpu(value) or isinstance(value, cst.Call) for value in values)
    return True


class PinMemoryMissing(Rule):
    code = "GL307"
    # Out of the default set (issue 14, rule under 80 % blind precision): 1 of 48 judged findings worth acting on in the second blind corpus (0 of 3 in the first): the
    # batches it flags are mostly MNIST/CIFAR-sized, where pinning saves nothing a user would notice.
    preview = True
    name = "pin-memory-missing"
    summary = "GPU training DataLoader without `pin_memory=True`: slower, synchronous host-to-GPU copies"
    detects = """
        A `torch.utils.data.DataLoader` that uses worker processes (`num_workers` > 0 or computed) with
        `pin_memory` absent or `False`, in a module that trains on a CUDA GPU and copies batches to it
        during training (a `.cuda()`/`.to(...)` in the training loop, a training function of another
        project module called in a loop, or a Lightning trainer), or built at module level in a module
        that another module of the project imports and trains with on a CUDA device. Loaders
        without workers are left to GL306: there the main process would pin each batch itself, between
        steps, and most of the gain is lost. Silent when `pin_memory` is computed, the loader takes `**kwargs`, the
        dataset's tensors are already on the GPU (pinning would fail) or in memory (`TensorDataset`), a
        `collate_fn` moves batches to the GPU or cannot be seen, in unit tests, and when the module's
        batches are known to be small: every image size it sets is at most 64 pixels a side, it reads
        only MNIST/CIFAR-class torchvision datasets, or it feeds token ids (rules/analysis/batch_bytes.py);
        there the copy is a sliver of the step.
    """
    why = """
        A copy from pageable host memory is staged through a pinned buffer by the driver and cannot
        overlap with GPU work; batches in pinned memory copy faster and, with `non_blocking=True`,
        asynchronously while the GPU computes.
    """
    bad_example = """
        import torch
        from torch.utils.data import DataLoader

        loader = DataLoader(train_set, batch_size=128, shuffle=True, num_workers=4)
        for x, y in loader:
            x, y = x.cuda(non_blocking=True), y.cuda(non_blocking=True)
            loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
    """
    good_example = """
        import torch
        from torch.utils.data import DataLoader

        loader = DataLoader(train_set, batch_size=128, shuffle=True, num_workers=4, pin_memory=True)
        for x, y in loader:
            x, y = x.cuda(non_blocking=True), y.cuda(non_blocking=True)
            loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
    """
    fix = """
        Pass `pin_memory=True` (safe: on a machine without CUDA PyTorch warns and ignores it) and move
        batches with `.to(device, non_blocking=True)`. Pinned memory is page-locked host RAM: with very
        large batches and many workers, watch host memory.
    """
    fix_applicability = "safe"
    evidence = (
        Evidence(
            "pinned memory speeds up host-to-device copies and lets them run asynchronously; the guide gives no number",
            "PyTorch Performance Tuning Guide (Szymon Migacz)",
            "doc",
        ),
        Evidence(
            "size of the saving not verified: depends on the share of step time spent copying",
            "greenlint's research notes, no source with a number found (docs/evidence.md#gl307)",
            "unquantified",
        ),
        WORKERS_MEASURED,
    )
    saving_scope = "the host-to-device copy time of each batch (small unless copies are a visible share of the step)"
    impact = GL307_IMPACT
    trigger = (
        ("DataLoader(",),
        ("cuda", "gpu", "device_map", "DataParallel", "Accelerator", "accelerator"),
        ("backward(", ".fit(", "Trainer"),
    )

    def check(self, analysis: ModuleAnalysis) -> Iterable[Report]:
        facts = analysis.facts
        applies: bool | None = None
        if small_batches(analysis) is not None:
            return  # batches of a few MB at most: the copy is a sliver of the step (rules/analysis/batch_bytes.py)
        for site in dataloader_sites(analysis):
            call = site.node
            if in_test_code(site) or has_double_star(call):
                continue
            pin = literal_flag(call, "pin_memory")
            if pin is NOT_LITERAL or pin not in (None, False):
                continue
            workers = literal_flag(call, "num_workers")
            if workers in (None, 0):
                continue  # no workers: the main process would pin synchronously; GL306 covers these loaders
            consumer = loader_consumer(site, facts)
            if consumer is None:
                if applies is None:
                    applies = analysis.device.uses_gpu and module_trains(analysis) and _copies_batches_to_gpu(analysis)
                if not applies:
                    continue
            kind = classify_dataset(analysis, loader_argument(call, "dataset"))
            if kind.on_device or _collate_moves_to_gpu(call, facts):
                continue
            if kind.heavy is False:
                # tensors already in memory (`TensorDataset`): pinning adds a host copy of each batch and
                # nothing measured shows it paying back there (judged on small tabular sets)
                continue
            fix = None
            if pin is None or keyword_arg(call, "pin_memory") is not None:
                fix = RuleFix("set pin_memory=True", "safe", set_keyword(call, "pin_memory", cst.Name("True")))
            setting = "has no `pin_memory`" if pin is None else "sets `pin_memory=False`"
            explicit = keyword_arg(call, "pin_memory")
            yield Report(
                explicit if explicit is not None else call,  # an explicit `pin_memory=False`: point at it
                f"this DataLoader {setting} although its batches are copied to the GPU"
                f"{f' ({consumer})' if consumer else ''}: pinned batches copy "
                "faster and can overlap with compute (`non_blocking=True`); pass `pin_memory=True`",
                fix=fix,
            )


RULE = PinMemoryMissing()
