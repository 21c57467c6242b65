"""Keras models whose first layer is a frozen pretrained backbone (GL313).

A model built as `Sequential([frozen_base, head...])` or `Model(inputs=base.input, outputs=head)`
with `base.trainable = False` computes the same base features for every image on every epoch of
`fit`, as long as nothing random happens to the images before the base. This module answers two
questions from the syntax alone:

- `frozen_backbone(model, facts)`: is the model an expression names (`m`, `build(MobileNet)`) such a
  model? Names are followed through their assignments (all of them must agree) and a local function
  through its `return`.
- `random_augmentation(facts)`: does the module randomise its inputs anywhere (Keras `Random*`
  layers, an augmenting `ImageDataGenerator`, `tf.image.random_*`, albumentations ...)? Then caching
  the features would change training, so nothing is reported for the module.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from greenlint.rules.analysis.facts import FunctionInfo, ModuleFacts
from greenlint.rules.analysis.literals import argument, has_double_star, keyword_arg, literal_value
from greenlint.rules.analysis.tree import walk

_KERAS = ("keras.", "tensorflow.keras.", "tf_keras.", "tensorflow.python.keras.")
_MAX_DEPTH = 4
# ImageDataGenerator's random transformations. Given to `flow_from_dataframe` / `flow_from_directory`
# instead, they are swallowed by `**kwargs` and never applied (keras-preprocessing 1.1.2 forwards only
# its named parameters to the iterator), so only the constructor's count.
_GENERATOR_AUGMENTATIONS = frozenset(
    {
        "rotation_range", "width_shift_range", "height_shift_range", "shear_range", "zoom_range",
        "channel_shift_range", "horizontal_flip", "vertical_flip", "brightness_range",
    }
)
_AUGMENTATION_LIBRARIES = ("albumentations", "imgaug", "Augmentor", "keras_cv", "torchvision.transforms", "kornia")
# Backbones with stochastic depth (dropped residual branches) inside: in a training-mode call their
# features differ from epoch to epoch.
_STOCHASTIC_BACKBONES = ("EfficientNet", "ConvNeXt")
_NOT_RANDOMISING = ("seed", "set_seed", "shuffle", "permutation", "default_rng", "RandomState", "get_state", "set_state")


@dataclass(frozen=True)
class FrozenBackbone:
    name: str  # "MobileNet", "hub.KerasLayer", or the name the base is bound to
    frozen_by: str  # "`pre_model.trainable = False`", "`trainable=False`"


def _is_false(node: cst.BaseExpression | None) -> bool:
    return isinstance(node, cst.Name) and node.value == "False"


def _scope_assignments(scope: cst.CSTNode) -> dict[str, list[cst.BaseExpression]]:
    """`name = value` statements anywhere in `scope` (functions nested in it included)."""
    found: dict[str, list[cst.BaseExpression]] = {}
    for node in walk(scope):
        if isinstance(node, cst.Assign):
            for target in node.targets:
                if isinstance(target.target, cst.Name):
                    found.setdefault(target.target.value, []).append(node.value)
    return found


def _trainable_set(scope: cst.CSTNode, name: str, value: str) -> bool:
    """`name.trainable = <value>` in `scope`, or a loop over every layer of `name` that sets it."""
    for node in walk(scope):
        if isinstance(node, cst.Assign):
            for target in node.targets:
                t = target.target
                if (
                    isinstance(t, cst.Attribute)
                    and t.attr.value == "trainable"
                    and isinstance(t.value, cst.Name)
                    and t.value.value == name
                    and isinstance(node.value, cst.Name)
                    and node.value.value == value
                ):
                    return True
        if isinstance(node, cst.For) and isinstance(node.target, cst.Name):
            # `for layer in base.layers: layer.trainable = False` (not a slice: that leaves a top trainable)
            it = node.iter
            if isinstance(it, cst.Attribute) and it.attr.value == "layers" and isinstance(it.value, cst.Name) and it.value.value == name:
                if _trainable_set(node.body, node.target.value, value):
                    return True
    return False


def _unfreezes(facts_module: cst.CSTNode) -> bool:
    """Any `x.trainable = True` in the module: the base is fine-tuned later, so its images are needed."""
    for node in walk(facts_module):
        if isinstance(node, cst.Assign) and isinstance(node.value, cst.Name) and node.value.value == "True":
            for target in node.targets:
                if isinstance(target.target, cst.Attribute) and target.target.attr.value == "trainable":
                    return True
    return False


def _inference_mode(base: FrozenBackbone | None) -> FrozenBackbone | None:
    """A base that the model calls in training mode (a Sequential layer, or the graph that starts at
    `base.input`): a stochastic-depth backbone then gives different features every epoch."""
    if base is not None and base.name.startswith(_STOCHASTIC_BACKBONES):
        return None
    return base


class _Resolver:
    def __init__(self, facts: ModuleFacts, module: cst.Module) -> None:
        self.facts = facts
        self.module = module
        self.module_assignments = _scope_assignments(module)

    # ---- the backbone ---------------------------------------------------------------------------

    def _backbone_call(self, call: cst.Call, params: dict[str, str]) -> str | None:
        """The backbone's display name when `call` builds a pretrained Keras base, else None."""
        qualname = self.facts.imports.resolve(call.func) or ""
        short = qualname.rsplit(".", 1)[-1]
        if qualname.startswith(_KERAS) and ".applications." in qualname and short[:1].isupper():
            name = short
        elif isinstance(call.func, cst.Name) and call.func.value in params:
            name = params[call.func.value]  # `name_model(include_top=False, ...)`, `name_model` a parameter
        else:
            return None
        if literal_value(argument(call, "include_top")) is not False:
            return None  # with its ImageNet classifier on top it is not a feature extractor
        weights = argument(call, "weights")
        if weights is not None and literal_value(weights) is None:
            return None  # random weights: trained from scratch, GL203's business
        return name

    def _frozen_base(self, node: cst.BaseExpression, scope: cst.CSTNode, assigned: dict, params: dict[str, str]) -> FrozenBackbone | None:
        """`node` (a layer expression or a name) is a frozen pretrained base."""
        if isinstance(node, cst.Call):
            qualname = self.facts.imports.resolve(node.func) or ""
            if qualname.endswith("KerasLayer") and qualname.startswith("tensorflow_hub"):
                trainable = argument(node, "trainable")
                if trainable is None or _is_false(trainable):  # hub layers are frozen by default
                    return FrozenBackbone("hub.KerasLayer", "`trainable=False`" if trainable is not None else "its default `trainable=False`")
                return None
            name = self._backbone_call(node, params)
            if name is not None and _is_false(argument(node, "trainable")):
                return FrozenBackbone(name, "`trainable=False`")
            return None
        if not isinstance(node, cst.Name):
            return None
        values = assigned.get(node.value) or self.module_assignments.get(node.value) or []
        names = {self._backbone_call(v, params) if isinstance(v, cst.Call) else None for v in values}
        if not values or None in names or len(names) != 1:
            return None
        if not (_trainable_set(scope, node.value, "False") or _trainable_set(self.module, node.value, "False")):
            return None
        return FrozenBackbone(names.pop(), f"`{node.value}.trainable = False`")

    # ---- the model --------------------------------------------------------------------------------

    def model(self, node: cst.BaseExpression, scope: cst.CSTNode, assigned: dict, params: dict[str, str], depth: int = 0) -> FrozenBackbone | None:
        if depth > _MAX_DEPTH:
            return None
        if isinstance(node, cst.Name):
            values = assigned.get(node.value) or self.module_assignments.get(node.value) or []
            found = [self.model(v, scope, assigned, params, depth + 1) for v in values[:8]]
            if not found or any(f is None for f in found):
                return None  # every assignment must build such a model
            return found[-1]
        if not isinstance(node, cst.Call) or has_double_star(node):
            return None
        qualname = self.facts.imports.resolve(node.func) or ""
        short = qualname.rsplit(".", 1)[-1]
        if qualname.startswith(_KERAS) and short == "Sequential":
            layers = argument(node, "layers", 0)
            if isinstance(layers, (cst.List, cst.Tuple)) and layers.elements:
                return _inference_mode(self._frozen_base(layers.elements[0].value, scope, assigned, params))
            return None
        if qualname.startswith(_KERAS) and short in ("Model", "Functional"):
            return self._functional(node, scope, assigned, params)
        if isinstance(node.func, cst.Name) and node.func.value not in self.facts.imports.bindings:
            return self._built_by(node, depth)
        return None

    def _functional(self, call: cst.Call, scope: cst.CSTNode, assigned: dict, params: dict[str, str]) -> FrozenBackbone | None:
        """`Model(inputs=base.input, outputs=...)`, or `Model(inputs, outputs)` whose base is applied
        directly to the `Input` (`x = base(inputs, training=False)`)."""
        inputs = argument(call, "inputs", 0)
        if isinstance(inputs, cst.Name):
            values = assigned.get(inputs.value) or []
            if len(values) == 1 and isinstance(values[0], cst.Attribute):
                inputs = values[0]
        if isinstance(inputs, cst.Attribute) and inputs.attr.value in ("input", "inputs") and isinstance(inputs.value, cst.Name):
            return _inference_mode(self._frozen_base(inputs.value, scope, assigned, params))
        if not isinstance(inputs, cst.Name):
            return None
        for node in walk(scope):
            if isinstance(node, cst.Call) and node.args and isinstance(node.args[0].value, cst.Name) and node.args[0].value.value == inputs.value:
                if isinstance(node.func, cst.Name) and node.func.value in assigned:
                    base = self._frozen_base(node.func, scope, assigned, params)
                    if base is None:
                        continue
                    # a training-mode call runs the stochastic depth of EfficientNet/ConvNeXt bases
                    if base.name.startswith(_STOCHASTIC_BACKBONES) and not _is_false(argument(node, "training")):
                        return None
                    return base
        return None

    def _built_by(self, call: cst.Call, depth: int) -> FrozenBackbone | None:
        """`build(MobileNet)`: a module function whose every `return` gives such a model."""
        assert isinstance(call.func, cst.Name)
        candidates: list[FunctionInfo] = [f for f in self.facts.functions.get(call.func.value, []) if f.class_name is None]
        if not candidates:
            return None
        found = []
        for function in candidates[:4]:  # notebooks redefine a builder cell by cell: all must agree
            params = self._argument_names(function, call)
            returns = [n for n in walk(function.node.body) if isinstance(n, cst.Return) and n.value is not None]
            if not returns:
                return None
            assigned = _scope_assignments(function.node.body)
            for ret in returns:
                result = self.model(ret.value, function.node.body, assigned, params, depth + 1)
                if result is None:
                    return None
                found.append(result)
        return found[-1]

    @staticmethod
    def _argument_names(function: FunctionInfo, call: cst.Call) -> dict[str, str]:
        """The function's parameters mapped to the names the call passes (`name_model` -> `MobileNet`)."""
        names: dict[str, str] = {}
        params = function.node.params.params
        for index, param in enumerate(params):
            value = keyword_arg(call, param.name.value)
            node = value.value if value is not None else (call.args[index].value if index < len(call.args) and call.args[index].keyword is None else None)
            if isinstance(node, (cst.Name, cst.Attribute)):
                names[param.name.value] = node.attr.value if isinstance(node, cst.Attribute) else node.value
            else:
                names[param.name.value] = param.name.value
        return names


