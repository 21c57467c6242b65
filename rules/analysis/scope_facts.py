"""Is this code training code? Facts every family uses to stay silent on tests, numerics checks and
library code, where advice about training energy does not apply.

- `is_test_module`: the module imports a test framework or a project's test package.
- `in_test_function`: the code sits in a `test_*` function or a `Test*` class (test suites that
  import no framework: Lightning's tests run under pytest without importing it).
- `training_step_loops`: the training-step loops of the module, without the loops that build a new
  optimizer on every iteration (numerics checks and benchmarks: no optimizer state survives an
  iteration, so nothing is being trained).
- `module_trains`: the module trains something itself (a training-step loop, Keras `fit`, a
  Hugging Face or Lightning trainer).
- `intel_cpu_only`: the module trains with Intel Extension for PyTorch and names no CUDA device.
"""

from __future__ import annotations

from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.facts import FunctionInfo, LoopInfo
from greenlint.rules.analysis.training_steps import OPTIMIZER_FACTORIES, is_fit_call
from greenlint.rules.analysis.names import ImportTable, terminal_name
from greenlint.rules.analysis.precision import HF_TRAINERS, HF_TRAINING_ARGUMENTS, LIGHTNING_TRAINERS

# Imports that only test code makes: test frameworks and the testing helpers of ML libraries
# (peft's tests/training scripts import `transformers.testing_utils` and no test framework). Not
# `accelerate.test_utils`: Accelerate's own training examples import its mocked dataloaders under
# an `if` for their CI.
TEST_IMPORTS = (
    "pytest", "unittest", "torch.testing._internal", "absl.testing", "hypothesis",
    "transformers.testing_utils", "diffusers.utils.testing_utils",
)
# testing helpers that training scripts import too: Hugging Face's run_clm.py example, copied into
# countless fine-tuning scripts, catches the tokenizer's warnings with `CaptureLogger`
NOT_TEST_ONLY = frozenset({"transformers.testing_utils.CaptureLogger"})


def imports_test_code(imports: ImportTable) -> bool:
    """A test framework or testing helper, or a project's own test package (`tests`, `tests_pytorch`:
    Lightning's shared test models import it and nothing else test-like)."""
    for qualname in imports.bindings.values():
        if qualname in NOT_TEST_ONLY:
            continue
        if any(qualname == prefix or qualname.startswith(prefix + ".") for prefix in TEST_IMPORTS):
            return True
        head = qualname.split(".", 1)[0]
        if head == "tests" or head.startswith("tests_"):
            return True
    return False


def is_test_module(analysis: ModuleAnalysis) -> bool:
    return imports_test_code(analysis.facts.imports)


def in_test_function(function: FunctionInfo | None, class_name: str | None = None) -> bool:
    if function is not None and function.name.startswith("test"):
        return True
    class_name = class_name if class_name is not None else (function.class_name if function is not None else None)
    return class_name is not None and class_name.startswith("Test")


def builds_optimizer_each_iteration(loop: LoopInfo) -> bool:
    """`for i in range(n): ...; opt = torch.optim.SGD(...); opt.step()`: a fresh optimizer per
    iteration keeps no state from one step to the next. Training never does that; numerics checks
    that compare one update of two models do (torch's `_inductor/fx_passes/numeric_utils.py`)."""
    for site in loop.calls:
        qualname = site.qualname
        if qualname is not None and qualname.startswith(OPTIMIZER_FACTORIES) and "lr_scheduler" not in qualname:
            return True
    return False


def training_step_loops(analysis: ModuleAnalysis) -> list[LoopInfo]:
    """Training-step loops, without numerics checks and loops in test functions."""
    return [
        loop
        for loop in analysis.facts.loops
        if loop.is_training_step and not builds_optimizer_each_iteration(loop) and not in_test_function(loop.function)
    ]


_TRAINER_CLASSES = HF_TRAINERS | LIGHTNING_TRAINERS | HF_TRAINING_ARGUMENTS


def module_trains(analysis: ModuleAnalysis) -> bool:
    """The module trains a model itself: a training-step loop, `fit(...)`, or a Hugging Face or
    Lightning trainer (or its training arguments)."""
    if training_step_loops(analysis):
        return True
    for site in analysis.facts.calls:
        if is_fit_call(site) or site.qualname in _TRAINER_CLASSES:
            return True
        if site.attr == "train" and site.receiver is not None and "trainer" in (terminal_name(site.receiver) or "").lower():
            return True  # `trainer.train()`
    return False


def intel_cpu_only(analysis: ModuleAnalysis) -> bool:
    """Trains with Intel Extension for PyTorch and never names a CUDA device, a `torch.cuda` API or
    `.cuda()`: an Intel CPU run (the `Accelerator` it may use is no GPU evidence then)."""
    facts = analysis.facts
    if not any(q.split(".", 1)[0] == "intel_extension_for_pytorch" for q in facts.imports.bindings.values()):
        return False
    if facts.cuda_strings:
        return False
    if any(q.startswith(("torch.cuda", "torch.backends.cudnn")) for q, _ in facts.watched_attributes):
        return False
    return not any(site.attr == "cuda" and site.is_method_call for site in facts.calls)
