"""GL105: a model trained in float64 on a GPU."""

from __future__ import annotations

import re
from collections.abc import Iterable

import libcst as cst
from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.facts import CallSite
from greenlint.rules.analysis.literals import (
    argument,
    keyword_arg,
    literal_value,
    string_value,
)
from greenlint.rules.analysis.precision_facts import ModelRecognizer, is_test_module
from greenlint.rules.base import Evidence, Report, Rule

_FLOAT64 = frozenset({"torch.float64", "torch.double"})
_DOUBLE_TENSOR_TYPES = frozenset({"torch.DoubleTensor", "torch.cuda.DoubleTensor"})
# Libraries whose models are meant to run in float64 (Gaussian processes: Cholesky stability).
_FLOAT64_LIBRARIES = ("gpytorch", "botorch", "pyro")
# Scientific ML that differentiates the network itself (PINNs, Hamiltonian nets, PDE solvers).
_DERIVATIVE_CALLS = frozenset({"torch.autograd.grad", "torch.func.jacrev", "torch.func.jacfwd", "torch.func.hessian"})
_SCIENTIFIC = re.compile(r"physics|\bpinns?\b|\bpdes?\b|differential equation|navier|hamiltonian", re.IGNORECASE)


def _scientific(analysis: ModuleAnalysis) -> bool:
    """Float64 is likely deliberate: the network's own derivatives are trained (`autograd.grad`
    with `create_graph=True`, `torch.func` Jacobians), or the code talks about physics or PDEs."""
    for site in analysis.facts.calls:
        qualname = site.qualname
        if qualname in _DERIVATIVE_CALLS:
            if qualname != "torch.autograd.grad":
                return True
            create_graph = argument(site.node, "create_graph")
            if create_graph is not None and literal_value(create_graph) is not False:
                return True
    return bool(_SCIENTIFIC.search(analysis.code))


def _is_float64(node: cst.BaseExpression | None, site: CallSite) -> bool:
    if node is None:
        return False
    if site.imports.resolve(node) in _FLOAT64 | _DOUBLE_TENSOR_TYPES:
        return True
    return string_value(node) in ("torch.DoubleTensor", "torch.cuda.DoubleTensor", "torch.float64", "torch.double")


def _float64_sites(analysis: ModuleAnalysis) -> list[tuple[CallSite, str]]:
    """(call, how it is spelled) for every place that makes the model's parameters float64."""
    found: list[tuple[CallSite, str]] = []
    models: ModelRecognizer | None = None
    for site in analysis.facts.calls:
        qualname = site.qualname
        call = site.node
        if qualname == "torch.set_default_dtype":
            if _is_float64(argument(call, "d", 0), site):
                found.append((site, "torch.set_default_dtype(torch.float64)"))
            continue
        if qualname == "torch.set_default_tensor_type":
            if _is_float64(argument(call, "t", 0), site):
                found.append((site, "torch.set_default_tensor_type(DoubleTensor)"))
            continue
        if qualname is not None and qualname.startswith("torch.nn.") and qualname.rsplit(".", 1)[-1][:1].isupper():
            dtype = keyword_arg(call, "dtype")
            if dtype is not None and _is_float64(dtype.value, site):
                found.append((site, f"{qualname.rsplit('.', 1)[-1]}(..., dtype=torch.float64)"))
            elif qualname.endswith(".Parameter"):
                data = argument(call, "data", 0)
                if isinstance(data, cst.Call) and _is_float64(argument(data, "dtype"), site):
                    found.append((site, "Parameter(... dtype=torch.float64)"))
            continue
        if not site.is_method_call or site.receiver is None:
            continue
        attr = site.attr
        if attr == "double" and not call.args:
            spelled = ".double()"
        elif attr in ("to", "type") and any(_is_float64(arg.value, site) for arg in call.args):
            spelled = f".{attr}(torch.float64)"
        else:
            continue
        if models is None:
            models = ModelRecognizer(analysis.facts)
        if models.is_model(site.receiver):
            receiver = analysis.module.code_for_node(site.receiver)
            if len(receiver) > 40:
                receiver = "model"
            found.append((site, f"{receiver}{spelled}"))
    return found