def frozen_backbone(model: cst.BaseExpression, facts: ModuleFacts, module: cst.Module) -> FrozenBackbone | None:
    """The frozen pretrained base at the bottom of the Keras model `model` names, or None."""
    if _unfreezes(module):
        return None
    resolver = _Resolver(facts, module)
    return resolver.model(model, module, resolver.module_assignments, {})


def random_augmentation(facts: ModuleFacts) -> str | None:
    """What randomises the inputs somewhere in the module, or None."""
    for module_name in facts.imports.bindings.values():
        if isinstance(module_name, str) and module_name.startswith(_AUGMENTATION_LIBRARIES):
            return module_name
    for site in facts.calls:
        attr = site.attr or ""
        qualname = site.qualname or ""
        if attr.startswith("Random") and attr != "RandomState":
            return attr  # Keras RandomFlip / RandomRotation ..., torchvision RandomCrop ...
        if "augment" in attr.lower():
            return attr
        if qualname.startswith(("tensorflow.image.random_", "tensorflow.image.stateless_random_")):
            return qualname
        if qualname.startswith(("tensorflow.random.", "numpy.random.", "random.")) and attr not in _NOT_RANDOMISING:
            return qualname
        if attr == "ImageDataGenerator":
            if has_double_star(site.node):
                return "ImageDataGenerator(**...)"
            for arg in site.node.args:
                if arg.keyword is not None and arg.keyword.value in _GENERATOR_AUGMENTATIONS:
                    if literal_value(arg.value) not in (0, 0.0, False, None):
                        return f"ImageDataGenerator({arg.keyword.value}=...)"
    return None


def ignored_generator_augmentation(facts: ModuleFacts) -> str | None:
    """An augmentation argument given to `flow_from_dataframe` / `flow_from_directory`, where Keras
    silently drops it (a common mistake worth naming in the message)."""
    for site in facts.calls:
        if site.attr in ("flow_from_dataframe", "flow_from_directory", "flow"):
            for arg in site.node.args:
                if arg.keyword is not None and arg.keyword.value in _GENERATOR_AUGMENTATIONS:
                    return arg.keyword.value
    return None
