"""Training-configuration facts shared by the GL5 experiment rules (GL502-GL506) and a few others:
how many epochs or steps a run is configured for (`int_value`, `range_length`, and where a
configured value comes from, `configured_source`), which trainers and Keras `fit` calls it uses,
its callbacks, and whether the code is a test or a demo on a cut-down dataset. Names are followed
to their one assignment in the module (`follow`, `assigned_value`); anything not written out is
unknown, never guessed.

How many fits a hyper-parameter search runs is search_fits.py's question (it reuses `follow`).
"""

from __future__ import annotations

import libcst as cst
from greenlint.rules.analysis.facts import CallSite, ModuleFacts
from greenlint.rules.analysis.literals import (
    argument,
    literal_value,
    resolved_value,
    value_source,
)
from greenlint.rules.analysis.names import terminal_name
from greenlint.rules.analysis.scope_facts import imports_test_code

_MAX_NAME_DEPTH = 3


def assigned_value(name: str, facts: ModuleFacts) -> cst.BaseExpression | None:
    """The value of `name` when the module assigns it exactly once (`name = value`)."""
    values = [value for target, value in facts.assignments if target == name]
    return values[0] if len(values) == 1 else None


def follow(node: cst.BaseExpression | None, facts: ModuleFacts, depth: int = 0) -> cst.BaseExpression | None:
    while isinstance(node, cst.Name) and depth < _MAX_NAME_DEPTH:
        if node.value in facts.imports.bindings:
            return node
        node = assigned_value(node.value, facts)
        depth += 1
    return node


# ---- training configuration facts shared by GL502-GL504 -------------------------------------------

KERAS_ROOTS = ("keras", "tensorflow", "tf_keras")
HF_TRAINING_ARGS = frozenset(
    {
        "transformers.TrainingArguments", "transformers.Seq2SeqTrainingArguments",
        "transformers.training_args.TrainingArguments", "transformers.training_args_seq2seq.Seq2SeqTrainingArguments",
        "trl.SFTConfig", "trl.DPOConfig", "trl.RewardConfig", "trl.ORPOConfig", "trl.KTOConfig", "trl.CPOConfig",
        "sentence_transformers.SentenceTransformerTrainingArguments",
        "sentence_transformers.training_args.SentenceTransformerTrainingArguments",
        "setfit.TrainingArguments",
    }
)
LIGHTNING_TRAINERS = frozenset(
    {
        "lightning.Trainer", "lightning.pytorch.Trainer", "pytorch_lightning.Trainer",
        "lightning.pytorch.trainer.Trainer", "pytorch_lightning.trainer.Trainer",
        "lightning.pytorch.trainer.trainer.Trainer", "pytorch_lightning.trainer.trainer.Trainer",
    }
)


def imports_any(facts: ModuleFacts, roots: tuple[str, ...]) -> bool:
    return any(value.split(".", 1)[0] in roots for value in facts.imports.bindings.values())


def keras_epochs(call: cst.Call) -> cst.BaseExpression | None:
    """A Keras fit's epoch count: `epochs=`, or Keras 1's `nb_epoch=` (stratospark/food-101-keras,
    2017: `fit_generator(..., samples_per_epoch=..., nb_epoch=100)`, blind33 post hoc)."""
    found = argument(call, "epochs")
    return found if found is not None else argument(call, "nb_epoch")


def is_keras_fit(site: CallSite, facts: ModuleFacts) -> bool:
    """`model.fit(...)` (or Keras 2's `fit_generator`) in a module that imports Keras/TensorFlow,
    with an `epochs=` (Keras 1: `nb_epoch=`) argument."""
    return site.attr in ("fit", "fit_generator") and site.is_method_call and keras_epochs(site.node) is not None and imports_any(facts, KERAS_ROOTS)


def is_hf_trainer(qualname: str | None) -> bool:
    if qualname is None:
        return False
    root, _, name = qualname.partition(".")
    return root in ("transformers", "trl", "sentence_transformers", "setfit") and name.rsplit(".", 1)[-1].endswith("Trainer")


