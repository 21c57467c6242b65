"""Analysis shared by the GL3xx data-pipeline rules: DataLoaders, tokenizers, what the module trains.

Everything here reads the shared `ModuleFacts` (no second walk of the tree) and is computed only
when a rule asks for it. The pieces:

- `TokenizerFacts`: which calls run a Hugging Face-style tokenizer (`tokenizer(...)`,
  `self.tokenizer.encode(...)`, a name assigned from `AutoTokenizer.from_pretrained`);
- `module_trains` / `runs_several_epochs`: does this module train a model, and more than once
  over the same data;
- small helpers: the values a name is assigned, `def test_*` code, XLA/TPU signals.
What a DataLoader's dataset costs per item (`classify_dataset`) is dataset_cost.py's question.
"""

from __future__ import annotations

import re
from typing import Iterator

import libcst as cst

from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.facts import CallSite, FunctionInfo, ModuleFacts
from greenlint.rules.analysis.training_steps import is_fit_call
from greenlint.rules.analysis.literals import NOT_LITERAL, argument, literal_value
from greenlint.rules.analysis.names import dotted_name, terminal_name
from greenlint.rules.analysis.precision import HF_TRAINERS, HF_TRAINING_ARGUMENTS, LIGHTNING_TRAINERS
from greenlint.rules.analysis.scope_facts import imports_test_code
from greenlint.rules.base import Evidence
from greenlint.rules.analysis.tree import walk

DATA_LOADERS = frozenset(
    {
        "torch.utils.data.DataLoader",
        "torch.utils.data.dataloader.DataLoader",
        "torch_geometric.loader.DataLoader",
        "torch_geometric.data.DataLoader",
    }
)
DATALOADER_POSITIONS = {"dataset": 0, "batch_size": 1, "shuffle": 2, "num_workers": 5, "collate_fn": 6, "pin_memory": 7}

HF_COURSE = "Hugging Face course, chapter 6 (fast vs slow tokenizers, batched Dataset.map timings on the Drug Review dataset)"
GPU_MEASUREMENTS = "greenlint's own H100 measurements (docs/evidence.md#h100-input-pipeline), one run each, about ±5 % noise"

BATCHED_FAST_TOKENIZER = Evidence(
    "a fast tokenizer mapped with batched=True took 10.8 s against 59.2 s one example at a time (about 5.5x)",
    HF_COURSE,
    "doc",
)
SLOW_TOKENIZER = Evidence(
    "the slow (Python) tokenizer took 4 min 41 s batched and 5 min 3 s unbatched on the same data that the fast "
    "tokenizer handled in 10.8 s batched",
    HF_COURSE,
    "doc",
)
TRL_BATCHED = Evidence(
    "TRL maintainers cite 3-5x for batched Rust tokenizers over per-example tokenisation",
    "huggingface/trl PR #1624",
    "issue",
)
WORKERS_MEASURED = Evidence(
    "ResNet-18, batch 128, CPU-side decode and resize per sample: num_workers=0 -> num_workers=8 with "
    "pin_memory=True cut GPU energy per step from 25.7 J to 5.2 J (80 %) and time per step from 190 ms to 25 ms; "
    "with one worker the GPU sat mostly idle at ~135 W",
    GPU_MEASUREMENTS,
    "measured",
)
IDLE_GPU = Evidence(
    "an idle H100 just after work draws ~124 W, about 20 % of peak: a GPU waiting on data still burns energy",
    GPU_MEASUREMENTS,
    "measured",
)

# ---- tokenizers -----------------------------------------------------------------------------------

_TOKENIZER_NAME = re.compile(r"tokeni[sz]er$", re.IGNORECASE)
# Methods that turn text into token ids (decode, pad, convert_ids_to_tokens do not).
ENCODE_METHODS = frozenset(
    {"encode", "encode_plus", "batch_encode_plus", "__call__", "tokenize", "encode_batch", "apply_chat_template"}
)


def _is_tokenizer_constructor(qualname: str | None) -> bool:
    if qualname is None:
        return False
    head, _, last = qualname.rpartition(".")
    if last == "from_pretrained":
        return "Tokenizer" in head.rsplit(".", 1)[-1] and head.startswith(("transformers.", "tokenizers."))
    if last == "from_file":
        return head == "tokenizers.Tokenizer"
    return qualname.startswith("transformers.") and last.endswith(("Tokenizer", "TokenizerFast"))


