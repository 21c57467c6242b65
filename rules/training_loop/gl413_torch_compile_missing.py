"""GL413: a long PyTorch training run on a GPU, and nothing in the project compiles the model."""

from __future__ import annotations

import re
from collections.abc import Iterable

import libcst as cst
from greenlint.rules import evidence
from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.experiment_facts import (
    configured_source,
    int_value,
    range_length,
)
from greenlint.rules.analysis.facts import LoopInfo, ModuleFacts
from greenlint.rules.analysis.literals import argument, literal_value
from greenlint.rules.analysis.precision import Precision
from greenlint.rules.analysis.scope_facts import (
    intel_cpu_only,
    is_test_module,
    training_step_loops,
)
from greenlint.rules.analysis.training_loop_facts import (
    GPU_WORDS,
    imports_module,
    loop_header,
)
from greenlint.rules.analysis.tree import walk
from greenlint.rules.base import Report, Rule
from greenlint.rules.compile_words import compiles_model
from greenlint.rules.impact import RuleImpact, WasteSize

# A run is long from this many epochs (GL503's "long run"), or this many steps of a step-counted loop, on.
MIN_EPOCHS = 50
MIN_STEPS = 1000
# `cuda = False` / `use_gpu = False`: the script's GPU code is switched off by a literal flag.
_GPU_OFF = re.compile(r"^[ \t]*(?:cuda|use_cuda|use_gpu|gpu|USE_CUDA|USE_GPU|CUDA)\s*=\s*False\b", re.MULTILINE)
# A model built here from literal layer sizes with fewer parameters than this is tiny.
TINY_PARAMETERS = 1_000_000
# Datasets whose whole training run is short whatever the epoch count says.
_SMALL_DATASETS = frozenset({"MNIST", "FashionMNIST", "KMNIST", "EMNIST", "QMNIST", "USPS"})
# Libraries whose capitalised callables are not models (`Compose`, `DataLoader`, `ArgumentParser` ...).
_NOT_MODELS = frozenset(
    {"torch", "torchvision", "torchaudio", "torchtext", "numpy", "pandas", "sklearn", "PIL", "tqdm", "matplotlib",
     "argparse", "pathlib", "collections", "typing", "dataclasses", "logging", "wandb", "tensorboardX", "datetime",
     "albumentations", "cv2", "scipy", "enum", "functools", "itertools", "random", "os", "sys", "json", "time", "math"}
)
_MODEL_BUILDERS = ("torchvision.models", "timm", "transformers", "segmentation_models_pytorch", "ultralytics")


