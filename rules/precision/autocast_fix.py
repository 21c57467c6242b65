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
from greenlint.rules.analysis.facts import CallSite
from greenlint.rules.analysis.training_steps import is_backward_call
from greenlint.rules.analysis.names import terminal_name
from greenlint.rules.analysis.tree import walk
from greenlint.rules.base import RuleFix
from greenlint.rules.fixes import (
    chain,
    ensure_import,
    find_statement_block,
    module_alias,
    statement_containing,
    top_level_torch_alias,
)
from greenlint.rules.precision.device_type import device_type_expression

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
@dataclass(frozen=True)
class _Region:
    block: cst.CSTNode  # IndentedBlock or Module holding the statements
    start: int  # first statement wrapped
    end: int  # the backward statement (not wrapped)


def autocast_advice(analysis: ModuleAnalysis, loop: LoopInfo) -> str:
    """The `torch.autocast(...)` call to write for this step, for the finding's message: with the
    step's own device type when it can be told, `device_type=...` otherwise."""
    found = _backward_sites(analysis, loop)
    alias = top_level_torch_alias(analysis.module) or module_alias(analysis.facts.imports, "torch") or "torch"
    device_type = device_type_expression(analysis, found[1], alias) if found else None
    return f"{alias}.autocast(device_type={device_type or '...'}, dtype={alias}.bfloat16)"


def autocast_fix(analysis: ModuleAnalysis, loop: LoopInfo) -> RuleFix | None:
    """Wrap the statements that compute each loss (those right before its `backward()`) in
    `torch.autocast(device_type=..., dtype=torch.bfloat16)`; backward and step stay outside."""
    found = _backward_sites(analysis, loop)
    if not found:
        return None
    sites, container = found
    alias = top_level_torch_alias(analysis.module) or module_alias(analysis.facts.imports, "torch")
    steps = []
    if alias is None:
        alias = "torch"
        steps.append(ensure_import("torch"))
    device_type = device_type_expression(analysis, container, alias)
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
