"""How heavy the model a module trains is, and which framework a `.fit` call belongs to (GL502, GL503).

On the development corpus (bench/blind_judgements.toml), 26 of 30 GL502 findings and 7 of 10 GL503
findings were Keras fits of small dense networks (MNIST/IMDB/Reuters/Boston/Titanic as multi-hot or
tabular vectors): 20-130 epochs of a few seconds each, run on purpose to show overfitting. The true
positives all trained convolutional, recurrent or attention models. `keras_model_weight` tells the
two apart from the layers the module builds; anything it cannot see (a model loaded from disk or
built in another module) is "unknown", and the rules keep reporting then.

`fit_framework` answers the other GL503 complaint: a `.fit(epochs=...)` on an sklearn, XGBoost,
LightGBM or CatBoost estimator or on a class the module defines is not a Keras fit, and the Keras
callbacks are the wrong advice for it.
"""

from __future__ import annotations

import re

import libcst as cst
from greenlint.rules.analysis.experiment_facts import int_value, range_length
from greenlint.rules.analysis.names import terminal_name
from greenlint.rules.analysis.facts import CallSite, LoopInfo, ModuleFacts

# Keras layers whose cost per sample is a few small matrix products at most: a network made only of
# these on vector data trains in seconds per epoch.
_LIGHT_LAYERS = frozenset(
    {
        "Dense", "Dropout", "Flatten", "Activation", "BatchNormalization", "LayerNormalization", "Input",
        "InputLayer", "Embedding", "Normalization", "Rescaling", "Reshape", "Concatenate", "Add",
        "GaussianNoise", "GaussianDropout", "AlphaDropout", "ActivityRegularization", "ReLU", "LeakyReLU",
        "Softmax", "PReLU", "ELU", "TextVectorization", "CategoryEncoding", "StringLookup", "IntegerLookup",
        "Discretization", "Hashing", "GlobalAveragePooling1D", "GlobalMaxPooling1D", "Sequential", "Model",
    }
)
# Layer or model names (lower-case, underscores removed) that make each step expensive: convolutions,
# recurrent cells, attention, transformers and pretrained application models. "conv" must not be
# followed by "ert" (`tf.convert_to_tensor`); "vit" only starts a name (`ViTModel`, not `gravity`).
_HEAVY_NAME = re.compile(
    r"conv(?!ert)|lstm|gru|rnn|attention|transformer|resnet|efficientnet|vgg|mobilenet|inception|xception"
    r"|densenet|nasnet|regnet|bert|gpt|^vit|unet|keraslayer|frompretrained|frompreset"
)
# Calls that bring in a model the module does not build: its size is unknown.
_OPAQUE_MODEL_CALLS = ("load_model", "load", "from_config", "model_from_json", "clone_model")
_KERAS_ROOTS = ("keras", "tensorflow", "tf_keras", "keras_nlp", "keras_hub", "tensorflow_hub")

# Estimators whose `fit` is not Keras: the libraries that define them.
_NON_KERAS_ROOTS = ("sklearn", "xgboost", "lightgbm", "catboost", "skorch", "statsmodels", "pytorch_tabnet")


def _keras_call(site: CallSite) -> bool:
    qualname = site.qualname
    return qualname is not None and qualname.split(".", 1)[0] in _KERAS_ROOTS


def keras_model_weight(facts: ModuleFacts) -> str:
    """"heavy" when the module builds a convolutional, recurrent, attention or pretrained model;
    "light" when every Keras layer it builds is a dense-network layer (`Dense`, `Dropout` ...);
    "unknown" when it builds no Keras layer or loads a model from elsewhere."""
    light = False
    for site in facts.calls:
        name = site.attr or ""
        lowered = name.lower().replace("_", "")
        if _HEAVY_NAME.search(lowered) or _builds_application(site.node):
            return "heavy"
        if not _keras_call(site):
            continue
        if name in _OPAQUE_MODEL_CALLS:
            return "unknown"
        if name in _LIGHT_LAYERS:
            light = True
    # a subclassed layer or model may hold anything (its calls are above, but the class may
    # wrap a layer from another module): only the plain dense case counts as light
    if "call" in facts.functions:
        return "unknown"
    return "light" if light else "unknown"


def _builds_application(call: cst.Call) -> bool:
    """`name_model(include_top=False, weights="imagenet")`: a Keras application network (ResNet,
    VGG, MobileNet ...) built through a parameter or variable, so its name is not in the call."""
    for arg in call.args:
        keyword = arg.keyword.value if arg.keyword is not None else None
        if keyword == "include_top":
            return True
        if keyword == "weights" and isinstance(arg.value, cst.SimpleString) and "imagenet" in arg.value.value:
            return True
    return False


def fit_framework(site: CallSite, facts: ModuleFacts) -> str:
    """Which library's `fit` `site` calls: "other" when its receiver was built from an sklearn,
    XGBoost, LightGBM or CatBoost estimator or from a class the module defines that is not a Keras
    model; "keras" otherwise (the caller has already checked the module imports Keras)."""
    receiver = site.receiver
    if not isinstance(receiver, cst.Name):
        return "keras"
    values = [value for target, value in facts.assignments if target == receiver.value]
    if len(values) != 1 or not isinstance(values[0], cst.Call):
        return "keras"
    constructor = values[0]
    qualname = facts.imports.resolve(constructor.func)
    if qualname is not None and qualname.split(".", 1)[0] in _NON_KERAS_ROOTS:
        return "other"
    if isinstance(constructor.func, cst.Name) and constructor.func.value in facts.classes:
        bases = facts.class_bases(constructor.func.value)
        if not any(base.split(".", 1)[0] in _KERAS_ROOTS or base.endswith("Model") for base in bases):
            return "other"
    return "keras"


def epoch_loop_length(loop: LoopInfo, facts: ModuleFacts) -> int | None:
    """Iterations of an epoch loop (a loop around a training-step loop, inline or in a function of
    the module it calls) over a range whose bounds are written out or configured."""
    # a loop around a training-step loop trains, also when the step loop is a function of another
    # module (`train_one_epoch` imported from engine.py sets only `contains_step_loop`)
    if not isinstance(loop.node, cst.For) or not loop.contains_step_loop:
        return None
    # the innermost epoch loop: an outer loop of runs or seeds around it is not the epoch loop
    stack = list(loop.children)
    while stack:
        child = stack.pop()
        if child.contains_step_loop:
            return None
        stack.extend(child.children)
    length = range_length(loop.node.iter, facts)
    if length is None:
        length = _from_scratch_length(loop.node.iter, facts)
    return length


def _from_scratch_length(iterable: cst.BaseExpression, facts: ModuleFacts) -> int | None:
    """`range(args.start_epoch, args.epochs)` whose start is rebound when resuming: a run from
    scratch starts at 0, so it runs `stop` epochs."""
    if not (isinstance(iterable, cst.Call) and isinstance(iterable.func, cst.Name) and iterable.func.value == "range"):
        return None
    if len(iterable.args) != 2 or any(a.keyword or a.star for a in iterable.args):
        return None
    start_name = (terminal_name(iterable.args[0].value) or "").lower()
    if not any(word in start_name for word in ("start", "begin", "epoch")):
        return None
    return int_value(iterable.args[1].value, facts)
