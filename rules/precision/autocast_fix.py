"""GL101's fix: wrap each forward pass and loss of a training step in bf16 autocast.

Two things make this more than "wrap the lines above `loss.backward()`":
- the device type. `torch.autocast` needs one, and writing "cuda" into a script that picks
  MPS, XPU, an accelerator or the CPU would turn mixed precision off (with a warning) everywhere
  but on CUDA. The fix reuses the device the step already moves its data to (`device.type`,
  `torch.device(args.device).type`), asks `torch.accelerator` when the module does, and writes
  "cuda" only when the step is plainly CUDA-only.
- several forward passes. A GAN step runs the discriminator and the generator, each with its
  own loss and `backward()`; each gets its own `with` block, and the fix's description says
  which ones it could not wrap.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from greenlint.rules.analysis import LoopInfo, ModuleAnalysis
from greenlint.rules.analysis.facts import CallSite, is_backward_call
from greenlint.rules.analysis.literals import literal_value
from greenlint.rules.analysis.names import terminal_name
from greenlint.rules.analysis.tree import walk
from greenlint.rules.base import RuleFix
from greenlint.rules.fixes import chain, ensure_import, find_statement_block, module_alias, statement_containing

_TRANSFER_METHODS = frozenset(
    {"to", "cuda", "cpu", "float", "long", "int", "half", "contiguous", "detach", "items", "keys", "values"}
)
# Statements between the loss and `backward()` that do not feed it (zero_grad, metric bookkeeping:
# the ImageNet example updates accuracy and loss meters in four lines there).
_MAX_SKIPPED = 6
# Calls that produce input data rather than run the model.
_DATA_CALLS = frozenset(
    {"tensor", "as_tensor", "from_numpy", "load", "read_csv", "read_parquet", "open", "next", "get_batch"}
)
# Call prefixes and device strings that show the script runs on more than CUDA.
_AGNOSTIC_CALLS = ("torch.accelerator.", "torch.backends.mps.", "torch.mps.", "torch.xpu.")
_AGNOSTIC_DEVICES = frozenset({"mps", "xpu", "hpu", "npu", "xla"})
# Values whose `.type` is a device type: `torch.device(...)`, `current_accelerator()`, `x.device`.
_DEVICE_OBJECT_CALLS = frozenset({"torch.device", "torch.accelerator.current_accelerator"})
_NOT_DEVICES = ("dtype", "float", "half", "bfloat16", "int", "long", "memory_format", "channels_last")


@dataclass(frozen=True)
class _Region:
    block: cst.CSTNode  # IndentedBlock or Module holding the statements
    start: int  # first statement wrapped
    end: int  # the backward statement (not wrapped)


def autocast_fix(analysis: ModuleAnalysis, loop: LoopInfo) -> RuleFix | None:
    """Wrap the statements that compute each loss (those right before its `backward()`) in
    `torch.autocast(device_type=..., dtype=torch.bfloat16)`; backward and step stay outside."""
    found = _backward_sites(analysis, loop)
    if not found:
        return None
    sites, container = found
    alias = _top_level_alias(analysis.module) or module_alias(analysis.facts.imports, "torch")
    steps = []
    if alias is None:
        alias = "torch"
        steps.append(ensure_import("torch"))
    device_type = _device_type(analysis, container, alias)
    if device_type is None:
        return None  # the step's device cannot be told: no fix rather than a wrong one
    regions: list[_Region] = []
    covered = 0
    for site in sites:
        region = _region(container, site, regions)
        if region is not None:
            covered += 1
            if not any(region is other for other in regions):
                regions.append(region)
    if not regions:
        return None
    item = cst.parse_expression(f"{alias}.autocast(device_type={device_type}, dtype={alias}.bfloat16)")
    steps.insert(0, _wrap_regions(regions, item))
    message = "wrap the forward pass and loss in bf16 autocast"
    if len(sites) > 1:
        message = f"wrap each forward pass and loss in bf16 autocast ({covered} of the step's {len(sites)} backward() calls)"
    if covered < len(sites):
        message += "; the forward passes of the others could not be found and stay in float32: wrap them by hand"
    return RuleFix(message=message, applicability="unsafe", transform=chain(*steps))


# ---- which backward calls -------------------------------------------------------------------


def _backward_sites(analysis: ModuleAnalysis, loop: LoopInfo) -> tuple[list[CallSite], cst.CSTNode] | None:
    """Every `backward()` call of the step and the loop or function whose body holds them."""
    direct = [site for site in loop.calls if is_backward_call(site)]
    if direct:
        return direct, loop.node
    for site in loop.calls:
        for function in analysis.facts.local_functions_called(site):
            inner = [call for call in function.calls if is_backward_call(call)]
            if inner:
                return inner, function.node
    return None


def _loss_name(site: CallSite) -> str | None:
    """`loss` in `loss.backward()`, `accelerator.backward(loss)`, `torch.autograd.backward(loss)`."""
    receiver = site.receiver
    takes_loss = site.qualname == "torch.autograd.backward" or any(
        word in (terminal_name(receiver) or "").lower() for word in ("accelerator", "fabric")
    )
    if takes_loss:
        args = site.node.args
        first = args[0].value if args and args[0].keyword is None else None
        return first.value if isinstance(first, cst.Name) else None
    # `model(x).sum().backward()` puts the forward in the backward line itself: nothing to wrap
    return receiver.value if isinstance(receiver, cst.Name) else None


# ---- which statements -----------------------------------------------------------------------


def _region(container: cst.CSTNode, site: CallSite, earlier: list[_Region]) -> _Region | None:
    loss = _loss_name(site)
    if loss is None:
        return None
    located = _block_of(container, site.node)
    # `if warming_up: loss_pixel.backward(); continue` with the loss computed above the `if`: the
    # forward pass is in an enclosing block, and the `if` is where its region ends
    while located is not None and not _assigns_before(*located, loss):
        located = _block_of(container, located[0])
    if located is None:
        return None
    block, index = located
    for other in earlier:
        if other.block is block and other.end == index:
            return other  # two backward() calls under one `if`, fed by the same forward pass
        if other.block is block and other.end > index:
            return None
    # never reach back over an earlier backward() of the same block: that is another forward pass
    floor = max((r.end + 1 for r in earlier if r.block is block and r.end < index), default=0)
    body = block.body  # type: ignore[attr-defined]
    needed, start, skipped = {loss}, index, 0
    for position in range(index - 1, floor - 1, -1):
        candidate = body[position]
        if _has_backward(candidate):
            break
        assigned = _assigned_names(candidate)
        if assigned is None or not (assigned & needed):
            # A simple statement that does not feed the loss (zero_grad, `total += loss.item()`,
            # a print) may sit inside the `with`: kept only if a loss statement is found above it.
            if isinstance(candidate, cst.SimpleStatementLine) and skipped < _MAX_SKIPPED:
                skipped += 1
                continue
            break
        if _only_moves_data(candidate) or _makes_data(candidate):
            break  # moving or loading inputs is not the forward pass: it stays outside
        needed |= _read_names(candidate)
        start = position
    if start == index:
        return None
    return _Region(block, start, index)


def _block_of(container: cst.CSTNode, node: cst.CSTNode) -> tuple[cst.CSTNode, int] | None:
    """The block that holds the statement around `node`, and that statement's index; an `elif` or
    `else` branch counts as part of the `if` statement that holds it."""
    statement = statement_containing(container, node)
    while statement is not None:
        located = find_statement_block(container, statement)
        if located is not None:
            return located
        statement = statement_containing(container, statement)
    return None


def _assigns_before(block: cst.CSTNode, index: int, name: str) -> bool:
    return any(name in (_assigned_names(statement) or ()) for statement in block.body[:index])  # type: ignore[attr-defined]


def _has_backward(statement: cst.CSTNode) -> bool:
    return any(
        isinstance(node, cst.Call) and terminal_name(node.func) == "backward" for node in walk(statement)
    )


def _assigned_names(statement: cst.CSTNode) -> set[str] | None:
    """Names a one-statement line assigns, or None if it is not a plain assignment. An `if` whose
    branches are plain assignments (a model-dependent forward pass) assigns the union of theirs."""
    if isinstance(statement, cst.If):
        names: set[str] = set()
        branch: cst.CSTNode | None = statement
        while branch is not None:
            body = branch.body if isinstance(branch, (cst.If, cst.Else)) else None
            if not isinstance(body, cst.IndentedBlock):
                return None
            for inner in body.body:
                assigned = _assigned_names(inner)
                if assigned is None and not _is_plain_call(inner):
                    return None
                names |= assigned or set()
            branch = branch.orelse if isinstance(branch, cst.If) else None
        return names
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    small = statement.body[0]
    targets: list[cst.BaseExpression] = []
    if isinstance(small, cst.Assign):
        targets = [t.target for t in small.targets]
    elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
        targets = [small.target]
    else:
        return None
    return {node.value for target in targets for node in walk(target) if isinstance(node, cst.Name)}


def _is_plain_call(statement: cst.CSTNode) -> bool:
    """`hidden = repackage(hidden)` aside, a branch may hold a bare call such as `model.reset()`."""
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, cst.Call)
    )


def _read_names(statement: cst.CSTNode) -> set[str]:
    return {node.value for node in walk(statement) if isinstance(node, cst.Name)}


def _makes_data(statement: cst.CSTNode) -> bool:
    """`x = torch.tensor(frame.values)`, `batch = next(it)`: building inputs, not the forward pass."""
    return any(isinstance(node, cst.Call) and terminal_name(node.func) in _DATA_CALLS for node in walk(statement))


def _only_moves_data(statement: cst.CSTNode) -> bool:
    """`x, y = x.cuda(), y.to(device)`: moving inputs is not part of the forward pass."""
    calls = [node for node in walk(statement) if isinstance(node, cst.Call)]
    return bool(calls) and all(
        isinstance(call.func, cst.Attribute) and call.func.attr.value in _TRANSFER_METHODS for call in calls
    )


def _wrap_regions(regions: list[_Region], item: cst.BaseExpression):  # noqa: ANN202
    """Replace each region's statements with `with <item>:` holding them, in one pass: the blocks
    may nest (a generator step under `if i % n_critic == 0:` inside the loop body), and a block
    rebuilt by one pass would no longer be found by identity in the next."""

    class Wrapper(cst.CSTTransformer):
        def on_leave(self, original_node, updated_node):  # noqa: ANN001, ANN202
            ranges = [(r.start, r.end) for r in regions if r.block is original_node]
            return _wrap_ranges(updated_node, ranges, item) if ranges else updated_node

    def transform(module: cst.Module) -> cst.Module:
        fixed = module.visit(Wrapper())
        if fixed is module or fixed.deep_equals(module):
            raise LookupError("autocast fix: no block to wrap was found")
        return fixed

    return transform


def _wrap_ranges(node: cst.CSTNode, ranges: list[tuple[int, int]], item: cst.BaseExpression) -> cst.CSTNode:
    """`node` (a block) with each range [start, end) of its statements inside `with <item>:`."""
    body = list(node.body)  # type: ignore[attr-defined]
    for start, end in sorted(ranges, reverse=True):  # last first: earlier indices stay valid
        moved = body[start:end]
        leading = moved[0].leading_lines  # comments above the first statement stay above the `with`
        moved[0] = moved[0].with_changes(leading_lines=())
        wrapped = cst.With(items=[cst.WithItem(item=item)], body=cst.IndentedBlock(body=moved), leading_lines=leading)
        body[start:end] = [wrapped]
    return node.with_changes(body=body)


# ---- which device type ----------------------------------------------------------------------


def _device_type(analysis: ModuleAnalysis, container: cst.CSTNode, alias: str) -> str | None:
    """The `device_type=` expression, as source text, or None when the device cannot be told."""
    variable = _step_device(container)
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


def _step_device(container: cst.CSTNode) -> cst.BaseExpression | None:
    """The device the step moves its data to: `x.to(device)`, `torch.zeros(..., device=dev)`,
    when it is a name (or attribute) bound outside the step, so it is in scope where the `with` goes."""
    local = _bound_names(container)
    for node in walk(container):
        if not isinstance(node, cst.Call):
            continue
        candidates = [arg.value for arg in node.args if arg.keyword is not None and arg.keyword.value == "device"]
        if terminal_name(node.func) == "to" and isinstance(node.func, cst.Attribute) and node.args and node.args[0].keyword is None:
            candidates.insert(0, node.args[0].value)
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


def _top_level_alias(module: cst.Module) -> str | None:
    """The name `import torch` binds at the top of the module (not inside a function)."""
    for statement in module.body:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.Import):
                    for name in small.names:
                        if isinstance(name.name, cst.Name) and name.name.value == "torch":
                            return name.asname.name.value if name.asname else "torch"  # type: ignore[union-attr]
    return None
