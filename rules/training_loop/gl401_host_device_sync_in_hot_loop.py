"""GL401: a host-device synchronisation on every step of a GPU training loop."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable

import libcst as cst
from greenlint.rules import fixes
from greenlint.rules.analysis import LoopInfo, ModuleAnalysis
from greenlint.rules.analysis.facts import FunctionInfo, ModuleFacts
from greenlint.rules.analysis.scope_facts import builds_optimizer_each_iteration, in_test_function, training_step_loops
from greenlint.rules.analysis.training_steps import is_backward_call, is_optimizer_step, loop_descendants
from greenlint.rules.analysis.workload import small_training_workload
from greenlint.rules.analysis.training_loop_facts import (
    GPU_WORDS,
    is_test_module,
    loop_header,
    walk,
)
from greenlint.rules.base import Evidence, Report, Rule
from greenlint.rules.experiment.gl504_heavy_per_step_logging import per_step_loss_prints
from greenlint.rules.impact import RuleImpact, Scale, WasteSize
from greenlint.rules.training_loop.eval_syncs import element_syncs
from greenlint.rules.training_loop.parameter_syncs import parameter_syncs
from greenlint.rules.training_loop.sync_fix import accumulate_fix
from greenlint.rules.training_loop.sync_scan import (
    SYNC_FUNCTIONS,
    Scan,
    assigned_name,
    contains_sync,
    formatted_tensors,
    print_syncs,
    scan_body,
    short,
    tensorish,
)

_MAX_HELPER_DEPTH = 2
_EVALUATION = re.compile(r"^_*(eval|valid|val_|val$|test|predict|infer)", re.IGNORECASE)


class HostDeviceSyncInHotLoop(Rule):
    code = "GL401"
    # Out of the default set (issue 14, rule under 80 % blind precision): 80 % (24/30) on the fourth blind
    # corpus, 23 % (3/13) on the fifth (per-step `.item()` in runs of minutes: tutorials, short fine-tunes,
    # where the sync costs about nothing). `--preview` brings it back; `greenlint profile` still advises
    # it when the measured run quantifies the saving.
    preview = True
    name = "host-device-sync-in-hot-loop"
    summary = "The CPU waits for the GPU on every training step (`.item()`, `.cpu()`, `synchronize()` ...)"
    detects = """
        In a module that puts work on a CUDA GPU, inside a training-step loop (backward + optimizer
        step), or in a function of the module that the loop calls on every step: `.item()`, `.cpu()`,
        `.tolist()` of a tensor, `float(t)`/`int(t)`/`bool(t)`, `print(t)` and a tensor formatted as
        text (`f"{loss:.4f}"`, `"%g" % (*mloss,)` for a progress bar), a tensor logged with
        TensorBoard's `writer.add_scalar("loss", loss, step)` (it reads the value back) of a tensor (the
        backpropagated loss, a model output, a reduction such as `(pred == y).sum()`),
        `torch.cuda.synchronize()`, and PyTorch < 0.4's spelling of
        `.item()`, `loss.data[0]` (of the loss or a reduction, not of a model output's first row). A
        module that names no GPU counts as one when a project script imports its training function and
        runs it on a CUDA device (the fact GL101 uses). Calls under an `if` (a
        `step % 100 == 0` logging guard), in an `else`/`except` branch, or whose value decides
        control flow (an `if` test, a NaN check, an `env.step(action.item())`) are not reported, and
        evaluation helpers the loop calls (`test()`, `evaluate()`: full-batch training evaluates on
        every step) are not followed. A `print`/logger call of the loss on every step is left to
        GL504 (heavy-per-step-logging), the more specific rule, and the syncs inside it are not
        reported here; a per-step `torch.cuda.empty_cache()` is GL415's (cache-cleared-every-step), which
        reports it in the default set. Test modules (a test framework or testing helpers imported) are skipped, and
        so are loops that build a new optimizer on every iteration (numerics checks, not training).
        An `if` that holds on every step still counts as every step: a rank-0 / main-process test
        (`if rank in {-1, 0}:`, `if is_main_process():`), the gradient-accumulation test
        (`if (step + 1) % accum_steps == 0:`) and an `if` whose body runs the backward pass itself
        (`if loss > threshold: loss.backward(); ...`; not a modulo test such as a GAN's
        `if i % n_critic == 0:`). A loop that holds a training-step loop and also runs a training
        step in its own body (an update on the whole image, then one per crop) is scanned as well.
        A loop over the model's parameters inside the step that reads a value back for each tensor
        (`for p in model.parameters(): if torch.isnan(p.grad).any(): ...`) is reported as one sync
        per parameter tensor, also behind tests fixed for the run (`if clip_max_norm > 0:`). In the same modules, an evaluation loop (calls the
        model, no backward, in an `evaluate()`-style function or under `torch.no_grad()`) is
        reported when it reads single elements back inside a loop over a batch's elements
        (`pred[i].item()` for every `i`): one sync per element, on every evaluation. On a small
        workload (a known small dataset such as MNIST, CIFAR or IMDb with a model of small visible
        layers, or a MobileNet-class network at 64 pixels or less; rules/analysis/workload.py) the
        finding's estimated impact is scaled down: such a run lasts minutes.
    """
    why = """
        CUDA work is asynchronous: the CPU queues kernels and moves on. Reading a value back (or
        synchronising) makes the CPU wait until the GPU has finished everything queued so far, so the
        CPU cannot queue the next step's kernels while the GPU works: the GPU idles between steps.
    """
    bad_example = """
        import torch

        model = Net().cuda()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        total = 0.0
        for x, y in loader:
            loss = torch.nn.functional.cross_entropy(model(x.cuda()), y.cuda())
            loss.backward()
            opt.step()
            opt.zero_grad()
            total += loss.item()
    """
    good_example = """
        import torch

        model = Net().cuda()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        total = torch.zeros((), device="cuda")
        for step, (x, y) in enumerate(loader):
            loss = torch.nn.functional.cross_entropy(model(x.cuda()), y.cuda())
            loss.backward()
            opt.step()
            opt.zero_grad()
            total += loss.detach()
            if step % 100 == 0:
                print(f"step {step}: loss {loss.item():.4f}")
        print(total.item() / len(loader))
    """
    fix = """
        Keep running values on the device (`total += loss.detach()`) and read them once per epoch or
        every N steps under an `if step % N == 0:` guard; drop per-step `torch.cuda.synchronize()`. The unsafe autofix rewrites `total += loss.item()` to
        `total += loss.detach().float()` and converts `total` with `float(total)` after the loop (it
        sums in float32 on the GPU instead of float64 on the host), when `total` starts as a number
        just before the loop and is read nowhere else inside it.
    """
    fix_applicability = "unsafe"
    evidence = (
        Evidence(
            "GPT-style 125M model, bf16: `loss.item()` on every step raised GPU energy per step from 24.9 J to "
            "25.4 J (2 %), 42 -> 45 ms per step",
            "greenlint's own H100 measurements (docs/evidence.md#h100-training-step), one run, about ±5 % noise",
            "measured",
        ),
        Evidence("per-step `.item()` cost 40-50 ms of cudaStreamSynchronize per step (Llama-2-7B LoRA)", "meta-pytorch/torchtune PR #522", "issue"),
        Evidence("deferring one `.item()` per step: +5-7 % (1 GPU), +10 % (2 GPUs)", "openvdb/fvdb-reality-capture PR #144", "issue"),
        Evidence("removing a per-step `float(loss)`: 4 % in a micro-benchmark, under 1 % in real training", "lnccbrown/LANfactory PR #120", "issue"),
    )
    saving_scope = "the GPU idle time between training steps that the sync causes (at most min(CPU time, GPU time) per step)"
    impact = RuleImpact(
        WasteSize(
            0.0,
            0.07,
            "per-step syncs cost 'under 1 %' in LANfactory's real training, 2 % measured by greenlint on an H100 "
            "(GPT-style 125M, bf16) and 5-7 % in fVDB on one GPU",
        ),
        "every-step",
    )
    trigger = (
        ("backward(",),
        ("step(", ".step_"),  # `optimizer.step_and_update_lr()` of a scheduled-optimizer wrapper
        (".item()", ".cpu()", ".tolist()", "float(", "int(", "bool(", "print(", "synchronize(",
         "%", 'f"', "f'",  # a tensor formatted as text
         ".data[0]",  # PyTorch < 0.4's `loss.data[0]`
         "add_scalar("),  # a tensor logged to TensorBoard
        GPU_WORDS,
    )

    def check(self, analysis: ModuleAnalysis) -> Iterable[Report]:
        reports = self._syncs(analysis)
        scale = _small_run_scale(analysis)
        if scale is None:
            yield from reports
            return
        for report in reports:
            yield report if report.scale is not None else dataclasses.replace(report, scale=scale)

    def _syncs(self, analysis: ModuleAnalysis) -> Iterable[Report]:
        loops = training_step_loops(analysis)
        if not loops or not _on_gpu(analysis) or is_test_module(analysis):
            return
        facts = analysis.facts
        # A per-step `print`/log of the loss is GL504's (the more specific rule): the syncs inside it
        # are not reported twice.
        reported: set[int] = _inside_loss_prints(analysis)
        for loop, skip in [(loop, frozenset[int]()) for loop in loops] + _stepping_outer_loops(analysis):
            header = loop_header(analysis, loop)
            yield from _parameter_reports(analysis, loop, skip, header, reported)
            loop_scan = scan_body(loop.node.body, facts.imports, skip)
            bodies: list[tuple[Scan, FunctionInfo | None]] = [(loop_scan, None)]
            bodies.extend(_helper_scans(facts, loop_scan, 1, set()))
            for scan, function in bodies:
                where = f"on every step of `{header}`"
                if function is not None:
                    where = f"in `{function.name}()`, which runs on every step of `{header}`"
                yield from self._reports(analysis, loop, scan, where, function is None, reported)
        for found in element_syncs(analysis):
            if id(found.sync.node) in reported:
                continue
            reported.add(id(found.sync.node))
            code = short(analysis.module.code_for_node(found.sync.node))
            element = short(fixes.loop_header(analysis.module, found.element_loop))
            yield Report(
                found.sync.node,
                f"`{code}` copies one element from the GPU on every iteration of `{element}`, inside the "
                f"evaluation loop `{loop_header(analysis, found.eval_loop)}`: one sync per element of every "
                "evaluation batch; copy the batch to the host once (`.cpu()` or `.tolist()`) and loop over that",
                frequency="every-eval",
            )

    def _reports(
        self, analysis: ModuleAnalysis, loop: LoopInfo, scan: Scan, where: str, in_loop: bool, reported: set[int]
    ) -> Iterable[Report]:
        imports = analysis.facts.imports
        for sync in scan.syncs:
            if id(sync.node) in reported or id(sync.node) in scan.control_calls:
                continue
            if sync.assigned is not None and sync.assigned in scan.control_names:
                continue
            reported.add(id(sync.node))
            code = analysis.module.code_for_node(sync.node)
            what = sync.what or f"`{short(code)}`"
            if sync.what and sync.node.func and imports.resolve(sync.node.func) in SYNC_FUNCTIONS:
                reason = SYNC_FUNCTIONS[imports.resolve(sync.node.func)]  # type: ignore[index]
                message = f"{reason}, {where}; remove it from the training step"
            else:
                message = (
                    f"{what} copies a value from the GPU {where}: the CPU waits for all queued GPU work "
                    "before it can queue the next step; keep running values on the device and read them "
                    "every N steps (measured: `loss.item()` every step cost 2 % more GPU energy per step "
                    "on an H100)"
                )
            if sync.guard is not None:
                test, why = sync.guard
                message += f" (it is under `if {short(test)}:`, which is {why})"
            fix = accumulate_fix(analysis, loop, sync) if in_loop and sync.guard is None else None
            yield Report(sync.node, message, fix=fix, frequency="every-step")
        for call, arg, statement in scan.casts:
            if id(call) in reported or contains_sync(arg, imports) or not tensorish(arg, scan, imports):
                continue
            assigned = assigned_name(statement, call)
            if assigned is not None and assigned in scan.control_names:
                continue
            reported.add(id(call))
            code = short(analysis.module.code_for_node(call))
            yield Report(
                call,
                f"`{code}` converts a GPU tensor to a Python number {where}: the CPU waits for all queued "
                "GPU work; keep the value on the device and convert it every N steps",
            )
        for node, guard in scan.formats:
            for value in formatted_tensors(node, scan, imports):
                if id(value) in reported or id(node) in reported:
                    continue
                reported.add(id(value))
                message = (
                    f"formatting the GPU tensor `{short(analysis.module.code_for_node(value))}` as text {where} "
                    "copies it to the host and waits for all queued GPU work; keep running values on the device "
                    "and format them every N steps"
                )
                if guard is not None:
                    message += f" (it is under `if {short(guard[0])}:`, which is {guard[1]})"
                yield Report(value, message, frequency="every-step")
        for call, _statement in scan.prints:
            if id(call) in reported or not print_syncs(call, scan, imports):
                continue
            reported.add(id(call))
            yield Report(
                call,
                f"`print` of a GPU tensor {where}: formatting it copies the value to the host and waits for "
                "the GPU; print every N steps under an `if step % N == 0:` guard",
            )


def _parameter_reports(
    analysis: ModuleAnalysis, loop: LoopInfo, skip: frozenset[int], header: str, reported: set[int]
) -> Iterable[Report]:
    for found in parameter_syncs(analysis, loop, skip):
        if id(found.node) in reported:
            continue
        reported.add(id(found.node))
        code = short(analysis.module.code_for_node(found.node))
        over = short(fixes.loop_header(analysis.module, found.parameter_loop))
        message = (
            f"`{code}` reads a value back from the GPU once per parameter tensor (`{over}`), on every step of "
            f"`{header}`: one blocking sync per tensor, hundreds per step; check all of them at once "
            "(`clip_grad_norm_` returns the total norm: test it once) or leave inf/NaN steps to GradScaler"
        )
        if found.guard is not None:
            message += f" (when `{short(found.guard)}` holds: a test fixed for the whole run)"
        yield Report(found.node, message, frequency="every-step")


def _on_gpu(analysis: ModuleAnalysis) -> bool:
    """The module puts work on a CUDA GPU itself, or a project script imports its training function
    and runs it on one (`train_gan(..., device)` called from main.py with `device = "cuda"`:
    vltkv/Generate-faces-with-GAN@c886e7f training/training.py, blind4). The caller fact is the one
    GL101 uses (advisor/training_callers.py); it is empty when a caller sets reduced precision, which
    only makes this rule miss such a module, never report a CPU one."""
    return analysis.device.uses_gpu or bool(analysis.facts.context.gpu_caller)


def _stepping_outer_loops(analysis: ModuleAnalysis) -> list[tuple[LoopInfo, frozenset[int]]]:
    """Loops that hold a training-step loop and also run a training step of their own, in their own
    body: a super-resolution loop that updates on the whole image, then on each of its crops in an
    inner loop (penguin1109/DACON_LightImageAI DEEPRCAN0731.ipynb cell 23, blind3). The shared
    analysis calls only the inner loop the step loop; the outer loop's own step runs as often. Each
    comes with the ids of the nested training loops its scan must not enter (scanned on their own)."""
    facts = analysis.facts
    result = []
    for loop in facts.loops:
        if not (loop.contains_step_loop and loop.does_backward and loop.does_step):
            continue
        if builds_optimizer_each_iteration(loop) or in_test_function(loop.function):
            continue
        own = [site for site in loop.calls if site.loop is loop]
        if not any(is_backward_call(site) for site in own):
            continue
        if not any(is_optimizer_step(site, facts.optimizer_names) for site in own):
            continue
        nested = frozenset(id(child.node) for child in loop_descendants(loop) if child.does_backward and child.does_step)
        result.append((loop, nested))
    return result


def _inside_loss_prints(analysis: ModuleAnalysis) -> set[int]:
    """ids of the nodes inside the per-step loss prints that GL504 reports, the prints included."""
    deferred = per_step_loss_prints(analysis)
    if not deferred:
        return set()
    return {id(node) for site in analysis.facts.calls if id(site.node) in deferred for node in walk(site.node)}


def _helper_scans(
    facts: ModuleFacts, scan: Scan, depth: int, seen: set[int]
) -> list[tuple[Scan, FunctionInfo]]:
    """Scans of the module's functions that the scanned body calls on every iteration."""
    result: list[tuple[Scan, FunctionInfo]] = []
    if depth > _MAX_HELPER_DEPTH:
        return result
    for call in scan.helpers:
        site_functions = _local_functions(facts, call)
        for function in site_functions:
            if id(function) in seen or _EVALUATION.search(function.name):
                continue  # an evaluation helper returns its metrics: reading them is its purpose
            seen.add(id(function))
            inner = scan_body(function.node.body, facts.imports)
            inner.tensor_names |= _tensor_params(function, call, scan)
            result.append((inner, function))
            result.extend(_helper_scans(facts, inner, depth + 1, seen))
    return result


def _tensor_params(function: FunctionInfo, call: cst.Call, scan: Scan) -> set[str]:
    """The helper's parameters that receive a tensor of the caller (`log_step(loss)`)."""
    params = [p.name.value for p in (*function.node.params.posonly_params, *function.node.params.params)]
    if function.class_name is not None and params and params[0] in ("self", "cls"):
        params = params[1:]
    result: set[str] = set()
    position = 0
    for arg in call.args:
        if arg.star:
            break
        if arg.keyword is not None:
            name = arg.keyword.value
        elif position < len(params):
            name = params[position]
            position += 1
        else:
            continue
        value = arg.value
        if isinstance(value, cst.Name) and value.value in scan.tensor_names and value.value not in scan.host_names:
            result.add(name)
    return result


def _local_functions(facts: ModuleFacts, call: cst.Call) -> list[FunctionInfo]:
    func = call.func
    if isinstance(func, cst.Name):
        if func.value in facts.imports.bindings:
            return []
        return [f for f in facts.functions.get(func.value, []) if f.class_name is None]
    if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value in ("self", "cls"):
        return [f for f in facts.functions.get(func.attr.value, []) if f.class_name is not None]
    return []


RULE = HostDeviceSyncInHotLoop()


# A small workload (rules/analysis/workload.py) runs for minutes: the sync's share of a run that
# short is not worth a change. LANfactory measured "under 1 %" for a per-step `float(loss)` in real
# training (lnccbrown/LANfactory PR #120); the factor puts the estimate there (midpoint of 0-7 % x
# 0.25 = 0.9 %, under the 2 % "medium" level). It is a documented assumption, not a measurement.
SMALL_RUN_FACTOR = 0.25


def _small_run_scale(analysis: ModuleAnalysis) -> Scale | None:
    workload = small_training_workload(analysis)
    if workload is None or not workload.data_known:
        return None  # a small model on data of unknown size may still run for hours
    return Scale(
        SMALL_RUN_FACTOR,
        f"{workload.reason}: a short, launch-bound run, where removing a per-step sync saved under 1 % "
        "in real training (lnccbrown/LANfactory PR #120)",
    )
