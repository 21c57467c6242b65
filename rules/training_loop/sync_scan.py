"""The scan behind GL401 (host-device-sync-in-hot-loop): which calls in a loop body (or in a
helper it calls) read a value back from the GPU on every iteration, and which names hold tensors or
host values. Kept apart from the rule so that the rule module stays about reporting."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import libcst as cst
from greenlint.rules.analysis.literals import argument
from greenlint.rules.analysis.names import ImportTable, terminal_name
from greenlint.rules.analysis.training_loop_facts import walk
from greenlint.rules.training_loop.sync_guards import every_step_guard

SYNC_FUNCTIONS = {
    "torch.cuda.synchronize": "`torch.cuda.synchronize()` blocks the CPU until all queued GPU work is done",
}
# not `torch.cuda.empty_cache()`: a per-step one is GL415's, a default rule with its own measured
# saving (McGregorWwww/UCTransNet, blind54: GL401 and GL415 both reported the same call)
# Methods that return device tensors: a `.tolist()` on their result copies from the GPU.
_TENSOR_METHODS = frozenset(
    {
        "detach", "argmax", "argmin", "softmax", "log_softmax", "sigmoid", "topk", "max", "min", "sum", "mean",
        "float", "long", "int", "eq", "ne", "gt", "lt", "squeeze", "view", "reshape", "flatten", "round",
    }
)
_REDUCTIONS = frozenset({"sum", "mean", "max", "min", "norm", "std", "var", "amax", "amin", "prod", "count_nonzero"})
# what returns a tensor when called: `model(x)`, `criterion(out, y)`, `self.loss_fn(...)`, `compute_loss(...)`
_MODEL_CALLEE = re.compile(
    r"(^|_)(model|net|criterion|loss|loss_fn|loss_func|lossfn|encoder|decoder|classifier|head)\d*$|net$", re.IGNORECASE
)
_HOST_MODULES = ("numpy.", "math.", "statistics.", "pandas.", "sklearn.", "scipy.")
_BUILTIN_CASTS = frozenset({"float", "int", "bool"})


# SummaryWriter methods that read a tensor value back to the host to log it
_SCALAR_LOGGERS = frozenset({"add_scalar"})


@dataclass
class Sync:
    node: cst.Call | cst.Subscript  # a Subscript for the pre-0.4 idiom `loss.data[0]`
    what: str  # "`loss.item()`" etc.
    statement: cst.CSTNode | None  # the simple statement holding it
    assigned: str | None  # `name = <sync>`: the name, for the control-flow check
    # under an `if` that is true on every step (`if rank in {-1, 0}:`): its test and why
    guard: tuple[str, str] | None = None


@dataclass
class Scan:
    """What one scan of a loop body or helper body found."""

    syncs: list[Sync] = field(default_factory=list)
    casts: list[tuple[cst.Call, cst.BaseExpression, cst.CSTNode | None]] = field(default_factory=list)
    prints: list[tuple[cst.Call, cst.CSTNode | None]] = field(default_factory=list)
    # f-strings and `"%g" % (...)` outside `print` (a progress bar's text): (node, every-step guard)
    formats: list[tuple[cst.FormattedString | cst.BinaryOperation, tuple[str, str] | None]] = field(default_factory=list)
    helpers: list[cst.Call] = field(default_factory=list)  # unconditional calls, to follow
    # names bound to tensors (the loss that is backpropagated, model outputs) and to host values
    tensor_names: set[str] = field(default_factory=set)
    host_names: set[str] = field(default_factory=set)
    loss_names: set[str] = field(default_factory=set)  # the backpropagated values (`loss.backward()`)
    control_names: set[str] = field(default_factory=set)  # read by if/while tests or passed to `.step()`
    control_calls: set[int] = field(default_factory=set)  # calls inside the arguments of `env.step(...)`


class Scanner(cst.CSTVisitor):
    """Walks one body (a training-step loop's, or a helper's it calls) and records the calls that
    run on every iteration: not under `if`/`else`/`except`/ternary/`and`/`or`, not in a test."""

    def __init__(self, imports: ImportTable, skip: frozenset[int] = frozenset()) -> None:
        super().__init__()
        self.imports = imports
        # ids of nested loops not to enter: training-step loops of their own, scanned apart
        self._skip = skip
        self.scan = Scan()
        self._cond = 0
        self._test = 0
        self._statement: list[cst.CSTNode] = []
        # the innermost enclosing `if` that holds on every step: (its test's code, why)
        self._guards: list[tuple[str, str]] = []
        self._prints = 0  # inside `print(...)`: its arguments are checked as a whole (print_syncs)

    # ---- scopes that do not run here ------------------------------------------------------------
    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_For(self, node: cst.For) -> bool:
        return id(node) not in self._skip

    # ---- conditions -----------------------------------------------------------------------------
    def _visit_test(self, test: cst.BaseExpression) -> None:
        self._test += 1
        test.visit(self)
        self._test -= 1
        for node in walk(test):
            if isinstance(node, cst.Name):
                self.scan.control_names.add(node.value)

    def visit_If(self, node: cst.If) -> bool:
        self._visit_test(node.test)
        reason = every_step_guard(node.test) or steps_inside(node, self.scan.tensor_names - self.scan.host_names)
        if reason is not None:
            # `if rank in {-1, 0}:` / `if (i + 1) % accum == 0:`: the body still runs on every step
            self._guards.append((cst.Module([]).code_for_node(node.test), reason))
            node.body.visit(self)
            self._guards.pop()
        else:
            self._cond += 1
            node.body.visit(self)
            self._cond -= 1
        if node.orelse is not None:
            self._cond += 1
            node.orelse.visit(self)
            self._cond -= 1
        return False

    def visit_While(self, node: cst.While) -> bool:
        if id(node) in self._skip:
            return False
        self._visit_test(node.test)
        node.body.visit(self)
        if node.orelse is not None:
            node.orelse.visit(self)
        return False

    def visit_Assert(self, node: cst.Assert) -> bool:
        self._visit_test(node.test)
        return False

    def visit_IfExp(self, node: cst.IfExp) -> bool:
        self._visit_test(node.test)
        self._cond += 1
        node.body.visit(self)
        node.orelse.visit(self)
        self._cond -= 1
        return False

    def visit_BooleanOperation(self, node: cst.BooleanOperation) -> bool:
        node.left.visit(self)
        self._cond += 1
        node.right.visit(self)
        self._cond -= 1
        return False

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        self._cond += 1

    def leave_ExceptHandler(self, original_node: cst.ExceptHandler) -> None:
        self._cond -= 1

    def visit_MatchCase(self, node: cst.MatchCase) -> None:
        self._cond += 1

    def leave_MatchCase(self, original_node: cst.MatchCase) -> None:
        self._cond -= 1

    # ---- statements -----------------------------------------------------------------------------
    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        self._statement.append(node)

    def leave_SimpleStatementLine(self, original_node: cst.SimpleStatementLine) -> None:
        self._statement.pop()

    def visit_Assign(self, node: cst.Assign) -> None:
        if len(node.targets) != 1:
            return
        target = node.targets[0].target
        if isinstance(target, (cst.Tuple, cst.List)):
            # `loss, loss_items = compute_loss(pred, y)`: every part of a model/loss result is a tensor
            if self._value_kind(node.value) == "tensor":
                for element in target.elements:
                    if isinstance(element.value, cst.Name):
                        self.scan.tensor_names.add(element.value.value)
            return
        if not isinstance(target, cst.Name):
            return
        name = target.value
        kind = self._value_kind(node.value)
        if kind == "tensor":
            self.scan.tensor_names.add(name)
        elif kind == "host":
            self.scan.host_names.add(name)

    def _value_kind(self, value: cst.BaseExpression) -> str | None:
        for node in walk(value):
            if isinstance(node, cst.Call):
                func = node.func
                if isinstance(func, cst.Attribute) and func.attr.value in ("item", "tolist", "numpy", "cpu"):
                    return "host"
                if isinstance(func, cst.Name) and func.value in _BUILTIN_CASTS | {"len", "str"}:
                    return "host"
        if isinstance(value, cst.BinaryOperation) and any(
            isinstance(n, cst.Name) and n.value in self.scan.tensor_names and n.value not in self.scan.host_names
            for n in walk(value)
        ):
            return "tensor"  # `mloss = (mloss * i + loss_items) / (i + 1)`
        if isinstance(value, cst.Call):
            qualname = self.imports.resolve(value.func)
            if qualname is not None:
                if qualname.startswith("torch.") and not qualname.startswith("torch.cuda."):
                    return "tensor"
                if qualname.startswith(_HOST_MODULES):
                    return "host"  # `acc = np.mean(...)`: its `.item()` is a numpy call, no GPU sync
                return None
            callee = terminal_name(value.func) or ""  # `f()()` or `fns[i]()` have no simple name
            if _MODEL_CALLEE.search(callee) or _device_tensor(value, self.imports):
                return "tensor"
        return None

    def visit_FormattedString(self, node: cst.FormattedString) -> None:
        if not (self._cond or self._test or self._prints):
            self.scan.formats.append((node, self._guards[-1] if self._guards else None))

    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
        if isinstance(node.operator, cst.Modulo) and _format_string(node.left):
            if not (self._cond or self._test or self._prints):
                self.scan.formats.append((node, self._guards[-1] if self._guards else None))

    def leave_Call(self, original_node: cst.Call) -> None:
        if isinstance(original_node.func, cst.Name) and original_node.func.value == "print":
            self._prints -= 1

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Name) and func.value == "print":
            self._prints += 1
        statement = self._statement[-1] if self._statement else None
        if isinstance(func, cst.Attribute) and func.attr.value == "backward":
            if isinstance(func.value, cst.Name) and node.args and func.value.value not in self.scan.tensor_names:
                self._backward_receiver(node.args[0].value)  # `accelerator.backward(loss)`
            else:
                self._backward_receiver(func.value)  # `loss.backward()`, `scaler.scale(loss).backward()`
        elif self.imports.resolve(func) == "torch.autograd.backward" and node.args:
            self._backward_receiver(node.args[0].value)
        if isinstance(func, cst.Attribute) and func.attr.value == "step":
            for arg in node.args:  # `env.step(action)`: the value is needed on the host
                for sub in walk(arg.value):
                    if isinstance(sub, cst.Name):
                        self.scan.control_names.add(sub.value)
                    elif isinstance(sub, cst.Call):
                        self.scan.control_calls.add(id(sub))
        if self._cond or self._test:
            return
        sync = self._sync(node, statement)
        if sync is not None:
            sync.guard = self._guards[-1] if self._guards else None
            self.scan.syncs.append(sync)
            return
        if isinstance(func, cst.Name) and func.value not in self.imports.bindings:
            if func.value in _BUILTIN_CASTS and len(node.args) == 1 and not node.args[0].star:
                self.scan.casts.append((node, node.args[0].value, statement))
            elif func.value == "print":
                self.scan.prints.append((node, statement))
            else:
                self.scan.helpers.append(node)
        elif isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value in ("self", "cls"):
            self.scan.helpers.append(node)

    def _backward_receiver(self, receiver: cst.BaseExpression) -> None:
        # `scaler.scale(loss).backward()`
        if isinstance(receiver, cst.Call) and isinstance(receiver.func, cst.Attribute) and receiver.func.attr.value == "scale":
            if receiver.args:
                receiver = receiver.args[0].value
        if isinstance(receiver, cst.Name):
            self.scan.tensor_names.add(receiver.value)
            self.scan.loss_names.add(receiver.value)

    def visit_Subscript(self, node: cst.Subscript) -> None:
        if self._cond or self._test or not _scalar_data_index(node, self.scan):
            return
        statement = self._statement[-1] if self._statement else None
        sync = Sync(node, "", statement, assigned_name(statement, node))
        sync.guard = self._guards[-1] if self._guards else None
        self.scan.syncs.append(sync)

    def _sync(self, node: cst.Call, statement: cst.CSTNode | None) -> Sync | None:
        func = node.func
        qualname = self.imports.resolve(func)
        assigned = assigned_name(statement, node)
        if qualname in SYNC_FUNCTIONS:
            return Sync(node, f"`{qualname}()`", statement, assigned)
        if isinstance(func, cst.Attribute) and func.attr.value in _SCALAR_LOGGERS:
            return self._logged_tensor(node, statement, assigned)
        if not isinstance(func, cst.Attribute) or qualname is not None:
            return None
        attr = func.attr.value
        if attr not in ("item", "cpu", "tolist"):
            return None
        if attr == "item" and node.args:
            return None
        if _host_value(func.value, self.scan, self.imports):
            return None  # `.item()` of a numpy scalar or a Python number: nothing waits for the GPU
        if contains_sync(func.value, self.imports):
            return None  # `x.cpu().tolist()`: reported at `.cpu()`
        if attr == "tolist" and not _device_tensor(func.value, self.imports):
            return None
        return Sync(node, "", statement, assigned)


    def _logged_tensor(self, node: cst.Call, statement: cst.CSTNode | None, assigned: str | None) -> Sync | None:
        """`writer.add_scalar("loss", loss, step)` with a GPU tensor as the value: TensorBoard turns it
        into a number on the host (`make_np` -> `.cpu().numpy()`), a sync like `.item()`
        (sweetice/Deep-reinforcement-learning-with-pytorch TD3, blind36 post hoc)."""
        value = argument(node, "scalar_value", 1)
        if value is None or contains_sync(value, self.imports) or not tensorish(value, self.scan, self.imports):
            return None
        shown = short(cst.Module([]).code_for_node(value))
        return Sync(node, f"`{node.func.attr.value}` of the tensor `{shown}` (TensorBoard reads it back to the host)",
                    statement, assigned)


STEP_INSIDE_REASON = "true on every step that trains: its body runs the backward pass"


def steps_inside(node: cst.If, tensors: set[str]) -> str | None:
    """`if loss > threshold: loss.backward(); opt.step(); losses.append(loss.item())`: the `if`
    gates the training step itself on the step's own tensor, so what it guards runs on every step
    that trains (penguin1109/DACON_LightImageAI DEEPRCAN0731.ipynb, blind3). Only a test that reads
    a tensor of the step: a counter test is a real frequency guard (`if i % n_critic == 0:`, a GAN's
    generator every n-th step; `if batches_done < warmup_batches:`, a warm-up phase,
    eriklindernoren/PyTorch-GAN esrgan.py, blind)."""
    if any(isinstance(n, cst.BinaryOperation) and isinstance(n.operator, cst.Modulo) for n in walk(node.test)):
        return None
    if not any(isinstance(n, cst.Name) and n.value in tensors for n in walk(node.test)):
        return None
    for statement in node.body.body:
        for sub in walk(statement):
            if isinstance(sub, cst.Call) and isinstance(sub.func, cst.Attribute) and sub.func.attr.value == "backward":
                return STEP_INSIDE_REASON
    return None


# a loss-like name: `loss`, `d_loss`, `loss_G`, `total_loss`
_LOSS_NAME = re.compile(r"loss", re.IGNORECASE)


def _scalar_data_index(node: cst.Subscript, scan: Scan) -> bool:
    """`loss.data[0]`: PyTorch before 0.4 spelled `loss.item()` this way (a one-element tensor indexed
    with 0 returned a Python number, copied from the GPU). Only where the indexed value holds one
    element: the backpropagated loss, a loss-named tensor of the step, a reduction (`.sum()`,
    `.mean()` ...) or arithmetic on such values; `out.data[0]` of a model output is its first row,
    a tensor that stays on the device (share020/dl@73c10db assignments/mp4/src/part-2/src/utils.py,
    blind4)."""
    if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Index):
        return False
    index = node.slice[0].slice.value
    if not (isinstance(index, cst.Integer) and index.value == "0"):
        return False
    data = node.value
    if not (isinstance(data, cst.Attribute) and data.attr.value == "data"):
        return False
    return _one_element(data.value, scan)


def _one_element(expr: cst.BaseExpression, scan: Scan) -> bool:
    if isinstance(expr, cst.Name):
        name = expr.value
        if name in scan.host_names and name not in scan.tensor_names:
            return False
        return name in scan.loss_names or (name in scan.tensor_names and bool(_LOSS_NAME.search(name)))
    if isinstance(expr, cst.Call):
        return isinstance(expr.func, cst.Attribute) and expr.func.attr.value in _REDUCTIONS and not expr.args
    if isinstance(expr, cst.BinaryOperation):
        return _one_element(expr.left, scan) or _one_element(expr.right, scan)
    if isinstance(expr, cst.UnaryOperation):
        return _one_element(expr.expression, scan)
    return False


def assigned_name(statement: cst.CSTNode | None, node: cst.CSTNode) -> str | None:
    """`name = <expression containing node>`: name."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    small = statement.body[0]
    if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name):
        if any(sub is node for sub in walk(small.value)):
            return small.targets[0].target.value
    return None