class TokenizerFacts:
    """Which names in a module hold a tokenizer, and which calls run one."""

    def __init__(self, facts: ModuleFacts) -> None:
        self.facts = facts
        constructors = {id(site.node) for site in facts.calls if _is_tokenizer_constructor(site.qualname)}
        self.names = {name for name, value in facts.assignments if id(value) in constructors}

    def is_tokenizer_expr(self, node: cst.BaseExpression, extra: frozenset[str] = frozenset()) -> bool:
        """`extra`: parameter names known to receive a tokenizer (`partial(fn, tok=tokenizer)`)."""
        name = terminal_name(node)
        if name is None:
            return False
        if isinstance(node, cst.Name) and node.value in extra:
            return True
        if isinstance(node, cst.Name):
            if node.value in self.facts.imports.bindings:
                return False
            if any(f.class_name is None for f in self.facts.functions.get(node.value, [])):
                return False  # a function of the module called `tokenizer`: not an HF tokenizer object
        return name in self.names or bool(_TOKENIZER_NAME.search(name))

    def is_tokenizer_call(self, site: CallSite) -> bool:
        """`tokenizer(text)`, `self.tok.encode(text)`, `tokenizer.batch_encode_plus(texts)`."""
        return self.encodes(site.node)

    def encodes(self, call: cst.Call, extra: frozenset[str] = frozenset()) -> bool:
        func = call.func
        if self.is_tokenizer_expr(func, extra):
            return True
        if isinstance(func, cst.Attribute) and func.attr.value in ENCODE_METHODS:
            if func.attr.value == "apply_chat_template" and literal_value(argument(call, "tokenize")) is False:
                return False
            return self.is_tokenizer_expr(func.value, extra)
        return False


def tokenizer_facts(analysis: ModuleAnalysis) -> TokenizerFacts:
    cached = analysis.__dict__.get("_gl3_tokenizers")
    if cached is None:
        cached = TokenizerFacts(analysis.facts)
        analysis.__dict__["_gl3_tokenizers"] = cached
    return cached


# ---- what the module does --------------------------------------------------------------------------

_TRAINER_CONSTRUCTORS = HF_TRAINERS | LIGHTNING_TRAINERS | frozenset(
    {"trl.SFTTrainer", "trl.DPOTrainer", "trl.RewardTrainer", "trl.GRPOTrainer", "sentence_transformers.SentenceTransformerTrainer"}
)


def module_trains(analysis: ModuleAnalysis) -> bool:
    """The module trains a model: a training loop, a `.fit(...)`, a HF/Lightning/TRL trainer, or a
    call to another project module's training step or loop function."""
    facts = analysis.facts
    if any(loop.does_training for loop in facts.loops):
        return True
    imported = facts.context.step_functions | facts.context.loop_functions
    for site in facts.calls:
        if is_fit_call(site) or (imported and site.qualname in imported):
            return True  # `.fit(...)`, or `train_one_epoch(...)` from another module of the project
        qualname = site.qualname
        if qualname in _TRAINER_CONSTRUCTORS or qualname in HF_TRAINING_ARGUMENTS:
            return True
    return False


def function_called_in_loop(facts: ModuleFacts, function: FunctionInfo, depth: int = 0) -> bool:
    """Whether some loop of the module calls `function` (directly or through up to 3 functions)."""
    if depth > 3:
        return False
    for site in facts.calls:
        if function not in facts.local_functions_called(site):
            continue
        if site.loop is not None:
            return True
        if site.function is not None and site.function is not function:
            if function_called_in_loop(facts, site.function, depth + 1):
                return True
    return False


def runs_several_epochs(analysis: ModuleAnalysis) -> bool:
    """The module goes over its training data more than once: an epoch loop around a training
    step, a function with a training step called in a loop, a Keras `fit`, or a HF/Lightning trainer
    (3 and 1000 epochs by default)."""
    facts = analysis.facts
    for loop in facts.loops:
        if loop.does_training and loop.contains_step_loop:
            return True
        if loop.does_fit:
            return True
        if loop.is_training_step and loop.function is not None and function_called_in_loop(facts, loop.function):
            return True
    for site in facts.calls:
        qualname = site.qualname
        if qualname in _TRAINER_CONSTRUCTORS:
            return True
        if is_fit_call(site):
            epochs = argument(site.node, "epochs")
            if epochs is None or literal_value(epochs) != 1:
                return True
    return False


def in_test_code(site: CallSite) -> bool:
    """Inside a `def test_*` or `*dummy*` function, a class named `*Test*`, or a module that imports a
    test framework: unit tests run once on toy data; they are not where training energy goes."""
    function = site.function
    if function is not None and (function.name.startswith("test") or "dummy" in function.name):
        return True  # `test_*`, and the `get_dummy_inputs` helpers of Hugging Face-style test mixins
    if site.class_name and "Test" in site.class_name:
        return True  # `TestX`, `XTests`, `XTesterConfig`
    return imports_test_code(site.imports)


_XLA_WORDS = re.compile(r"(?<![a-z])(tpu|xla)(?![a-z])")
_XLA_MODULES = ("torch_xla", "jax", "flax", "optax", "tensorflow", "keras", "tf_keras")