class TorchCompileMissing(Rule):
    code = "GL413"
    name = "torch-compile-missing"
    summary = "A long PyTorch training run on a GPU, and nothing in the project calls `torch.compile`"
    detects = """
        A training-step loop (backward and an optimizer step) in a module that puts work on a CUDA
        GPU, when the run is known to be long: an epoch loop over `range(N)` with N >= 50 (the "long
        run" of GL503), or a step
        loop over `range(N)` / `while step < N` with N >= 1000 (N written out or a known configured
        default). An unknown length is not reported: the compile time is only repaid by a long run.
        Silent when any file of the project (not only this one) mentions `torch.compile`,
        `model.compile()`, `torch._dynamo`, TorchScript, Hugging Face `torch_compile` or a `compile`
        option; when the loop trains in float32 with no mixed precision at all (GL101 reports that
        first: autocast saves more, and compiling is the next step); when a literal flag switches the GPU off (`cuda = False`); when the model is tiny (built here from layers of known size with under 1 M
        parameters, and no zoo or imported model class) or trains on MNIST-sized data; on TPU/XLA and
        Intel CPU runs; in test code. One finding per training loop. PyTorch >= 2.0 is assumed unless
        the project pins an older release (`torch==1.13.1` in a requirements file, setup file or
        README: advisor/pinned_versions.py), which is then silent.
    """
    why = """
        In eager mode every operation is a separate kernel launch that reads its inputs from GPU
        memory and writes its output back. `torch.compile` traces the forward and backward passes
        once and generates fused kernels (elementwise chains, normalisations, activations), so each
        step moves less data and launches fewer kernels. The first steps pay the compilation; a run
        of many epochs repays it many times over.
    """
    bad_example = """
        import torch

        model = Transformer(vocab_size=32000, d_model=768, n_layers=12).cuda()
        opt = torch.optim.AdamW(model.parameters())
        for epoch in range(100):
            for x, y in loader:
                with torch.autocast("cuda", dtype=torch.bfloat16):
                    loss = torch.nn.functional.cross_entropy(model(x.cuda()), y.cuda())
                loss.backward()
                opt.step()
                opt.zero_grad()
    """
    good_example = """
        import torch

        model = Transformer(vocab_size=32000, d_model=768, n_layers=12).cuda()
        model = torch.compile(model)
        opt = torch.optim.AdamW(model.parameters())
        for epoch in range(100):
            for x, y in loader:
                with torch.autocast("cuda", dtype=torch.bfloat16):
                    loss = torch.nn.functional.cross_entropy(model(x.cuda()), y.cuda())
                loss.backward()
                opt.step()
                opt.zero_grad()
    """
    fix = """
        Compile the model once after moving it to the GPU: `model = torch.compile(model)` (or
        `model.compile()`), before wrapping it in DDP. Check the first steps' speed and the loss
        curve; inputs whose shapes change every step recompile (pad to a few fixed sizes, or pass
        `dynamic=True`), and code that breaks the graph (data-dependent Python control flow,
        `.item()` in `forward`) compiles into pieces. Not an autofix: whether a model compiles cleanly
        has to be tried.
    """
    fix_applicability = None
    evidence = (evidence.COMPILE_PT2_BENCHMARK, evidence.COMPILE_WARMUP)
    saving_scope = "the GPU time of every training step (kernel fusion and fewer launches)"
    impact = RuleImpact(
        size=WasteSize(
            0.17,
            0.34,
            "torch.compile trained 163 models 21 % (float32) to 51 % (AMP) faster on an A100 (PyTorch 2.0 "
            "benchmark): 17-34 % less time per step",
        ),
        frequency="run-wide",
    )
    trigger = (("backward(",), ("step(",), GPU_WORDS)

    def could_match(self, text: str) -> bool:
        # the project index adds "torch.compile" to the text when another project file compiles
        return super().could_match(text) and not compiles_model(text)

    def check(self, analysis: ModuleAnalysis) -> Iterable[Report]:
        facts = analysis.facts
        code = analysis.code
        if facts.context.compiled_in or compiles_model(code) or not analysis.device.uses_gpu or _GPU_OFF.search(code):
            return
        if is_test_module(analysis) or intel_cpu_only(analysis) or imports_module(analysis, "torch_xla"):
            return
        if facts.context.pinned_below("torch", (2, 0)):
            return  # the project pins PyTorch 1.x, which has no torch.compile
        loops = training_step_loops(analysis)
        if not loops or analysis.precision.state is Precision.OFF or _small_run(analysis):
            return  # in float32, GL101's mixed precision is the larger saving and comes first
        for loop in loops:
            length = _run_length(loop, analysis)
            if length is None:
                continue
            yield Report(
                loop.node,
                f"`{loop_header(analysis, loop)}` trains on the GPU for {length} and nothing in the project "
                "compiles the model; `model = torch.compile(model)` fuses its kernels (the PyTorch 2.0 "
                "benchmark: 163 models trained 21-51 % faster on an A100)",
                end_node=loop.node.iter if isinstance(loop.node, cst.For) else loop.node.test,
                frequency="run-wide",
            )


def _run_length(loop: LoopInfo, analysis: ModuleAnalysis) -> str | None:
    """"100 epochs" / "5000 steps" (with where a configured value comes from) when the run is known
    to be long; None when it is short or unknown."""
    facts = analysis.facts
    node = loop.node
    steps = None
    if isinstance(node, cst.For):
        steps = range_length(node.iter, facts)
        source = _stop_source(node.iter, facts)
    elif isinstance(node.test, cst.Comparison) and len(node.test.comparisons) == 1:
        comparison = node.test.comparisons[0]
        if isinstance(comparison.operator, (cst.LessThan, cst.LessThanEqual)):
            steps = int_value(comparison.comparator, facts)
            source = configured_source(comparison.comparator, facts)
    if steps is not None and steps >= MIN_STEPS:
        return f"{steps} steps" + (f" by default ({source})" if source else "")
    for outer in loop.enclosing()[1:]:
        if isinstance(outer.node, cst.For):
            epochs = range_length(outer.node.iter, facts)
            if epochs is not None:
                source = _stop_source(outer.node.iter, facts)
                return f"{epochs} epochs" + (f" by default ({source})" if source else "") if epochs >= MIN_EPOCHS else None
    return None


