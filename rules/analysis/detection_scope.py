"""Which findings of a detected long run the run's length makes worth showing (session 16).

A detected long run (long_run_evidence.py) shows the run-length rules (rules.DETECTION_CODES) in
a file the user did not name. Two of them need more than a long run:
- PER_FIT_CODES (early stopping) save a share of ONE training: a notebook whose saved output shows
  every training under an hour has none to cut short (long_run_evidence.each_training_short);
- MULTI_GPU_CODES (DataParallel instead of DDP) waste nothing on one GPU: they need evidence that
  the run uses several (multi_gpu.py);
- COMPUTE_BOUND_CODES (mixed precision) save nothing on a launch-bound step: they need evidence of
  a compute-heavy step (heavy_workload.py) or of a run spread over several GPUs, no sign of a small
  workload (workload.py) and no GPU without tensor cores named by the project (gpu_hints.py).
Naming the file in `long-runs` still shows them: the user knows the run.
"""

from __future__ import annotations

from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.heavy_workload import heavy_training_workload
from greenlint.rules.analysis.long_run_evidence import distributed_run, each_training_short
from greenlint.rules.analysis.multi_gpu import multi_gpu_evidence
from greenlint.rules.analysis.workload import small_training_workload


def detected_run_applies(code: str, analysis: ModuleAnalysis) -> bool:
    """May a detected long run show this rule's findings in this module?"""
    from greenlint.rules import COMPUTE_BOUND_CODES, MULTI_GPU_CODES, PER_FIT_CODES

    if code in PER_FIT_CODES and each_training_short(analysis):
        return False
    if code in MULTI_GPU_CODES and not multi_gpu_evidence(analysis):
        return False
    if code in COMPUTE_BOUND_CODES:
        if analysis.facts.context.gpu_without_tensor_cores or small_training_workload(analysis) is not None:
            return False
        # a run spread over several GPUs is one somebody scaled out because the step is heavy
        return heavy_training_workload(analysis) is not None or bool(distributed_run(analysis) or multi_gpu_evidence(analysis))
    return True
