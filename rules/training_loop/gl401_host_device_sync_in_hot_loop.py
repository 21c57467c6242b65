"""GL401: a host-device synchronisation on every step of a GPU training loop."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import libcst as cst
from greenlint.rules.analysis import LoopInfo, ModuleAnalysis
from greenlint.rules.analysis.facts import FunctionInfo, ModuleFacts
from greenlint.rules.analysis.literals import literal_value
from greenlint.rules.analysis.names import ImportTable, dotted_name, terminal_name
from greenlint.rules.analysis.training_loop_facts import (
    GPU_WORDS,
    is_test_module,
    loop_header,
    walk,
)
from greenlint.rules.analysis.scope_facts import training_step_loops
from greenlint.rules.base import Evidence, Report, Rule, RuleFix
from greenlint.rules.impact import RuleImpact, WasteSize
from greenlint.rules.experiment.gl504_heavy_per_step_logging import per_step_loss_prints
from greenlint.rules.training_loop.sync_guards import every_step_guard
from greenlint.rules.fixes import find_statement_block

SYNC_FUNCTIONS = {
    "torch.cuda.synchronize": "`torch.cuda.synchronize()` blocks the CPU until all queued GPU work is done",
    "torch.cuda.empty_cache": "`torch.cuda.empty_cache()` synchronises and hands cached blocks back to the driver, "
    "so the next step must allocate them again",
}
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
_MAX_HELPER_DEPTH = 2
_EVALUATION = re.compile(r"^_*(eval|valid|val_|val$|test|predict|infer)", re.IGNORECASE)


@dataclass
class _Sync:
    node: cst.Call
    what: str  # "`loss.item()`" etc.
    statement: cst.CSTNode | None  # the simple statement holding it
    assigned: str | None  # `name = <sync>`: the name, for the control-flow check
    # under an `if` that is true on every step (`if rank in {-1, 0}:`): its test and why
    guard: tuple[str, str] | None = None


@dataclass
class _Scan:
    """What one scan of a loop body or helper body found."""

    syncs: list[_Sync] = field(default_factory=list)
    casts: list[tuple[cst.Call, cst.BaseExpression, cst.CSTNode | None]] = field(default_factory=list)
    prints: list[tuple[cst.Call, cst.CSTNode | None]] = field(default_factory=list)
    helpers: list[cst.Call] = field(default_factory=list)  # unconditional calls, to follow
    # names bound to tensors (the loss that is backpropagated, model outputs) and to host values
    tensor_names: set[str] = field(default_factory=set)
    host_names: set[str] = field(default_factory=set)
    control_names: set[str] = field(default_factory=set)  # read by if/while tests or passed to `.step()`
    control_calls: set[int] = field(default_factory=set)  # calls inside the arguments of `env.step(...)`


class _Scanner(cst.CSTVisitor):
    """Walks one body (a training-step loop's, or a helper's it calls) and records the calls that
    run on every iteration: not under `if`/`else`/`except`/ternary/`and`/`or`, not in a test."""

    def __init__(self, imports: ImportTable) -> None:
        super().__init__()
        self.imports = imports
        self.scan = _Scan()
        self._cond = 0
        self._test = 0
        self._statement: list[cst.CSTNode] = []
        # the innermost enclosing `if` that holds on every step: (its test's code, why)
        self._guards: list[tuple[str, str]] = []

    # ---- scopes that do not run here ------------------------------------------------------------
    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

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
        reason = every_step_guard(node.test)
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
        if len(node.targets) != 1 or not isinstance(node.targets[0].target, cst.Name):
            return
        name = node.targets[0].target.value
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

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
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

    def _sync(self, node: cst.Call, statement: cst.CSTNode | None) -> _Sync | None:
        func = node.func
        qualname = self.imports.resolve(func)
        assigned = _assigned_name(statement, node)
        if qualname in SYNC_FUNCTIONS:
            return _Sync(node, f"`{qualname}()`", statement, assigned)
        if not isinstance(func, cst.Attribute) or qualname is not None:
            return None
        attr = func.attr.value
        if attr not in ("item", "cpu", "tolist"):
            return None
        if attr == "item" and node.args:
            return None
        if _host_value(func.value, self.scan, self.imports):
            return None  # `.item()` of a numpy scalar or a Python number: nothing waits for the GPU
        if _contains_sync(func.value, self.imports):
            return None  # `x.cpu().tolist()`: reported at `.cpu()`
        if attr == "tolist" and not _device_tensor(func.value, self.imports):
            return None
        return _Sync(node, "", statement, assigned)


def _assigned_name(statement: cst.CSTNode | None, node: cst.Call) -> str | None:
    """`name = <expression containing node>`: name."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    small = statement.body[0]
    if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name):
        if any(sub is node for sub in walk(small.value)):
            return small.targets[0].target.value
    return None