def _stop_source(iterable: cst.BaseExpression, facts: ModuleFacts) -> str | None:
    """Where the configured stop of `range(start, stop)` comes from (the start is usually 0)."""
    if isinstance(iterable, cst.Call) and iterable.args:
        stop = iterable.args[1] if len(iterable.args) >= 2 else iterable.args[0]
        return configured_source(stop.value, facts)
    return None


def _small_run(analysis: ModuleAnalysis) -> bool:
    """MNIST-sized data, or a tiny model built here (see the rule's `detects`)."""
    parameters = 0
    layer_calls: set[int] = set()
    for site in analysis.facts.calls:
        qualname = site.qualname or ""
        if qualname.startswith("torchvision.datasets.") and qualname.rsplit(".", 1)[-1] in _SMALL_DATASETS:
            return True
    for site in analysis.facts.calls:
        qualname = site.qualname or ""
        if qualname.startswith(_MODEL_BUILDERS) or site.attr in ("from_pretrained", "create_model"):
            return False
        if qualname and qualname.split(".", 1)[0] not in _NOT_MODELS and qualname.rsplit(".", 1)[-1][:1].isupper():
            return False  # perhaps a model class from another module: its size is unknown here
        if qualname.startswith("torch.nn."):
            count = _layer_parameters(qualname.rsplit(".", 1)[-1], site.node)
            if count is None:
                return False
            if count:
                if site.loop is not None:
                    return False  # built in a loop: how many is unknown
                layer_calls.add(id(site.node))
                parameters += count
    if not parameters or parameters >= TINY_PARAMETERS or "deepcopy" in analysis.code:
        return False
    for node in walk(analysis.module):  # a layer built in a comprehension repeats an unknown number of times
        comprehension = isinstance(node, (cst.ListComp, cst.GeneratorExp, cst.SetComp, cst.DictComp))
        if comprehension and any(id(inner) in layer_calls for inner in walk(node)):
            return False
    return True


def _layer_parameters(layer: str, call: cst.Call) -> int | None:
    """Parameters of one `torch.nn` layer from literal sizes: 0 for layers without (many)
    parameters, None when a size is not a literal."""
    sizes = {
        "Linear": ("in_features", "out_features"), "Bilinear": ("in1_features", "out_features"),
        "Embedding": ("num_embeddings", "embedding_dim"),
        "Conv1d": ("in_channels", "out_channels", "kernel_size"), "Conv2d": ("in_channels", "out_channels", "kernel_size"),
        "Conv3d": ("in_channels", "out_channels", "kernel_size"),
        "LSTM": ("input_size", "hidden_size"), "GRU": ("input_size", "hidden_size"), "RNN": ("input_size", "hidden_size"),
        "MultiheadAttention": ("embed_dim",),
    }.get(layer)
    if sizes is None:
        return None if layer.startswith("Transformer") else 0
    values = []
    for position, keyword in enumerate(sizes):
        value = literal_value(argument(call, keyword, position))
        if isinstance(value, (tuple, list)) and value and all(isinstance(v, int) for v in value):
            product = 1
            for v in value:
                product *= v
            value = product
        if not isinstance(value, int) or isinstance(value, bool):
            return None
        values.append(value)
    if layer.startswith("Conv"):
        kernel = values[2] ** int(layer[4]) if literal_value(argument(call, "kernel_size", 2)) == values[2] else values[2]
        return values[0] * values[1] * kernel + values[1]
    if layer in ("LSTM", "GRU", "RNN"):
        gates = {"LSTM": 4, "GRU": 3, "RNN": 1}[layer]
        layers = literal_value(argument(call, "num_layers", 2))
        layers = layers if isinstance(layers, int) else 1
        return gates * (values[0] * values[1] + values[1] * values[1] + 2 * values[1]) * layers
    if layer == "MultiheadAttention":
        return 4 * values[0] * values[0]
    if layer == "Bilinear":
        return values[0] * values[0] * values[1]
    return values[0] * values[1] + (values[1] if layer == "Linear" else 0)


RULE = TorchCompileMissing()
