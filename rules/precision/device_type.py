"""The `device_type=` of an autocast block: the device the training step already uses.

`torch.autocast` needs a device type, and writing "cuda" into a script that picks MPS, XPU, an
accelerator or the CPU would switch mixed precision off (with a warning) everywhere but on CUDA.
In order of preference: the device the step moves its data to (`device.type`,
`torch.device(args.device).type`), a module-level device the step can see, `torch.accelerator`
when the module uses it, and "cuda" only when the step or the module is plainly CUDA-only.
"""

from __future__ import annotations

import libcst as cst

from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.literals import literal_value
from greenlint.rules.analysis.names import terminal_name
from greenlint.rules.analysis.tree import walk

# Call prefixes and device strings that show the script runs on more than CUDA.
_AGNOSTIC_CALLS = ("torch.accelerator.", "torch.backends.mps.", "torch.mps.", "torch.xpu.")
_AGNOSTIC_DEVICES = frozenset({"mps", "xpu", "hpu", "npu", "xla"})
# Values whose `.type` is a device type: `torch.device(...)`, `current_accelerator()`, `x.device`.
_DEVICE_OBJECT_CALLS = frozenset({"torch.device", "torch.accelerator.current_accelerator"})
_DEVICE_WORDS = ("device", "dev", "gpu", "cuda", "rank", "accel")
_NOT_DEVICES = ("dtype", "float", "half", "bfloat16", "int", "long", "memory_format", "channels_last")



def device_type_expression(analysis: ModuleAnalysis, container: cst.CSTNode, alias: str) -> str | None:
    """The `device_type=` expression, as source text, or None when the device cannot be told."""
    variable = _step_device(analysis, container)
    if variable is not None:
        text = cst.Module(body=[]).code_for_node(variable)
        if _is_device_object(analysis, variable):
            return f"{text}.type"
        if _is_device_type_string(analysis, variable):
            return text  # `device = "cuda" if torch.cuda.is_available() else "cpu"`
        return f"{alias}.device({text}).type"  # a string such as "cuda:0", or a device: both work
    if _moves_to_cuda(container):
        return '"cuda"'  # the step itself calls `.cuda()` or names "cuda": CUDA-only
    variable = _module_device(analysis)
    if variable is not None:  # a global the step can see, used as a device elsewhere in the module
        if _is_device_object(analysis, variable):
            return f"{variable.value}.type"
        if _is_device_type_string(analysis, variable):
            return variable.value
        return f"{alias}.device({variable.value}).type"
    qualnames = [site.qualname or "" for site in analysis.facts.calls]
    if any(name.startswith("torch.accelerator.") for name in qualnames):
        # current_accelerator() is None on a machine without one: fall back to the CPU then
        return f'({alias}.accelerator.current_accelerator() or {alias}.device("cpu")).type'
    if _device_agnostic(analysis, qualnames):
        return None
    return '"cuda"'


def _step_device(analysis: ModuleAnalysis, container: cst.CSTNode) -> cst.BaseExpression | None:
    """The device the step moves its data to: `x.to(device)`, `torch.zeros(..., device=dev)`,
    when it is a name (or attribute) bound outside the step, so it is in scope where the `with` goes."""
    local = _bound_names(container)
    for node in walk(container):
        if not isinstance(node, cst.Call):
            continue
        candidates = [arg.value for arg in node.args if arg.keyword is not None and arg.keyword.value == "device"]
        if terminal_name(node.func) == "to" and isinstance(node.func, cst.Attribute) and node.args and node.args[0].keyword is None:
            first = node.args[0].value
            # `.to(x)` also takes a dtype or another tensor: only a device by its name or its value
            if _device_named(first) or _is_device_object(analysis, first) or _is_device_type_string(analysis, first):
                candidates.insert(0, first)
        for value in candidates:
            if not isinstance(value, (cst.Name, cst.Attribute)):
                continue
            root = value
            while isinstance(root, cst.Attribute):
                root = root.value
            if not isinstance(root, cst.Name):
                continue
            text = cst.Module(body=[]).code_for_node(value)
            if any(word in text.lower() for word in _NOT_DEVICES) or text.startswith("torch."):
                continue
            if root.value in local and root.value != "self":
                continue  # a loop variable (`batch.device`): not bound where the `with` goes
            return value
    return None