def _host_value(expr: cst.BaseExpression, scan: _Scan, imports: ImportTable) -> bool:
    """A value known to live on the host: a name bound to a numpy/math/... result or an earlier
    `.item()`, or an expression computed by such a library (`np.mean(hits).item()`)."""
    if isinstance(expr, cst.Name):
        return expr.value in scan.host_names and expr.value not in scan.tensor_names
    if isinstance(expr, cst.Call):
        qualname = imports.resolve(expr.func)
        return qualname is not None and qualname.startswith(_HOST_MODULES)
    return False


def _contains_sync(expr: cst.BaseExpression, imports: ImportTable) -> bool:
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


def _tensorish(expr: cst.BaseExpression, scan: _Scan, imports: ImportTable) -> bool:
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


def _print_syncs(call: cst.Call, scan: _Scan, imports: ImportTable) -> bool:
    for arg in call.args:
        value = arg.value
        if _contains_sync(value, imports):
            return False  # the `.item()` inside is reported itself
        if _tensorish(value, scan, imports):
            return True
        if isinstance(value, cst.FormattedString):
            for part in value.parts:
                if isinstance(part, cst.FormattedStringExpression) and _tensorish(part.expression, scan, imports):
                    return True
    return False


class HostDeviceSyncInHotLoop(Rule):
    code = "GL401"
    name = "host-device-sync-in-hot-loop"
    summary = "The CPU waits for the GPU on every training step (`.item()`, `.cpu()`, `synchronize()` ...)"
    detects = """
        In a module that puts work on a CUDA GPU, inside a training-step loop (backward + optimizer
        step), or in a function of the module that the loop calls on every step: `.item()`, `.cpu()`,
        `.tolist()` of a tensor, `float(t)`/`int(t)`/`bool(t)` and `print(t)` of a tensor (the
        backpropagated loss, a model output, a reduction such as `(pred == y).sum()`),
        `torch.cuda.synchronize()` and `torch.cuda.empty_cache()`. Calls under an `if` (a
        `step % 100 == 0` logging guard), in an `else`/`except` branch, or whose value decides
        control flow (an `if` test, a NaN check, an `env.step(action.item())`) are not reported, and
        evaluation helpers the loop calls (`test()`, `evaluate()`: full-batch training evaluates on
        every step) are not followed. A `print`/logger call of the loss on every step is left to
        GL504 (heavy-per-step-logging), the more specific rule, and the syncs inside it are not
        reported here. Test modules (a test framework or testing helpers imported) are skipped, and
        so are loops that build a new optimizer on every iteration (numerics checks, not training).
    """
    why = """
        CUDA work is asynchronous: the CPU queues kernels and moves on. Reading a value back (or
        synchronising) makes the CPU wait until the GPU has finished everything queued so far, so the
        CPU cannot queue the next step's kernels while the GPU works: the GPU idles between steps.
    """
    bad_example = """
        import torch

        model = Net().cuda()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        total = 0.0
        for x, y in loader:
            loss = torch.nn.functional.cross_entropy(model(x.cuda()), y.cuda())
            loss.backward()
            opt.step()
            opt.zero_grad()
            total += loss.item()
    """
    good_example = """
        import torch

        model = Net().cuda()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        total = torch.zeros((), device="cuda")
        for step, (x, y) in enumerate(loader):
            loss = torch.nn.functional.cross_entropy(model(x.cuda()), y.cuda())
            loss.backward()
            opt.step()
            opt.zero_grad()
            total += loss.detach()
            if step % 100 == 0:
                print(f"step {step}: loss {loss.item():.4f}")
        print(total.item() / len(loader))
    """
    fix = """
        Keep running values on the device (`total += loss.detach()`) and read them once per epoch or
        every N steps under an `if step % N == 0:` guard; drop per-step `torch.cuda.synchronize()` and
        `empty_cache()`. The unsafe autofix rewrites `total += loss.item()` to
        `total += loss.detach().float()` and converts `total` with `float(total)` after the loop (it
        sums in float32 on the GPU instead of float64 on the host), when `total` starts as a number
        just before the loop and is read nowhere else inside it.
    """
    fix_applicability = "unsafe"
    evidence = (
        Evidence(
            "GPT-style 125M model, bf16: `loss.item()` on every step raised GPU energy per step from 24.9 J to "
            "25.4 J (2 %), 42 -> 45 ms per step",
            "greenlint's own H100 measurements (docs/evidence.md#h100-training-step), one run, about ±5 % noise",
            "measured",
        ),
        Evidence("per-step `.item()` cost 40-50 ms of cudaStreamSynchronize per step (Llama-2-7B LoRA)", "meta-pytorch/torchtune PR #522", "issue"),
        Evidence("deferring one `.item()` per step: +5-7 % (1 GPU), +10 % (2 GPUs)", "openvdb/fvdb-reality-capture PR #144", "issue"),
        Evidence("removing a per-step `float(loss)`: 4 % in a micro-benchmark, under 1 % in real training", "lnccbrown/LANfactory PR #120", "issue"),
    )
    saving_scope = "the GPU idle time between training steps that the sync causes (at most min(CPU time, GPU time) per step)"
    impact = RuleImpact(
        WasteSize(
            0.0,
            0.07,
            "per-step syncs cost 'under 1 %' in LANfactory's real training, 2 % measured by greenlint on an H100 "
            "(GPT-style 125M, bf16) and 5-7 % in fVDB on one GPU",
        ),
        "every-step",
    )
    trigger = (
        ("backward(",),
        ("step(", ".step_"),  # `optimizer.step_and_update_lr()` of a scheduled-optimizer wrapper
        (".item()", ".cpu()", ".tolist()", "float(", "int(", "bool(", "print(", "synchronize(", "empty_cache("),
        GPU_WORDS,
    )

    def check(self, analysis: ModuleAnalysis) -> Iterable[Report]:
        loops = training_step_loops(analysis)
        if not loops or not analysis.device.uses_gpu or is_test_module(analysis):
            return
        facts = analysis.facts
        # A per-step `print`/log of the loss is GL504's (the more specific rule): the syncs inside it
        # are not reported twice.
        reported: set[int] = _inside_loss_prints(analysis)
        for loop in loops:
            header = loop_header(analysis, loop)
            loop_scan = _scan(loop.node.body, facts.imports)
            bodies: list[tuple[_Scan, FunctionInfo | None]] = [(loop_scan, None)]
            bodies.extend(_helper_scans(facts, loop_scan, 1, set()))
            for scan, function in bodies:
                where = f"on every step of `{header}`"
                if function is not None:
                    where = f"in `{function.name}()`, which runs on every step of `{header}`"
                yield from self._reports(analysis, loop, scan, where, function is None, reported)

    def _reports(
        self, analysis: ModuleAnalysis, loop: LoopInfo, scan: _Scan, where: str, in_loop: bool, reported: set[int]
    ) -> Iterable[Report]:
        imports = analysis.facts.imports
        for sync in scan.syncs:
            if id(sync.node) in reported or id(sync.node) in scan.control_calls:
                continue
            if sync.assigned is not None and sync.assigned in scan.control_names:
                continue
            reported.add(id(sync.node))
            code = analysis.module.code_for_node(sync.node)
            what = sync.what or f"`{_short(code)}`"
            if sync.what and sync.node.func and imports.resolve(sync.node.func) in SYNC_FUNCTIONS:
                reason = SYNC_FUNCTIONS[imports.resolve(sync.node.func)]  # type: ignore[index]
                message = f"{reason}, {where}; remove it from the training step"
            else:
                message = (
                    f"{what} copies a value from the GPU {where}: the CPU waits for all queued GPU work "
                    "before it can queue the next step; keep running values on the device and read them "
                    "every N steps (measured: `loss.item()` every step cost 2 % more GPU energy per step "
                    "on an H100)"
                )
            if sync.guard is not None:
                test, why = sync.guard
                message += f" (it is under `if {_short(test)}:`, which is {why})"
            fix = _accumulate_fix(analysis, loop, sync) if in_loop and sync.guard is None else None
            yield Report(sync.node, message, fix=fix, frequency="every-step")
        for call, arg, statement in scan.casts:
            if id(call) in reported or _contains_sync(arg, imports) or not _tensorish(arg, scan, imports):
                continue
            assigned = _assigned_name(statement, call)
            if assigned is not None and assigned in scan.control_names:
                continue
            reported.add(id(call))
            code = _short(analysis.module.code_for_node(call))
            yield Report(
                call,
                f"`{code}` converts a GPU tensor to a Python number {where}: the CPU waits for all queued "
                "GPU work; keep the value on the device and convert it every N steps",
            )
        for call, _statement in scan.prints:
            if id(call) in reported or not _print_syncs(call, scan, imports):
                continue
            reported.add(id(call))
            yield Report(
                call,
                f"`print` of a GPU tensor {where}: formatting it copies the value to the host and waits for "
                "the GPU; print every N steps under an `if step % N == 0:` guard",
            )


