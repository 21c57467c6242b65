"""Which findings of a detected long run the run's length makes worth showing (session 16).

A detected long run (long_run_evidence.py) shows the run-length rules (rules.DETECTION_CODES) in
a file the user did not name. Four kinds need more than a long run:
- PER_FIT_CODES (early stopping) save a share of ONE training: a notebook whose saved output shows
  every training under an hour has none to cut short (long_run_evidence.each_training_short);
- MULTI_GPU_CODES (DataParallel instead of DDP) waste nothing on one GPU: they need evidence that
  the run uses several (multi_gpu.py);
- COMPUTE_BOUND_CODES (mixed precision) save nothing on a launch-bound step: they need positive
  evidence of a compute-heavy step (heavy_workload.py: a large architecture, a pretrained
  Transformer, wide attention, 128-pixel images, a project model class whose layers are heavy) or a
  run spread over several GPUs; never on a known small workload (workload.py), a model that is only
  narrow Linear layers (model_size.mlp_only_model; unless spread over GPUs), or a GPU without
  tensor cores that the project names (gpu_hints.py). Session 18: with only "not known small",
  GL101 was right in 6 of 26 blind default findings (blind38-51); the wrong ones were 64-pixel GANs,
  a skip-gram, a GRU seq2seq, an SRCNN, VAEs: small models the analysis cannot size, which the
  finding's own estimate already put below the default threshold (x0.025, "no sign that the step
  is compute-heavy") until the detected run showed it anyway.
- STEP_SYNC_CODES (per-step host syncs) on a compute-heavy step: only where the module syncs
  MIN_SYNCS_ON_HEAVY_STEP times or more; one or two syncs are a small share of a long step.
Naming the file in `long-runs` still shows them: the user knows the run.
"""

from __future__ import annotations

from collections.abc import Sequence


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
        scaled_out = bool(distributed_run(analysis) or multi_gpu_evidence(analysis))
        if scaled_out:
            return True
        # a narrow MLP is launch-bound however long it trains; anything else needs a reason to
        # believe the step is large (a small model the analysis cannot size is the common case)
        return mlp_only_model(analysis) is None and heavy_training_workload(analysis) is not None
    return True
