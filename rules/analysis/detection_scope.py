"""Which findings of a detected long run the run's length makes worth showing (session 16).

A detected long run (long_run_evidence.py) shows the run-length rules (rules.DETECTION_CODES) in
a file the user did not name. Four kinds need more than a long run:
- PER_FIT_CODES (early stopping) save a share of ONE training: a notebook whose saved output shows
  every training under an hour has none to cut short (long_run_evidence.each_training_short);
- MULTI_GPU_CODES (DataParallel instead of DDP) waste nothing on one GPU: they need evidence that
  the run uses several (multi_gpu.py);
- COMPUTE_BOUND_CODES (mixed precision) save nothing on a launch-bound step: not on a known small
  workload (workload.py), not on a model that is only narrow Linear layers (model_size.
  mlp_only_model; unless the run is spread over several GPUs), not on a GPU without tensor cores
  that the project names (gpu_hints.py).
- STEP_SYNC_CODES (per-step host syncs) on a compute-heavy step: only where the module syncs
  MIN_SYNCS_ON_HEAVY_STEP times or more; one or two syncs are a small share of a long step.
Naming the file in `long-runs` still shows them: the user knows the run.
"""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst

from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.heavy_workload import heavy_training_workload
from greenlint.rules.analysis.long_run_evidence import distributed_run, each_training_short
from greenlint.rules.analysis.model_size import mlp_only_model
from greenlint.rules.analysis.multi_gpu import multi_gpu_evidence
from greenlint.rules.analysis.workload import small_training_workload
from greenlint.rules.base import Report

# One or two host syncs per step of a compute-heavy model (tens to hundreds of ms) cost well under
# 1 % (GL401's evidence: "under 1 % in real training", 2 % on a 42 ms step); three or more stall
# every step several times. Session 17, every blind verdict on detected runs with a heavy step:
# right where a step reads 3-9 values (fast-autoaugment, EfficientDet, U-2-Net, the character CNN's
# metrics), wrong with one or two (Super-SloMo, the adversarial-training scripts of blind39, DDPM).
MIN_SYNCS_ON_HEAVY_STEP = 3


def detected_run_applies(code: str, analysis: ModuleAnalysis, reports: Sequence[Report] = ()) -> bool:
    """May a detected long run show this rule's findings (`reports`, all of the module's) here?"""
    from greenlint.rules import COMPUTE_BOUND_CODES, MULTI_GPU_CODES, PER_FIT_CODES, STEP_SYNC_CODES

    if code in PER_FIT_CODES and each_training_short(analysis):
        return False
    if code in MULTI_GPU_CODES and not multi_gpu_evidence(analysis):
        return False
    if code in STEP_SYNC_CODES and len(reports) < MIN_SYNCS_ON_HEAVY_STEP \
            and heavy_training_workload(analysis) is not None:
        return False
    if code in COMPUTE_BOUND_CODES:
        context = analysis.facts.context
        if context.gpu_without_tensor_cores or small_training_workload(analysis) is not None:
            return False
        # a narrow MLP or a small CNN of known layers is launch-bound however long it trains, unless
        # the run is scaled out
        small = mlp_only_model(analysis) is not None or _trains_small_model_class(analysis)
        return not small or bool(distributed_run(analysis) or multi_gpu_evidence(analysis))
    return True


def _trains_small_model_class(analysis: ModuleAnalysis) -> bool:
    """The module builds a model class the project index read as small (advisor/model_layers.py:
    yjn870/SRCNN-pytorch's `SRCNN` from models.py, three convolutions of at most 64 channels) and
    shows no compute-heavy evidence besides."""
    small = analysis.facts.context.small_models
    if not small:
        return False
    for site in analysis.facts.calls:
        func = site.node.func
        key = site.qualname or (func.value if isinstance(func, cst.Name) else "")
        if key in small:
            return heavy_training_workload(analysis) is None
    return False