def _inside_loss_prints(analysis: ModuleAnalysis) -> set[int]:
    """ids of the nodes inside the per-step loss prints that GL504 reports, the prints included."""
    deferred = per_step_loss_prints(analysis)
    if not deferred:
        return set()
    return {id(node) for site in analysis.facts.calls if id(site.node) in deferred for node in walk(site.node)}


def _short(code: str) -> str:
    code = " ".join(code.split())
    return code if len(code) <= 50 else code[:47] + "..."


def _scan(body: cst.CSTNode, imports: ImportTable) -> _Scan:
    scanner = _Scanner(imports)
    body.visit(scanner)
    return scanner.scan


def _helper_scans(
    facts: ModuleFacts, scan: _Scan, depth: int, seen: set[int]
) -> list[tuple[_Scan, FunctionInfo]]:
    """Scans of the module's functions that the scanned body calls on every iteration."""
    result: list[tuple[_Scan, FunctionInfo]] = []
    if depth > _MAX_HELPER_DEPTH:
        return result
    for call in scan.helpers:
        site_functions = _local_functions(facts, call)
        for function in site_functions:
            if id(function) in seen or _EVALUATION.search(function.name):
                continue  # an evaluation helper returns its metrics: reading them is its purpose
            seen.add(id(function))
            inner = _scan(function.node.body, facts.imports)
            inner.tensor_names |= _tensor_params(function, call, scan)
            result.append((inner, function))
            result.extend(_helper_scans(facts, inner, depth + 1, seen))
    return result