class Float64TrainingOnGpu(Rule):
    code = "GL105"
    name = "float64-training-on-gpu"
    summary = "A model is trained in float64 on a GPU"
    detects = """
        In a module that puts work on a CUDA GPU and has a training loop (`backward()` and an
        optimizer step): a model converted to float64 (`model.double()`, `model.to(torch.float64)`,
        `model.type(torch.DoubleTensor)`), layers or parameters built with `dtype=torch.float64`, or
        `torch.set_default_dtype(torch.float64)` / `torch.set_default_tensor_type(torch.DoubleTensor)`.
        `.double()` on tensors that are not the model (accuracy counters, metrics, a numerically
        careful reduction) is not reported: the receiver must be a `torch.nn` module, a class of the
        module that subclasses one, a torchvision/timm/transformers model, or a variable whose
        `.parameters()` go to an optimizer. Skipped where float64 is likely deliberate: modules
        using GPyTorch, BoTorch or Pyro; scientific ML that trains the network's own derivatives
        (`torch.autograd.grad(..., create_graph=True)`, `torch.func` Jacobians and Hessians, as
        physics-informed networks do); code that mentions physics, PINNs, PDEs, differential
        equations or Hamiltonians.
    """
    why = """
        GPUs run float64 arithmetic at a fraction of their float32 rate (on most data-centre and all
        consumer GPUs), and float64 cannot use the tensor-core paths (TF32, bf16, fp16) at all. A
        network trained in float64 therefore spends several times the GPU time and energy of the
        same network in float32, and much more than in bf16. Neural-network training almost never
        needs float64; a common reason to see `model.double()` is to match float64 NumPy inputs,
        which converting the inputs to float32 fixes instead.
    """
    bad_example = """
        import torch

        model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 1))
        model = model.double().cuda()
        opt = torch.optim.Adam(model.parameters())
        for x, y in loader:
            loss = torch.nn.functional.mse_loss(model(x.cuda()), y.cuda())
            loss.backward()
            opt.step()
            opt.zero_grad()
    """
    good_example = """
        import torch

        model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 1))
        model = model.cuda()
        opt = torch.optim.Adam(model.parameters())
        correct = 0
        for x, y in loader:
            loss = torch.nn.functional.mse_loss(model(x.float().cuda()), y.float().cuda())
            loss.backward()
            opt.step()
            opt.zero_grad()
            correct += (model(x.float().cuda()) > 0).double().sum()
    """
    fix = """
        Train in float32: drop `.double()` / `dtype=torch.float64` / the float64 default dtype and
        convert float64 inputs with `.float()` (or `torch.from_numpy(a).float()`, `np.float32`
        arrays). Then consider bf16 autocast (GL101). Keep float64 only for the few computations that
        need it (a loss term, a reduction), not for the whole network. Not fixed automatically: the
        inputs usually have to change together with the model, or the program fails on a dtype
        mismatch.
    """
    fix_applicability = None
    evidence = (
        Evidence(
            "float64 throughput of GPUs is a fraction of their float32 throughput and float64 has no "
            "tensor-core TF32/bf16 path; greenlint's research files hold no measured float64 number",
            "architecture (vendor datasheets list FP64 separately and far below the tensor-core rates)",
            "unquantified",
        ),
        Evidence(
            "H100 SXM peak: FP32 67 TFLOPS, TF32 about 495 dense, BF16/FP16 about 989 dense: leaving "
            "strict float types behind is what unlocks the tensor cores",
            "second-hand: a reseller's copy of the NVIDIA H100 datasheet (docs/evidence.md#gl105)",
            "doc",
        ),
    )
    saving_scope = "the GPU compute energy of the training step (float64 -> float32, then more with bf16); magnitude not measured"
    # No quantified source: the evidence is the datasheets' peak rates, not a measured saving (issue 14:
    # never invent a figure), so the finding's impact is "unknown" and it is always shown.
    impact = None
    trigger = (
        ("backward(",),
        ("step(",),
        (".double()", "float64", "torch.double", "DoubleTensor"),
        ("cuda", "device_map", "DataParallel", "Accelerator", "gpu", "accelerator"),
    )

    def check(self, analysis: ModuleAnalysis) -> Iterable[Report]:
        if not any(loop.does_backward and loop.does_step for loop in analysis.facts.loops):
            return
        if any(binding.split(".", 1)[0] in _FLOAT64_LIBRARIES for binding in analysis.facts.imports.bindings.values()):
            return
        sites = _float64_sites(analysis)
        if not sites or not analysis.device.uses_gpu or is_test_module(analysis) or _scientific(analysis):
            return
        for site, spelled in sites:
            yield Report(
                site.node,
                f"`{spelled}` makes the model train in float64 on the GPU ({analysis.device.evidence}): "
                "float64 runs at a fraction of float32 speed and cannot use tensor cores; train in "
                "float32 (convert float64 inputs with `.float()`), then consider bf16 autocast",
            )


RULE = Float64TrainingOnGpu()