def call_names_lower(facts: ModuleFacts) -> set[str]:
    """The called names of the module (`save_checkpoint`, `EarlyStopping` ...), lower-cased."""
    names = set()
    for site in facts.calls:
        attr = site.attr
        if attr is not None:
            names.add(attr.lower())
    return names


_EARLY_STOPPING_CALLBACKS = frozenset({"EarlyStopping", "EarlyStoppingCallback"})


def stops_early(facts: ModuleFacts) -> bool:
    """The module builds an early-stopping callback (Keras `EarlyStopping`, the Hugging Face
    `EarlyStoppingCallback`, Lightning's `EarlyStopping`): `fit(epochs=100)` then stops when the
    validation loss does, and a tutorial's 700 images stop after a dozen epochs (the long-run
    detection reads such a length as a cap; GL503 says "up to")."""
    return any(site.attr in _EARLY_STOPPING_CALLBACKS for site in facts.calls)


def fit_stops_early(call: cst.Call, facts: ModuleFacts) -> bool:
    """Whether this `fit(..., callbacks=...)` can stop early: its callbacks hold an early-stopping
    callback, or cannot be read (then the module-wide answer, `stops_early`). A two-stage Keras
    script (keras-yolo3: 50 frozen epochs with a checkpoint only, then 50 with `EarlyStopping`)
    runs its first stage to the end whatever the second does."""
    if not stops_early(facts):
        return False
    callbacks = argument(call, "callbacks")
    return callbacks is not None and _may_hold_early_stopping(callbacks, facts)


def _may_hold_early_stopping(node: cst.BaseExpression, facts: ModuleFacts) -> bool:
    node = follow(node, facts)
    if isinstance(node, (cst.List, cst.Tuple)):
        return any(isinstance(e, cst.StarredElement) or _may_hold_early_stopping(e.value, facts) for e in node.elements)
    if isinstance(node, cst.Call):
        name = terminal_name(node.func) or ""
        if name[:1].isupper():  # a callback built here: `ModelCheckpoint(...)`, `EarlyStopping(...)`
            return "Stop" in name
    return True  # `callbacks=get_callbacks(cfg)`, a list grown by `append`: not readable here


def mentions(facts: ModuleFacts, words: tuple[str, ...]) -> bool:
    """Whether a called name, a defined class or function, or an assigned attribute contains one of
    `words` (lower-case, underscores ignored)."""
    def norm(text: str) -> str:
        return text.lower().replace("_", "")

    candidates = {norm(n) for n in call_names_lower(facts)}
    candidates |= {norm(n) for n in facts.classes}
    candidates |= {norm(n) for n in facts.functions}
    candidates |= {norm(n) for n, _ in facts.assignments}
    return any(word in c for c in candidates for word in words)


def int_value(node: cst.BaseExpression | None, facts: ModuleFacts, depth: int = 0) -> int | None:
    """An integer written out in the module: a literal, a name assigned once to one, or + - * of those."""
    if node is None or depth > _MAX_NAME_DEPTH:
        return None
    if isinstance(node, cst.Name):
        if node.value in facts.imports.bindings:
            # `from constants import NUM_EPOCHS`: the project-wide configuration knows its value
            value = resolved_value(node)
            return value if type(value) is int else None
        assigned = assigned_value(node.value, facts)
        if assigned is not None:
            return int_value(assigned, facts, depth + 1)
        # a parameter: the value every caller passes, in the module or from the script that
        # calls it with its parsed options (`train(model, args.epochs)`; config_values)
        value = resolved_value(node)
        return value if type(value) is int else None
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, (cst.Add, cst.Subtract, cst.Multiply)):
        left, right = int_value(node.left, facts, depth + 1), int_value(node.right, facts, depth + 1)
        if left is None or right is None:
            return None
        if isinstance(node.operator, cst.Add):
            return left + right
        if isinstance(node.operator, cst.Subtract):
            return left - right
        return left * right
    # a configured default (`args.epochs`, `cfg["epochs"]`): the run's length unless overridden
    value = resolved_value(node)
    return value if type(value) is int else None


