"""Analysis shared by the GL1xx precision rules (GL103-GL105) that the common facts do not record.

- `simple_statements(module)`: every small statement (`x = y`, `f()`) with its conditional depth,
  found by walking statements only (not expressions), which is far cheaper than a full visitor.
  The common facts record calls but not attribute assignments such as
  `torch.backends.cuda.matmul.allow_tf32 = False`.
- Keras: model construction, `compile`/`fit`, hints that the script runs on a GPU or TPU, and a
  transform that inserts a statement after the module's imports (before the model is built).
- Models: whether an expression is (very likely) a `torch.nn.Module`, for `.double()` on a model
  versus `.double()` on a metric tensor.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst
from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.facts import CallSite, ModuleFacts
from greenlint.rules.analysis.literals import argument, literal_value, string_value
from greenlint.rules.analysis.names import dotted_name, terminal_name
from greenlint.rules.analysis.scope_facts import imports_test_code
from greenlint.rules.fixes import Transform

# ---- statements ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Statement:
    node: cst.BaseSmallStatement
    line: cst.SimpleStatementLine
    cond_depth: int  # `if`/`else`/`except`/`match case` levels around it (a function body resets it)
    in_function: bool


def simple_statements(module: cst.Module) -> Iterator[Statement]:
    """Small statements anywhere in the module, with how many conditions guard them."""
    stack: list[tuple[cst.CSTNode, int, bool]] = [(module, 0, False)]
    while stack:
        node, depth, in_function = stack.pop()
        for child in reversed(_statement_children(node, depth, in_function)):
            block, child_depth, child_function = child
            if isinstance(block, cst.SimpleStatementLine):
                for small in block.body:
                    yield Statement(small, block, child_depth, child_function)
            else:
                stack.append(child)


def _body(node: cst.BaseSuite | None) -> list[cst.CSTNode]:
    if node is None:
        return []
    if isinstance(node, cst.IndentedBlock):
        return list(node.body)
    if isinstance(node, cst.SimpleStatementSuite):
        return [cst.SimpleStatementLine(body=node.body)]
    return []


def _statement_children(node: cst.CSTNode, depth: int, in_function: bool) -> list[tuple[cst.CSTNode, int, bool]]:
    if isinstance(node, cst.Module):
        return [(child, depth, in_function) for child in node.body]
    if isinstance(node, cst.FunctionDef):
        return [(child, 0, True) for child in _body(node.body)]
    if isinstance(node, cst.If):
        children = [(child, depth + 1, in_function) for child in _body(node.body)]
        orelse = node.orelse
        if isinstance(orelse, cst.If):
            children.append((orelse, depth, in_function))
        elif isinstance(orelse, cst.Else):
            children.extend((child, depth + 1, in_function) for child in _body(orelse.body))
        return children
    if isinstance(node, (cst.Try, cst.TryStar)):
        children = [(child, depth, in_function) for child in _body(node.body)]
        for handler in node.handlers:
            children.extend((child, depth + 1, in_function) for child in _body(handler.body))
        if node.orelse is not None:
            children.extend((child, depth + 1, in_function) for child in _body(node.orelse.body))
        if node.finalbody is not None:
            children.extend((child, depth, in_function) for child in _body(node.finalbody.body))
        return children
    if isinstance(node, cst.Match):
        return [(child, depth + 1, in_function) for case in node.cases for child in _body(case.body)]
    if isinstance(node, (cst.For, cst.While, cst.With, cst.ClassDef)):
        children = [(child, depth, in_function) for child in _body(node.body)]
        orelse = getattr(node, "orelse", None)
        if orelse is not None:
            children.extend((child, depth + 1, in_function) for child in _body(orelse.body))
        return children
    return []


def assignment_targets(statement: Statement) -> list[tuple[str, cst.BaseExpression]]:
    """(dotted target, value) of `a.b = v` / `a = b = v`; subscripts are left out."""
    node = statement.node
    if isinstance(node, cst.Assign):
        result = []
        for target in node.targets:
            name = dotted_name(target.target)
            if name is not None:
                result.append((name, node.value))
        return result
    if isinstance(node, cst.AnnAssign) and node.value is not None:
        name = dotted_name(node.target)
        return [(name, node.value)] if name is not None else []
    return []


def environ_assignments(module: cst.Module) -> dict[str, cst.BaseExpression]:
    """`os.environ["KEY"] = value` statements: key -> value."""
    found: dict[str, cst.BaseExpression] = {}
    for statement in simple_statements(module):
        node = statement.node
        if not isinstance(node, cst.Assign):
            continue
        for target in node.targets:
            subscript = target.target
            if not isinstance(subscript, cst.Subscript) or dotted_name(subscript.value) not in ("os.environ", "environ"):
                continue
            if len(subscript.slice) == 1 and isinstance(subscript.slice[0].slice, cst.Index):
                key = string_value(subscript.slice[0].slice.value)
                if key is not None:
                    found[key] = node.value
    return found


def is_test_module(analysis: ModuleAnalysis) -> bool:
    """Test code (pytest/unittest imports or module-level `test_*` functions): it runs a few steps
    to check behaviour, not a training workload, so advice about training energy does not apply.
    A `test_step` nested in a training script's `main()` (tensorflow-yolov4-tflite's evaluation
    step, blind21) is not a test: test runners collect module-level functions only."""
    if imports_test_code(analysis.facts.imports):
        return True
    return any(isinstance(statement, cst.FunctionDef) and statement.name.value.startswith("test_")
               for statement in analysis.module.body)


def trains_in_float64(analysis: ModuleAnalysis) -> bool:
    """The module trains in float64 on purpose: it names `torch.float64`/`torch.double`, or it calls
    `.double()` on a model. A `.double()` on a metric (`running_corrects.double() / n`) does not
    count: it must not switch the float32-training rules off for the whole file."""
    precision = analysis.precision
    if precision.uses_float64:
        return True
    if not precision.double_calls:
        return False
    models = ModelRecognizer(analysis.facts)
    return any(site.receiver is not None and models.is_model(site.receiver) for site in precision.double_calls)


# ---- Keras -----------------------------------------------------------------------------------

KERAS_ROOTS = ("keras.", "tensorflow.keras.", "tf_keras.", "tensorflow.python.keras.")
_KERAS_MODEL_CLASSES = frozenset({"Sequential", "Model", "Functional"})


def keras_root(qualname: str | None) -> str | None:
    """The Keras package a qualified name belongs to ("keras", "tensorflow.keras", "tf_keras")."""
    if not qualname:
        return None
    for root in KERAS_ROOTS:
        if qualname.startswith(root):
            return root[:-1]
    return None


def is_keras_model_constructor(site: CallSite) -> bool:
    """`keras.Sequential(...)`, `tf.keras.Model(inputs, outputs)`, `keras.applications.X(...)`."""
    qualname = site.qualname
    if keras_root(qualname) is None:
        return False
    name = qualname.rsplit(".", 1)[-1]
    if name in _KERAS_MODEL_CLASSES and (".models." in qualname or qualname.count(".") <= 2):
        return True
    return ".applications." in qualname and name[:1].isupper()


def keras_model_classes(facts: ModuleFacts) -> set[str]:
    """Classes of this module that subclass a Keras model."""
    result = set()
    for name in facts.classes:
        for base in facts.class_bases(name):
            if keras_root(base) is not None and base.rsplit(".", 1)[-1] == "Model":
                result.add(name)
    return result


_TF_DEVICE_CALLS = {
    "tensorflow.config.list_physical_devices": "lists the GPUs",
    "tensorflow.config.experimental.list_physical_devices": "lists the GPUs",
    "tensorflow.config.list_logical_devices": "lists the GPUs",
    "tensorflow.config.experimental.set_memory_growth": "configures GPU memory growth",
    "tensorflow.config.set_visible_devices": "selects GPUs",
    "tensorflow.config.experimental.set_visible_devices": "selects GPUs",
    "tensorflow.test.is_gpu_available": "checks for a GPU",
    "tensorflow.test.gpu_device_name": "checks for a GPU",
    "tensorflow.distribute.MirroredStrategy": "uses `MirroredStrategy`",
    "tensorflow.distribute.MultiWorkerMirroredStrategy": "uses `MultiWorkerMirroredStrategy`",
    "tensorflow.distribute.experimental.MultiWorkerMirroredStrategy": "uses `MultiWorkerMirroredStrategy`",
    "tensorflow.distribute.TPUStrategy": "uses `TPUStrategy`",
    "tensorflow.distribute.experimental.TPUStrategy": "uses `TPUStrategy`",
    "tensorflow.distribute.cluster_resolver.TPUClusterResolver": "connects to a TPU",
    "keras.distribution.DataParallel": "uses `keras.distribution.DataParallel`",
    "keras.utils.multi_gpu_model": "uses `multi_gpu_model`",
    "tensorflow.keras.utils.multi_gpu_model": "uses `multi_gpu_model`",
}
_DEVICE_ARG_CALLS = frozenset({"tensorflow.device", "tensorflow.distribute.OneDeviceStrategy"})


def accelerator_hint(analysis: ModuleAnalysis) -> str | None:
    """A phrase saying why this TF/Keras script runs on a GPU or TPU, or None if nothing says so."""
    for site in analysis.facts.calls:
        qualname = site.qualname
        if qualname is None:
            continue
        if qualname in _TF_DEVICE_CALLS:
            if qualname.endswith("MirroredStrategy") and _only_cpu_devices(site):
                continue
            if qualname.endswith(("list_physical_devices", "list_logical_devices")):
                kind = string_value(argument(site.node, "device_type", 0))
                if kind is None or kind.upper() not in ("GPU", "TPU"):
                    continue
                return f"lists the {kind.upper()}s"  # "TPU" must not be described as GPUs
            return _TF_DEVICE_CALLS[qualname]
        if qualname in _DEVICE_ARG_CALLS:
            device = string_value(argument(site.node, "device_name", 0) or argument(site.node, "device", 0))
            if device is not None and ("GPU" in device.upper() or "TPU" in device.upper()):
                return f'places work on "{device}"'
    visible = environ_assignments(analysis.module).get("CUDA_VISIBLE_DEVICES")
    if visible is not None and literal_value(visible) not in ("", "-1"):
        return "sets `CUDA_VISIBLE_DEVICES`"
    return None


def _only_cpu_devices(site: CallSite) -> bool:
    """`MirroredStrategy(["cpu:0", "cpu:1"])`: a multi-device test on the CPU."""
    devices = literal_value(argument(site.node, "devices", 0))
    return isinstance(devices, (list, tuple)) and bool(devices) and all(
        isinstance(d, str) and "CPU" in d.upper() for d in devices
    )


def insert_after_imports(
    statement_code: str, before: cst.CSTNode | None, needs: str | None = None, import_code: str | None = None
) -> Transform:
    """Insert `statement_code` after the last top-level import that precedes the top-level
    statement `before` (the first that builds the model), so it runs before the model exists.
    If the name `needs` is not bound by one of those imports, `import_code` is inserted first."""

    def transform(module: cst.Module) -> cst.Module:
        body = list(module.body)
        limit = len(body)
        if before is not None:
            for index, node in enumerate(body):
                if node is before:
                    limit = index
                    break
        insert_at = 0
        bound: set[str] = set()
        for index, node in enumerate(body[:limit]):
            if isinstance(node, cst.SimpleStatementLine) and node.body:
                first = node.body[0]
                if isinstance(first, (cst.Import, cst.ImportFrom)):
                    insert_at = index + 1
                    bound |= _bound_names(first)
                elif index == 0 and isinstance(first, cst.Expr) and isinstance(first.value, (cst.SimpleString, cst.ConcatenatedString)):
                    insert_at = 1
        new = [cst.parse_statement(statement_code)]
        if needs is not None and needs not in bound and import_code:
            new.insert(0, cst.parse_statement(import_code))
        return module.with_changes(body=[*body[:insert_at], *new, *body[insert_at:]])

    return transform


def _bound_names(node: cst.Import | cst.ImportFrom) -> set[str]:
    names: set[str] = set()
    if isinstance(node.names, cst.ImportStar):
        return names
    for alias in node.names:
        if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
            names.add(alias.asname.name.value)
        else:
            full = dotted_name(alias.name) or ""
            names.add(full.split(".", 1)[0] if isinstance(node, cst.Import) else full)
    return names


def import_statement_for(local: str, qualified: str) -> str:
    """The import statement that binds `local` to the module `qualified`."""
    if "." not in qualified:
        return f"import {qualified}" if local == qualified else f"import {qualified} as {local}"
    parent, last = qualified.rsplit(".", 1)
    return f"from {parent} import {last}" if local == last else f"from {parent} import {last} as {local}"


def top_level_statement(module: cst.Module, target: cst.CSTNode) -> cst.CSTNode | None:
    """The statement of `module.body` that contains `target`."""
    found: list[cst.CSTNode] = []

    class Finder(cst.CSTVisitor):
        def on_visit(self, node: cst.CSTNode) -> bool:
            if found:
                return False
            if node is target:
                found.append(node)
                return False
            return True

    for statement in module.body:
        statement.visit(Finder())
        if found:
            return statement
    return None


# ---- PyTorch models --------------------------------------------------------------------------

_MODEL_FACTORIES = ("torchvision.models.", "timm.create_model", "timm.models.create_model", "transformers.")
_TORCH_MODULE_BASES = ("torch.nn.Module", "torch.nn.modules.module.Module", "lightning.", "pytorch_lightning.")
_PASS_THROUGH_METHODS = frozenset({"to", "cuda", "train", "eval", "float", "double", "half", "bfloat16", "requires_grad_", "share_memory", "apply"})


def module_classes(facts: ModuleFacts) -> set[str]:
    """Classes of this module that (transitively) subclass `torch.nn.Module` or a Lightning module."""
    result = set()
    for name in facts.classes:
        if any(base.startswith(_TORCH_MODULE_BASES) for base in facts.class_bases(name)):
            result.add(name)
    return result


def optimized_model_names(facts: ModuleFacts) -> set[str]:
    """Names whose `.parameters()` are handed to an optimizer: those are the trained models."""
    names = set()
    for site in facts.calls:
        qualname = site.qualname or ""
        if not qualname.startswith(("torch.optim.", "transformers.AdamW", "bitsandbytes.optim.", "timm.optim.")):
            continue
        if "lr_scheduler" in qualname:
            continue
        params = argument(site.node, "params", 0)
        if isinstance(params, cst.Call) and terminal_name(params.func) in ("parameters", "named_parameters"):
            receiver = params.func.value if isinstance(params.func, cst.Attribute) else None
            name = terminal_name(receiver) if receiver is not None else None
            if name:
                names.add(name)
    return names


class ModelRecognizer:
    """Decides whether an expression is a `torch.nn.Module` built or trained in this module."""

    def __init__(self, facts: ModuleFacts) -> None:
        self.facts = facts
        self.classes = module_classes(facts)
        self.trained = optimized_model_names(facts)
        self._assigned: dict[str, list[cst.BaseExpression]] = {}
        for name, value in facts.assignments:
            self._assigned.setdefault(name, []).append(value)

    def is_model(self, node: cst.BaseExpression, depth: int = 0) -> bool:
        if depth > 4:
            return False
        if isinstance(node, cst.Call):
            func = node.func
            if isinstance(func, cst.Attribute) and func.attr.value in _PASS_THROUGH_METHODS:
                return self.is_model(func.value, depth + 1)
            qualname = self.facts.imports.resolve(func)
            if qualname is not None:
                last = qualname.rsplit(".", 1)[-1]
                if qualname.startswith("torch.nn.") and last[:1].isupper() and not qualname.startswith(
                    ("torch.nn.functional.", "torch.nn.init.", "torch.nn.utils.")
                ):
                    return last != "Parameter"
                if qualname.startswith(_MODEL_FACTORIES):
                    return qualname.startswith(("torchvision.models.", "timm.")) or last == "from_pretrained"
                return False
            if isinstance(func, cst.Name) and func.value in self.classes:
                return True
            if isinstance(func, cst.Attribute) and func.attr.value == "from_pretrained":
                receiver = self.facts.imports.resolve(func.value) or ""
                return receiver.startswith("transformers.") and "Tokenizer" not in receiver and "Config" not in receiver
            return False
        if isinstance(node, (cst.Name, cst.Attribute)):
            name = terminal_name(node)
            if name is None or name in ("self", "cls"):
                return False
            if name in self.trained:
                return True
            return any(self.is_model(value, depth + 1) for value in self._assigned.get(name, ()))
        return False