def _host_value(expr: cst.BaseExpression, scan: Scan, imports: ImportTable) -> bool:
    """A value known to live on the host: a name bound to a numpy/math/... result or an earlier
    `.item()`, or an expression computed by such a library (`np.mean(hits).item()`); an element of
    such a value (`preds[i].item()` after `preds = out.cpu().numpy()`) lives there too."""
    while isinstance(expr, cst.Subscript):
        expr = expr.value
    if isinstance(expr, cst.Name):
        return expr.value in scan.host_names and expr.value not in scan.tensor_names
    if isinstance(expr, cst.Call):
        qualname = imports.resolve(expr.func)
        return qualname is not None and qualname.startswith(_HOST_MODULES)
    return False


def contains_sync(expr: cst.BaseExpression, imports: ImportTable) -> bool:
    for node in walk(expr):
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            if node.func.attr.value in ("item", "cpu", "tolist", "numpy") and imports.resolve(node.func) is None:
                return True
    return False


def _device_tensor(expr: cst.BaseExpression, imports: ImportTable) -> bool:
    """Does this expression compute a tensor (a tensor method or a torch function in it)?"""
    for node in walk(expr):
        if isinstance(node, cst.Call):
            qualname = imports.resolve(node.func)
            if qualname is not None:
                if qualname.startswith(_HOST_MODULES):
                    return False
                if qualname.startswith("torch."):
                    return True
            elif isinstance(node.func, cst.Attribute) and node.func.attr.value in _TENSOR_METHODS:
                return True
    return False


