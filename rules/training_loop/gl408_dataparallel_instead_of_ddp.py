"""GL408: `nn.DataParallel` where DistributedDataParallel would do the same work with less waste."""

from __future__ import annotations

from collections.abc import Iterable

from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.scope_facts import module_trains
from greenlint.rules.analysis.training_loop_facts import is_test_module
from greenlint.rules.base import Evidence, Report, Rule

DATA_PARALLEL = frozenset(
    {"torch.nn.DataParallel", "torch.nn.parallel.DataParallel", "torch.nn.parallel.data_parallel.DataParallel"}
)
# The functional form scatters, replicates and gathers on every call, like the module's forward
# (earhian/Humpback-Whale-Identification-1st- 2bcb126 train.py:261, blind18, 5 GPUs)
FUNCTIONAL_DATA_PARALLEL = frozenset({"torch.nn.parallel.data_parallel", "torch.nn.parallel.data_parallel.data_parallel"})
_DDP = "DistributedDataParallel"
# The module already offers a distributed launch: DataParallel is the fallback the user chose.
_DISTRIBUTED_WORDS = (_DDP, "FullyShardedDataParallel", "deepspeed", "Accelerator(", "init_process_group")


class DataParallelInsteadOfDDP(Rule):
    code = "GL408"
    # Out of the default set (issue 14, rule under 80 % blind precision): 0 of 11 findings worth acting on in the
    # fourth blind corpus (DataParallel over a node's single GPU, a branch dead because ngpu = 1); 0/2 on the third.
    preview = True
    name = "dataparallel-instead-of-ddp"
    summary = "`nn.DataParallel` replicates the model from one Python process on every step; use DDP"
    detects = """
        A call of `torch.nn.DataParallel(...)` or of the functional `torch.nn.parallel.data_parallel(model, x)`
        (any import spelling) in a module that offers no
        distributed alternative: no `DistributedDataParallel`, FSDP, DeepSpeed, Accelerate or
        `init_process_group` anywhere in it. When the module can already run with DDP, the
        DataParallel branch is the user's explicit fallback and is not reported. Test modules are
        skipped, and so is a `DataParallel` built in a method of a class in a module that neither trains
        nor loops (a training framework's DataParallel strategy: DP is what its user selected).
    """
    why = """
        DataParallel runs all GPUs from one Python thread: every step it scatters the inputs, copies
        the model's parameters to each GPU again, gathers the outputs on GPU 0 and reduces the
        gradients there. GPU 0 does more work and holds more memory than the others, which wait; the
        GIL serialises the per-GPU Python work. DistributedDataParallel keeps one process per GPU and
        overlaps its all-reduce with backward, so the same training finishes sooner on the same
        GPUs.
    """
    bad_example = """
        import torch

        model = torch.nn.DataParallel(Net()).cuda()
    """
    good_example = """
        import torch
        import torch.distributed as dist
        from torch.nn.parallel import DistributedDataParallel as DDP

        dist.init_process_group("nccl")
        rank = dist.get_rank()
        model = DDP(Net().to(rank), device_ids=[rank])
    """
    fix = """
        Launch one process per GPU (`torchrun --nproc_per_node=N train.py`), call
        `torch.distributed.init_process_group("nccl")`, wrap the model in
        `DistributedDataParallel(model, device_ids=[local_rank])` and give the DataLoader a
        `DistributedSampler`. Accelerate or Lightning do this for you. On a single GPU, drop the
        wrapper altogether.
    """
    fix_applicability = None
    evidence = (
        Evidence(
            "DistributedDataParallel 'offers much better performance and scaling to multiple GPUs' than "
            "DataParallel (no number given)",
            "PyTorch Performance Tuning Guide; torch.nn.DataParallel documentation",
            "doc",
        ),
        Evidence("saving depends on the number of GPUs and the model; no measurement at hand", "greenlint's research notes, no source with a number found (docs/evidence.md#gl408)", "unquantified"),
    )
    saving_scope = "the multi-GPU training's idle and duplicated GPU time (scaling efficiency)"
    impact = None  # no quantified source (the docs say 'much better' without a number): shown as impact unknown
    # The documented (loose) trigger; `could_match` below also drops the modules that offer a
    # distributed alternative (the check would stay silent there), so they are not parsed for it.
    trigger = (("DataParallel", "data_parallel("),)

    def could_match(self, text: str) -> bool:
        if "DataParallel(" not in text and "DataParallel as" not in text and "data_parallel(" not in text:
            return False
        return not any(word in text for word in _DISTRIBUTED_WORDS)

    def check(self, analysis: ModuleAnalysis) -> Iterable[Report]:
        sites = [site for site in analysis.facts.calls if site.qualname in DATA_PARALLEL or site.qualname in FUNCTIONAL_DATA_PARALLEL]
        if not sites or is_test_module(analysis):
            return
        code = analysis.code
        if any(word in code for word in _DISTRIBUTED_WORDS):
            return
        trains: bool | None = None
        for site in sites:
            if site.class_name is not None and site.function is not None:
                if trains is None:
                    trains = module_trains(analysis) or any(loop.calls for loop in analysis.facts.loops)
                if not trains:
                    continue  # a framework's DataParallel strategy (`setup_module`): the user chose DP there
            if site.qualname in FUNCTIONAL_DATA_PARALLEL:
                yield Report(
                    site.node,
                    "`data_parallel(model, ...)` drives every GPU from one Python process and copies the model to "
                    "each GPU on every call; wrap the model once in `DistributedDataParallel` (one process per GPU, "
                    "e.g. via `torchrun`), or call it directly on a single GPU",
                )
                continue
            yield Report(
                site.node,
                "`DataParallel` drives every GPU from one Python process and copies the model to each "
                "GPU on every step; use `DistributedDataParallel` (one process per GPU, e.g. via "
                "`torchrun`), or no wrapper on a single GPU",
            )


RULE = DataParallelInsteadOfDDP()