def _tensor_params(function: FunctionInfo, call: cst.Call, scan: _Scan) -> set[str]:
    """The helper's parameters that receive a tensor of the caller (`log_step(loss)`)."""
    params = [p.name.value for p in (*function.node.params.posonly_params, *function.node.params.params)]
    if function.class_name is not None and params and params[0] in ("self", "cls"):
        params = params[1:]
    result: set[str] = set()
    position = 0
    for arg in call.args:
        if arg.star:
            break
        if arg.keyword is not None:
            name = arg.keyword.value
        elif position < len(params):
            name = params[position]
            position += 1
        else:
            continue
        value = arg.value
        if isinstance(value, cst.Name) and value.value in scan.tensor_names and value.value not in scan.host_names:
            result.add(name)
    return result


def _local_functions(facts: ModuleFacts, call: cst.Call) -> list[FunctionInfo]:
    func = call.func
    if isinstance(func, cst.Name):
        if func.value in facts.imports.bindings:
            return []
        return [f for f in facts.functions.get(func.value, []) if f.class_name is None]
    if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value in ("self", "cls"):
        return [f for f in facts.functions.get(func.attr.value, []) if f.class_name is not None]
    return []


# ---- the fix: `total += loss.item()` -> `total += loss.detach().float()` -------------------------