def tensorish(expr: cst.BaseExpression, scan: Scan, imports: ImportTable) -> bool:
    """A value that lives on the GPU: a name bound to the backpropagated loss or a model output, a
    reduction of a tensor (`(pred == y).sum()`), a torch function's result."""
    if isinstance(expr, cst.Name):
        return expr.value in scan.tensor_names and expr.value not in scan.host_names
    if isinstance(expr, cst.Call):
        qualname = imports.resolve(expr.func)
        if qualname is not None:
            return qualname.startswith("torch.") and not qualname.startswith("torch.cuda.")
        func = expr.func
        if isinstance(func, cst.Attribute) and func.attr.value in _REDUCTIONS:
            return not any(
                isinstance(n, cst.Call) and (imports.resolve(n.func) or "").startswith(_HOST_MODULES)
                for n in walk(func.value)
            )
    return False


def print_syncs(call: cst.Call, scan: Scan, imports: ImportTable) -> bool:
    for arg in call.args:
        value = arg.value
        if contains_sync(value, imports):
            return False  # the `.item()` inside is reported itself
        if tensorish(value, scan, imports):
            return True
        if isinstance(value, cst.FormattedString):
            for part in value.parts:
                if isinstance(part, cst.FormattedStringExpression) and tensorish(part.expression, scan, imports):
                    return True
    return False


