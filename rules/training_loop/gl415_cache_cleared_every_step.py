"""GL415: `torch.cuda.empty_cache()` or `gc.collect()` on every training step."""

from __future__ import annotations

from collections.abc import Iterable

from greenlint.rules import evidence
from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.facts import CallSite, FunctionInfo
from greenlint.rules.analysis.literals import argument, literal_value
from greenlint.rules.analysis.scope_facts import (
    in_test_function,
    is_test_module,
    training_step_loops,
)
from greenlint.rules.analysis.step_guards import runs_every_step
from greenlint.rules.base import Report, Rule
from greenlint.rules.impact import RuleImpact, WasteSize

_EMPTY_CACHE = (
    "torch.cuda.empty_cache()",
    "hands the allocator's cached blocks back to the driver, so the next step allocates them again through cudaMalloc",
)
# qualified name -> (how it is written, what it costs)
_CLEARS = {
    "torch.cuda.empty_cache": _EMPTY_CACHE,
    "torch.cuda.memory.empty_cache": _EMPTY_CACHE,
    "gc.collect": ("gc.collect()", "runs a full collection over every Python object of the process"),
}
# Hooks that frameworks call once per training step (Lightning, Hugging Face TrainerCallback).
_PER_STEP_HOOKS = frozenset(
    {"training_step", "on_train_batch_start", "on_train_batch_end", "on_before_backward", "on_after_backward",
     "on_before_optimizer_step", "on_before_zero_grad", "on_step_begin", "on_step_end", "on_substep_end"}
)
_HF_ARGUMENTS = frozenset({"transformers.TrainingArguments", "transformers.Seq2SeqTrainingArguments", "trl.SFTConfig"})


class CacheClearedEveryStep(Rule):
    code = "GL415"
    name = "cache-cleared-every-step"
    summary = "`torch.cuda.empty_cache()` or `gc.collect()` runs on every training step"
    detects = """
        A call of `torch.cuda.empty_cache()` or `gc.collect()` that runs on every iteration of a
        training-step loop: directly in the loop, in a function of the module that the loop calls on
        every step, or in a per-step hook (`training_step`, Lightning's `on_train_batch_end`, a
        Hugging Face callback's `on_step_end` ...); and `TrainingArguments(torch_empty_cache_steps=1)`.
        A call under a periodic guard (`if step % 1000 == 0:`), in an `except` handler (an
        out-of-memory fallback), under any other condition than a device test
        (`if torch.cuda.is_available():` is true on every step of a GPU run), in an evaluation loop,
        or in test code is not reported.
    """
    why = """
        PyTorch's caching allocator keeps freed GPU memory for reuse, so a training step normally
        allocates nothing from the driver. Emptying the cache every step gives that memory back and
        the next step allocates it again through cudaMalloc/cudaFree, which synchronise the device;
        it lowers no peak memory that the next step does not reach again. `gc.collect()` walks every
        Python object of the process (millions in a large model's program) each time it runs. Both
        stretch every step while the GPU waits.
    """
    bad_example = """
        import gc
        import torch

        model = Net().cuda()
        opt = torch.optim.AdamW(model.parameters())
        for x, y in loader:
            loss = torch.nn.functional.cross_entropy(model(x.cuda()), y.cuda())
            loss.backward()
            opt.step()
            opt.zero_grad()
            gc.collect()
            torch.cuda.empty_cache()
    """
    good_example = """
        import torch

        model = Net().cuda()
        opt = torch.optim.AdamW(model.parameters())
        for step, (x, y) in enumerate(loader):
            loss = torch.nn.functional.cross_entropy(model(x.cuda()), y.cuda())
            loss.backward()
            opt.step()
            opt.zero_grad()
            if step % 1000 == 0:  # only where fragmentation was seen to cause out-of-memory errors
                torch.cuda.empty_cache()
    """
    fix = """
        Delete the per-step call. If memory fragmentation really causes out-of-memory errors, empty
        the cache every N steps (`if step % N == 0:`, `TrainingArguments(torch_empty_cache_steps=N)`)
        or once after evaluation, or set `PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True`. Python's
        own collector needs no per-step `gc.collect()`; call it after evaluation if at all.
    """
    fix_applicability = None
    evidence = (evidence.EMPTY_CACHE_HF_DOC, evidence.EMPTY_CACHE_PEFT, evidence.GC_COLLECT_PEFT)
    saving_scope = "the time every training step spends re-allocating GPU memory or collecting Python garbage"
    impact = RuleImpact(
        size=WasteSize(
            0.10,
            0.40,
            "10 % (HF TrainingArguments docs, empty_cache every few steps) to 40 % (peft PR #2894: per-step "
            "gc.collect 108 -> 65 s; per-step empty_cache 65 -> 45 s, 31 %) of the training time",
        ),
        frequency="every-step",
    )
    trigger = (("empty_cache", "collect(", "torch_empty_cache_steps"),)

    def check(self, analysis: ModuleAnalysis) -> Iterable[Report]:
        if is_test_module(analysis):
            return
        facts = analysis.facts
        reported: set[int] = set()
        for loop in training_step_loops(analysis):
            for site in loop.calls:
                if id(site.node) in reported or site.function is not loop.function:
                    continue
                what = _clear_phrase(site) or _helper_clear(site, analysis)
                if what and runs_every_step(loop.node, site.node):
                    reported.add(id(site.node))
                    yield _report(site, what, "On every step of this training loop")
        for infos in facts.functions.values():
            for function in infos:
                if function.name in _PER_STEP_HOOKS and function.class_name and not in_test_function(function):
                    for site, what in _clears_in(function):
                        if id(site.node) not in reported:
                            reported.add(id(site.node))
                            yield _report(site, what, f"In `{function.name}`, which the framework calls on every training step")
        for site in facts.calls:
            if site.qualname in _HF_ARGUMENTS and literal_value(argument(site.node, "torch_empty_cache_steps")) == 1:
                yield _report(site, "`torch_empty_cache_steps=1` empties the CUDA cache after every step", "")


def _clear_phrase(site: CallSite) -> str | None:
    found = _CLEARS.get(site.qualname or "")
    return f"`{found[0]}` {found[1]}" if found else None


def _clears_in(function: FunctionInfo) -> list[tuple[CallSite, str]]:
    """The cache clears a function makes each time it runs (not in its loops or under a rare guard)."""
    found = []
    for site in function.calls:
        what = _clear_phrase(site)
        if what and site.loop is None and site.function is function and runs_every_step(function.node.body, site.node):
            found.append((site, what))
    return found


def _helper_clear(site: CallSite, analysis: ModuleAnalysis) -> str | None:
    """`free_memory()` called in the loop, where the module's `free_memory` empties the cache."""
    for function in analysis.facts.local_functions_called(site):
        clears = _clears_in(function)
        if clears:
            written, cost = _CLEARS[clears[0][0].qualname or ""]
            return f"`{function.name}()` calls `{written}`, which {cost},"
    return None


def _report(site: CallSite, what: str, where: str) -> Report:
    text = f"{where}, {what.rstrip(',')}" if where else what
    return Report(
        site.node,
        f"{text}: the step waits for it every time; drop it, or run it every N steps or after evaluation "
        "(removing it saved 23-40 % of a fine-tuning run's time in peft PR #2894)",
        frequency="every-step",
    )


RULE = CacheClearedEveryStep()