def xla_signals(analysis: ModuleAnalysis) -> str | None:
    """A phrase naming why static shapes may be wanted here (TPU/XLA, ONNX export, CUDA graphs,
    a Stable Diffusion-style text encoder), or None."""
    facts = analysis.facts
    for qualname in facts.imports.bindings.values():
        if qualname.split(".", 1)[0] in _XLA_MODULES:
            return f"imports `{qualname.split('.', 1)[0]}`"
        if qualname.split(".", 1)[0] in ("diffusers", "open_clip") or "CLIP" in qualname:
            return "encodes prompts for a CLIP/diffusion text encoder (fixed 77-token context)"
    for site in facts.calls:
        qualname = site.qualname or ""
        if qualname in ("torch.onnx.export", "torch.jit.trace", "torch.cuda.graph", "torch.cuda.CUDAGraph"):
            return f"calls `{qualname}`"
        if qualname == "torch.compile" and literal_value(argument(site.node, "dynamic")) is False:
            return "compiles with `dynamic=False`"
    code = analysis.__dict__.get("_gl3_lower_code")
    if code is None:
        code = analysis.code.lower()
        analysis.__dict__["_gl3_lower_code"] = code
    found = _XLA_WORDS.search(code)
    if found:
        return f"mentions {found.group(1).upper()}"
    if "text_encoder" in code:
        return "feeds a text encoder"
    return None


# ---- names and values -------------------------------------------------------------------------------


def assigned_values(facts: ModuleFacts, name: str) -> list[cst.BaseExpression]:
    """Every value assigned to `name` (or `x.name`) anywhere in the module."""
    return [value for target, value in facts.assignments if target == name]


def bound_once(facts: ModuleFacts, name: str) -> cst.BaseExpression | None:
    """The value of `name` when the module assigns it exactly once, else None."""
    values = assigned_values(facts, name)
    return values[0] if len(values) == 1 else None


def calls_in(node: cst.CSTNode) -> Iterator[cst.Call]:
    for child in walk(node):
        if isinstance(child, cst.Call):
            yield child


def chain_root(node: cst.BaseExpression) -> cst.BaseExpression:
    """The start of a method chain: `a` for `a.b(x).c(y)`, the call `f(x)` for `f(x).b()`."""
    while True:
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            node = node.func.value
        elif isinstance(node, cst.Attribute):
            node = node.value
        elif isinstance(node, cst.Subscript):
            node = node.value
        else:
            return node


_DEVICE_WORDS = re.compile(r"device|^dev$|gpu|cuda|rank$", re.IGNORECASE)


def is_device_expr(node: cst.BaseExpression, facts: ModuleFacts | None = None) -> bool:
    """`"cuda"`, `"cuda:0"`, `device`, `self.device`, `args.gpu`, `x.device`, `torch.device(...)`:
    an expression that names a device (not a dtype, not `"cpu"`)."""
    value = literal_value(node)
    if isinstance(value, str):
        return value.startswith("cuda")
    if isinstance(value, int) and not isinstance(value, bool):
        return True  # a CUDA ordinal
    if value is not NOT_LITERAL:
        return False
    if isinstance(node, cst.Call):
        name = dotted_name(node.func) or ""
        return name.endswith("device") or (facts is not None and facts.imports.resolve(node.func) == "torch.device")
    name = terminal_name(node)
    if name is None:
        return False
    if facts is not None and (facts.imports.resolve(node) or "").startswith("torch.") and "device" not in name:
        return False  # torch.float16 and friends
    return bool(_DEVICE_WORDS.search(name)) and "dtype" not in name.lower()


def moves_to_gpu(node: cst.CSTNode) -> bool:
    """The expression contains `.cuda()`, `.to(<device>)` or a `device=<device>` argument."""
    for call in calls_in(node):
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value == "cuda":
            return True
        if isinstance(func, cst.Attribute) and func.attr.value == "to":
            target = argument(call, "device", 0)
            if target is not None and is_device_expr(target):
                return True
        device = argument(call, "device")
        if device is not None and is_device_expr(device):
            return True
    return False


# ---- DataLoaders ----------------------------------------------------------------------------------


def dataloader_sites(analysis: ModuleAnalysis) -> Iterator[CallSite]:
    for site in analysis.facts.calls:
        if site.qualname in DATA_LOADERS:
            yield site


def loader_argument(call: cst.Call, name: str) -> cst.BaseExpression | None:
    return argument(call, name, DATALOADER_POSITIONS.get(name))


def literal_flag(call: cst.Call, name: str) -> object:
    """A DataLoader argument's literal value; None when absent; NOT_LITERAL when computed."""
    node = loader_argument(call, name)
    if node is None:
        return None
    return literal_value(node)


__all__ = [
    "BATCHED_FAST_TOKENIZER", "DATA_LOADERS", "IDLE_GPU", "SLOW_TOKENIZER", "TRL_BATCHED", "WORKERS_MEASURED",
    "TokenizerFacts", "assigned_values", "calls_in", "chain_root",
    "dataloader_sites", "function_called_in_loop", "in_test_code", "is_device_expr",
    "literal_flag", "loader_argument", "module_trains", "moves_to_gpu", "runs_several_epochs",
    "tokenizer_facts", "walk", "xla_signals",
]