def _accumulate_fix(analysis: ModuleAnalysis, loop: LoopInfo, sync: _Sync) -> RuleFix | None:
    statement = sync.statement
    call = sync.node
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    small = statement.body[0]
    if not isinstance(small, cst.AugAssign) or not isinstance(small.operator, cst.AddAssign):
        return None
    if not isinstance(small.target, cst.Name) or not isinstance(call.func, cst.Attribute) or call.func.attr.value != "item":
        return None
    receiver = call.func.value
    if dotted_name(receiver) is None:
        return None  # `model(x).sum().item()`: keep it simple
    value = small.value
    if value is not call:
        if not isinstance(value, cst.BinaryOperation) or not isinstance(value.operator, (cst.Multiply, cst.Divide)):
            return None
        other = value.right if value.left is call else value.left if value.right is call else None
        if other is None or any(isinstance(n, cst.Call) and not _is_size_call(n) for n in walk(other)):
            return None
    name = small.target.value
    body = loop.node.body
    if not isinstance(body, cst.IndentedBlock) or statement not in body.body:
        return None  # only a statement directly in the loop body runs unconditionally
    uses = sum(1 for n in walk(loop.node) if isinstance(n, cst.Name) and n.value == name)
    if uses != 1:
        return None  # read (or rebound) elsewhere in the loop: it must stay a Python number there
    located = find_statement_block(analysis.module, loop.node)
    if located is None:
        return None
    block, index = located
    if not _starts_as_number(block.body[:index], name):  # type: ignore[attr-defined]
        return None
    new_call = cst.Call(
        func=cst.Attribute(
            value=cst.Call(func=cst.Attribute(value=receiver, attr=cst.Name("detach"))), attr=cst.Name("float")
        )
    )
    convert = cst.parse_statement(f"{name} = float({name})\n")
    loop_node = loop.node

    class Transform(cst.CSTTransformer):
        def on_leave(self, original_node, updated_node):
            if original_node is call:
                return new_call
            if original_node is block:
                new_body = list(updated_node.body)
                position = next(i for i, s in enumerate(block.body) if s is loop_node)  # type: ignore[attr-defined]
                new_body.insert(position + 1, convert)
                return updated_node.with_changes(body=new_body)
            return updated_node

    return RuleFix(
        f"accumulate `{name}` on the GPU (`.detach().float()`) and convert it once after the loop",
        "unsafe",
        lambda module: module.visit(Transform()),
    )


def _is_size_call(node: cst.Call) -> bool:
    func = node.func
    if isinstance(func, cst.Name) and func.value == "len":
        return True
    return isinstance(func, cst.Attribute) and func.attr.value in ("size", "numel")


def _starts_as_number(statements: list[cst.CSTNode], name: str) -> bool:
    """The last statement before the loop that mentions `name` is `name = <int/float literal>`."""
    for statement in reversed(statements):
        if not any(isinstance(n, cst.Name) and n.value == name for n in walk(statement)):
            continue
        if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
            small = statement.body[0]
            if isinstance(small, cst.Assign) and len(small.targets) == 1:
                target = small.targets[0].target
                value = literal_value(small.value)
                return (
                    isinstance(target, cst.Name)
                    and target.value == name
                    and isinstance(value, (int, float))
                    and not isinstance(value, bool)
                )
        return False
    return False


RULE = HostDeviceSyncInHotLoop()