def configured_source(node: cst.BaseExpression | None, facts: ModuleFacts, depth: int = 0) -> str | None:
    """Where the configured value that `int_value` read comes from (`--epochs` defaults to 100
    (train.py:9)), following the same names and `range(...)` arguments; None for literals."""
    if node is None or depth > _MAX_NAME_DEPTH:
        return None
    if isinstance(node, cst.Name) and node.value not in facts.imports.bindings:
        followed = assigned_value(node.value, facts)
        if followed is not None:
            return configured_source(followed, facts, depth + 1)
    if isinstance(node, cst.BinaryOperation):
        return configured_source(node.left, facts, depth + 1) or configured_source(node.right, facts, depth + 1)
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "range":
        # the stop argument sets the length (`range(opt.epoch, opt.n_epochs)`): name it first
        ordered = list(node.args[1:2]) + list(node.args[:1]) + list(node.args[2:])
        found = [f for f in (configured_source(arg.value, facts, depth + 1) for arg in ordered) if f]
        return "; ".join(found) if found else None
    return value_source(node)


def range_length(node: cst.BaseExpression, facts: ModuleFacts) -> int | None:
    """The number of iterations of `range(N)` / `range(a, N)` / `range(a, N, s)` written out in the module."""
    if not (isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "range"):
        return None
    if "range" in facts.imports.bindings or not 1 <= len(node.args) <= 3 or any(a.keyword or a.star for a in node.args):
        return None
    values = [int_value(a.value, facts) for a in node.args]
    if any(v is None for v in values):
        return None
    try:
        return len(range(*values))  # type: ignore[arg-type]
    except ValueError:
        return None


def list_elements(node: cst.BaseExpression | None, facts: ModuleFacts) -> list[cst.BaseExpression] | None:
    """The elements of a literal list/tuple (followed through one assignment), [] when absent,
    None when unknown (a call, a parameter, a starred element)."""
    if node is None:
        return []
    node = follow(node, facts)
    if isinstance(node, (cst.List, cst.Tuple)):
        if any(not isinstance(e, cst.Element) for e in node.elements):
            return None
        return [e.value for e in node.elements]
    if literal_value(node) is None:
        return []
    return None


def known_callback(node: cst.BaseExpression, facts: ModuleFacts) -> str | None:
    """The qualified name of a callback built from a library class (`ModelCheckpoint(...)`, or a
    name assigned once from one); None when it comes from anything the module does not show."""
    node = follow(node, facts)
    if isinstance(node, cst.Call):
        return facts.imports.resolve(node.func)
    return None


def in_test_code(site: CallSite | None = None, function=None) -> bool:
    """Inside a pytest-style test (`def test_...`, `class Test...`): tests run tiny, deliberate
    configurations, not training jobs."""
    if function is None and site is not None:
        function = site.function
    class_name = site.class_name if site is not None else (function.class_name if function is not None else None)
    if function is not None and function.name.startswith("test"):
        return True
    return class_name is not None and class_name.startswith("Test")


def is_test_module(facts: ModuleFacts) -> bool:
    """A module that imports a test framework or test helpers: a test suite, whose training runs are
    tiny on purpose."""
    return imports_test_code(facts.imports)


def shrinks_dataset(facts: ModuleFacts, limit: int = 1000) -> bool:
    """`dataset.select(range(20))`, `.take(100)`: the module cuts its data to a demo-sized sample."""
    for site in facts.calls:
        if site.attr in ("select", "take") and site.is_method_call and len(site.node.args) == 1:
            value = site.node.args[0].value
            length = range_length(value, facts) if isinstance(value, cst.Call) else int_value(value, facts)
            if length is not None and 0 < length <= limit:
                return True
    return False