def _module_device(analysis: ModuleAnalysis) -> cst.Name | None:
    """A module-level name the module passes as a device (`.to(device)`, `device=device`,
    `map_location=device`); functions read it as a global."""
    top_level = _top_level_bindings(analysis.module)
    for node in walk(analysis.module):
        if not isinstance(node, cst.Call):
            continue
        values = [a.value for a in node.args if a.keyword is not None and a.keyword.value in ("device", "map_location")]
        if terminal_name(node.func) == "to" and isinstance(node.func, cst.Attribute) and node.args and node.args[0].keyword is None:
            values.append(node.args[0].value)
        for value in values:
            if isinstance(value, cst.Name) and value.value in top_level and "dtype" not in value.value.lower():
                return value
    return None


def _top_level_bindings(module: cst.Module) -> set[str]:
    """Names assigned by module-level statements, including under a top-level `if`/`try`/`with`,
    not inside functions or classes."""
    names: set[str] = set()
    stack: list[cst.CSTNode] = list(module.body)
    while stack:
        statement = stack.pop()
        if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            continue
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.Assign):
                    names |= {n.value for t in small.targets for n in walk(t.target) if isinstance(n, cst.Name)}
            continue
        for child in statement.children:
            if isinstance(child, (cst.IndentedBlock, cst.If, cst.Else, cst.ExceptHandler, cst.Finally)):
                stack.extend(child.body if isinstance(child, cst.IndentedBlock) else [child])
            elif isinstance(child, cst.BaseSuite):
                stack.extend(getattr(child, "body", []))
    return names


def _device_named(value: cst.BaseExpression) -> bool:
    """`device`, `dev`, `args.device`, `self.gpu_id`, `local_rank`: named as a device."""
    name = (terminal_name(value) or "").lower()
    return any(word in name for word in _DEVICE_WORDS)


def _bound_names(container: cst.CSTNode) -> set[str]:
    names: set[str] = set()
    for node in walk(container):
        if isinstance(node, (cst.Assign, cst.AnnAssign, cst.AugAssign, cst.For)):
            targets = [t.target for t in node.targets] if isinstance(node, cst.Assign) else [node.target]
            names |= {n.value for t in targets for n in walk(t) if isinstance(n, cst.Name)}
    return names


def _is_device_object(analysis: ModuleAnalysis, value: cst.BaseExpression) -> bool:
    """The value is a `torch.device` (so `.type` works): assigned from `torch.device(...)`,
    `current_accelerator()` or some tensor's `.device`, or an Accelerate/Fabric `.device`."""
    name = terminal_name(value)
    if isinstance(value, cst.Attribute) and any(w in (terminal_name(value.value) or "").lower() for w in ("accelerator", "fabric")):
        return name == "device"
    found = False
    for assigned, rhs in analysis.facts.assignments:
        if assigned != name:
            continue
        if isinstance(rhs, cst.Call) and analysis.facts.imports.resolve(rhs.func) in _DEVICE_OBJECT_CALLS:
            found = True
        elif isinstance(rhs, cst.Attribute) and rhs.attr.value == "device":
            found = True
        else:
            return False  # also bound to something else (a string, an argument): not sure
    return found


def _is_device_type_string(analysis: ModuleAnalysis, value: cst.BaseExpression) -> bool:
    """Every binding of the name is a bare device-type string ("cuda", "mps", "cpu", no index),
    or a conditional choice between such strings."""
    if not isinstance(value, cst.Name):
        return False
    bindings = [rhs for assigned, rhs in analysis.facts.assignments if assigned == value.value]

    def plain(node: cst.BaseExpression) -> bool:
        if isinstance(node, cst.IfExp):
            return plain(node.body) and plain(node.orelse)
        text = literal_value(node)
        return isinstance(text, str) and text.isidentifier()

    return bool(bindings) and all(plain(rhs) for rhs in bindings)


def _moves_to_cuda(container: cst.CSTNode) -> bool:
    for node in walk(container):
        if isinstance(node, cst.Call) and terminal_name(node.func) == "cuda" and isinstance(node.func, cst.Attribute):
            return True
        if isinstance(node, cst.SimpleString) and str(literal_value(node)).split(":")[0] == "cuda":
            return True
    return False


def _device_agnostic(analysis: ModuleAnalysis, qualnames: list[str]) -> bool:
    if any(name.startswith(_AGNOSTIC_CALLS) for name in qualnames):
        return True
    return any(
        isinstance(node, cst.SimpleString) and str(literal_value(node)).split(":")[0] in _AGNOSTIC_DEVICES
        for node in walk(analysis.module)
    )