def _format_string(expr: cst.BaseExpression) -> bool:
    """`"%g"`, `("%11s" * 2 + "%11.4g" * 5)`: a %-format string (not a number's modulo)."""
    return any(isinstance(n, cst.SimpleString) and "%" in n.value for n in walk(expr))


def formatted_tensors(node: cst.FormattedString | cst.BinaryOperation, scan: Scan, imports: ImportTable) -> list[cst.CSTNode]:
    """The GPU tensors a format turns into text: `f"{loss:.4f}"`, `"%g" % (*mloss,)`. Formatting
    one reads its value back from the GPU. Parts that sync themselves (`loss.item()`) are left to
    the `.item()` report."""
    if isinstance(node, cst.FormattedString):
        values = [p.expression for p in node.parts if isinstance(p, cst.FormattedStringExpression)]
    else:
        right = node.right
        if isinstance(right, (cst.Tuple, cst.List)):
            values = [e.value for e in right.elements]
        else:
            values = [right]
    return [v for v in values if not contains_sync(v, imports) and tensorish(v, scan, imports)]


def short(code: str) -> str:
    code = " ".join(code.split())
    return code if len(code) <= 50 else code[:47] + "..."


def scan_body(body: cst.CSTNode, imports: ImportTable, skip: frozenset[int] = frozenset()) -> Scan:
    scanner = Scanner(imports, skip)
    body.visit(scanner)
    return scanner.scan
