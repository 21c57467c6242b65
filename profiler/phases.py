"""Training phases: where the time inside library code goes (data loading, forward, backward,
optimizer step, evaluation, checkpointing, logging).

A Hugging Face ``Trainer`` or Lightning script spends its whole run under one user line,
``trainer.train()``: the line table then says nothing. The sampler already holds the main
thread's stack at every sample; the frames of the libraries on it say which phase of training the
sample is in (``torch/utils/data`` frames: data loading; ``torch/autograd``: backward;
``torch/optim``: optimizer step; the Trainer's ``evaluation_loop``: evaluation ...).

Two kinds of phases, so that nested frames resolve the way people think of them:

- *context* phases (evaluation, checkpointing, logging) win wherever they are on the stack: a
  forward pass inside ``evaluate()`` is evaluation;
- *step* phases (data loading, forward, backward, optimizer step): the innermost matching frame
  wins, because Lightning runs the forward and backward passes inside ``optimizer.step(closure)``.

Child side (``PhaseRecorder``, called by the bootstrap's sampler thread: stdlib only, one cached
dict lookup per frame) and parent side (``attribute_phases``: pure arithmetic on the raw result).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DATA = "data loading"
FORWARD = "forward"
BACKWARD = "backward"
OPTIMIZER = "optimizer step"
EVALUATION = "evaluation"
CHECKPOINT = "checkpointing"
LOGGING = "logging"
OTHER = "other"  # no library frame of a known phase: the script's own code, or another library
PHASES = (DATA, FORWARD, BACKWARD, OPTIMIZER, EVALUATION, CHECKPOINT, LOGGING, OTHER)
CONTEXT_PHASES = frozenset({EVALUATION, CHECKPOINT, LOGGING})

# (path fragment, function names or None for any function, phase). Paths use "/" (normalised
# below); a fragment names a library's own module, so user files with the same base name never
# match. First match wins within one frame.
_RULES: tuple[tuple[str, frozenset[str] | None, str], ...] = (
    # Hugging Face transformers Trainer
    ("/transformers/trainer.py", frozenset({"evaluate", "evaluation_loop", "prediction_loop", "predict",
                                            "prediction_step"}), EVALUATION),
    ("/transformers/trainer.py", frozenset({"_save_checkpoint", "save_model", "_save", "_save_tpu",
                                            "_save_optimizer_and_scheduler", "_save_rng_state",
                                            "_rotate_checkpoints", "_load_from_checkpoint"}), CHECKPOINT),
    ("/transformers/trainer.py", frozenset({"log", "_maybe_log_save_evaluate", "store_flos"}), LOGGING),
    ("/transformers/trainer.py", frozenset({"get_batch_samples", "_prepare_inputs", "_prepare_input",
                                            "get_train_dataloader", "get_eval_dataloader"}), DATA),
    ("/transformers/trainer.py", frozenset({"compute_loss", "training_step"}), FORWARD),
    ("/transformers/trainer_callback.py", frozenset({"on_log"}), LOGGING),
    ("/transformers/integrations/", None, LOGGING),
    ("/transformers/data/", None, DATA),
    ("/transformers/utils/logging.py", None, LOGGING),
    # Lightning (lightning.pytorch and pytorch_lightning)
    ("/loops/evaluation_loop.py", None, EVALUATION),
    ("/loops/prediction_loop.py", None, EVALUATION),
    ("/checkpoint_connector.py", None, CHECKPOINT),
    ("/callbacks/model_checkpoint.py", None, CHECKPOINT),
    ("/lightning/fabric/utilities/cloud_io.py", None, CHECKPOINT),
    ("/logger_connector/", None, LOGGING),
    ("/pytorch/loggers/", None, LOGGING),
    ("/pytorch_lightning/loggers/", None, LOGGING),
    ("/callbacks/progress/", None, LOGGING),
    ("/loops/fetchers.py", None, DATA),
    ("/pytorch/", frozenset({"backward", "manual_backward", "pre_backward", "post_backward"}), BACKWARD),
    ("/pytorch_lightning/", frozenset({"backward", "manual_backward", "pre_backward", "post_backward"}), BACKWARD),
    ("/pytorch/", frozenset({"training_step", "_training_step"}), FORWARD),
    ("/pytorch_lightning/", frozenset({"training_step", "_training_step"}), FORWARD),
    ("/pytorch/", frozenset({"optimizer_step", "_optimizer_step"}), OPTIMIZER),
    ("/pytorch_lightning/", frozenset({"optimizer_step", "_optimizer_step"}), OPTIMIZER),
    # accelerate (used by the Trainer)
    ("/accelerate/data_loader.py", None, DATA),
    ("/accelerate/accelerator.py", frozenset({"backward"}), BACKWARD),
    ("/accelerate/accelerator.py", frozenset({"save_state", "save_model", "save"}), CHECKPOINT),
    ("/accelerate/accelerator.py", frozenset({"log"}), LOGGING),
    ("/accelerate/optimizer.py", None, OPTIMIZER),
    # torch
    ("/torch/serialization.py", frozenset({"save", "_save", "_legacy_save"}), CHECKPOINT),
    ("/torch/serialization.py", None, DATA),  # torch.load in a loop reads data
    ("/torch/utils/data/", None, DATA),
    ("/torch/autograd/__init__.py", frozenset({"backward", "grad"}), BACKWARD),
    ("/torch/autograd/graph.py", frozenset({"_engine_run_backward"}), BACKWARD),
    ("/torch/_tensor.py", frozenset({"backward"}), BACKWARD),
    ("/torch/optim/", None, OPTIMIZER),
    ("/torch/nn/utils/clip_grad.py", None, OPTIMIZER),
    ("/torch/nn/modules/module.py", frozenset({"_call_impl", "_wrapped_call_impl"}), FORWARD),
    ("/torch/utils/tensorboard/", None, LOGGING),
    # other data and logging libraries
    ("/datasets/", None, DATA),
    ("/tokenizers/", None, DATA),
    ("/safetensors/", None, CHECKPOINT),
    ("/tensorboard/", None, LOGGING),
    ("/tensorboardX/", None, LOGGING),
    ("/wandb/", None, LOGGING),
    ("/mlflow/", None, LOGGING),
    ("/tqdm/", None, LOGGING),
    ("/logging/__init__.py", None, LOGGING),
)

# Which rules' advice addresses which phase (by rule code): shown beside the phase, so that a
# user who sees "data loading 34 %" also sees the data-pipeline findings.
PHASE_RULES: dict[str, tuple[str, ...]] = {
    DATA: ("GL301", "GL302", "GL303", "GL304", "GL305", "GL306", "GL307", "GL308", "GL309", "GL310", "GL311"),
    FORWARD: ("GL101", "GL102", "GL103", "GL104", "GL105", "GL201", "GL202", "GL203", "GL204", "GL205",
              "GL404", "GL411", "GL412"),
    BACKWARD: ("GL101", "GL102", "GL103", "GL205", "GL206"),
    OPTIMIZER: ("GL405", "GL406", "GL206"),
    EVALUATION: ("GL402", "GL409"),
    CHECKPOINT: ("GL503",),
    LOGGING: ("GL504", "GL401", "GL407"),
}


def phase_of(filename: str, function: str) -> str | None:
    """The phase one frame belongs to, or None."""
    path = filename.replace("\\", "/")
    for fragment, names, phase in _RULES:
        if fragment in path and (names is None or function in names):
            return phase
    return None


class PhaseClassifier:
    """Classifies a stack; the answer per code object is cached (a code object's file and name
    never change), so a sample costs one dict lookup per frame.

    The key is id(code), not the code object: hashing a code object hashes its contents on every
    call (0.35 us, measured, against a few tens of ns for an int). The cache keeps a reference to
    each code object, so an id cannot be reused while it is cached."""

    def __init__(self) -> None:
        self._cache: dict[int, tuple[Any, str | None]] = {}

    def classify(self, frame: Any) -> str:
        cache = self._cache
        step: str | None = None
        while frame is not None:
            code = frame.f_code
            entry = cache.get(id(code))
            if entry is None or entry[0] is not code:
                entry = cache[id(code)] = (code, phase_of(code.co_filename, code.co_name))
            phase = entry[1]
            if phase is not None:
                if phase in CONTEXT_PHASES:
                    return phase  # the innermost context phase beats any step phase: stop here
                if step is None:
                    step = phase  # the innermost step phase
            frame = frame.f_back
        return step or OTHER


class PhaseRecorder:
    """Seconds per (user line, phase), whole run and measured window; filled by the sampler thread."""

    def __init__(self) -> None:
        self.classifier = PhaseClassifier()
        self.all: dict[tuple[str, int, str], float] = {}
        self.window: dict[tuple[str, int, str], float] = {}

    def add(self, frame: Any, key: tuple[str, int] | None, dt: float, in_window: bool) -> None:
        phase = self.classifier.classify(frame)
        entry = (key[0], key[1], phase) if key is not None else ("", 0, phase)
        self.all[entry] = self.all.get(entry, 0.0) + dt
        if in_window:
            self.window[entry] = self.window.get(entry, 0.0) + dt

    def result(self) -> dict[str, Any]:
        """For the raw result: [filename ("" when no user line was on the stack), line, phase, seconds]."""
        return {"line_phases_all": [[f, ln, p, t] for (f, ln, p), t in self.all.items()],
                "line_phases_window": [[f, ln, p, t] for (f, ln, p), t in self.window.items()]}


# ------------------------------------------------------------------------------ parent side


@dataclass
class Phase:
    name: str
    energy_j: float  # estimated: the CPU energy by sampled time, plus the lines' GPU energy by time
    time_s: float  # sampled
    share: float  # of the sampled time of the span
    rules: list[str]  # the codes whose advice addresses this phase (PHASE_RULES)


def attribute_phases(raw: dict[str, Any], in_window: bool, cpu_j: float, lines: list[Any]) -> tuple[list[Phase], str]:
    """Phases of the span, and each line's phase split (sets ``line.phases``: phase -> share of the
    line's sampled time). Empty when the child recorded no phases (an older bootstrap)."""
    rows = raw.get("line_phases_window" if in_window else "line_phases_all")
    if not rows:
        return [], "no phase samples recorded"
    total_t = sum(float(t) for *_, t in rows)
    if total_t <= 0:
        return [], "no phase samples recorded"
    by_line: dict[tuple[str, int], dict[str, float]] = {}
    time_by_phase: dict[str, float] = {}
    for f, ln, phase, t in rows:
        t = float(t)
        time_by_phase[phase] = time_by_phase.get(phase, 0.0) + t
        by_line.setdefault((f, int(ln)), {})
        by_line[(f, int(ln))][phase] = by_line[(f, int(ln))].get(phase, 0.0) + t
    energy = {phase: cpu_j * t / total_t for phase, t in time_by_phase.items()}
    for line in lines:
        split = by_line.get((line.filename, line.line))
        line_t = sum(split.values()) if split else 0.0
        if not split or line_t <= 0:
            continue
        line.phases = {p: t / line_t for p, t in sorted(split.items(), key=lambda kv: -kv[1])}
        gpu_j = (line.gpu_active_j or 0.0) + (line.gpu_idle_j or 0.0)
        for p, fraction in line.phases.items():
            energy[p] = energy.get(p, 0.0) + gpu_j * fraction
    phases = [Phase(p, energy.get(p, 0.0), time_by_phase.get(p, 0.0), time_by_phase.get(p, 0.0) / total_t,
                    list(PHASE_RULES.get(p, ()))) for p in PHASES if p in time_by_phase]
    phases.sort(key=lambda ph: (ph.name == OTHER, -ph.time_s))
    basis = ("estimated: each stack sample's phase from the library frames on the main thread's stack "
             "(torch.utils.data: data loading, module calls: forward, torch.autograd: backward, torch.optim: "
             "optimizer step, the Trainer's and Lightning's evaluation, checkpoint and logging code); a phase's "
             "energy is its share of the sampled time x the CPU energy, plus its lines' GPU energy by time; "
             f"{OTHER}: no frame of a known phase (your own code, or other libraries)")
    return phases, basis


def top_phases(phases: dict[str, float] | None, n: int = 3) -> str:
    """A line's phase split in words: "forward 52 %, backward 31 %"; "" when nothing but other."""
    if not phases or set(phases) == {OTHER}:
        return ""
    ordered = sorted(phases.items(), key=lambda kv: -kv[1])[:n]
    return ", ".join(f"{p} {share * 100:.0f} %" for p, share in ordered)


def code_ranges(codes: list[str]) -> str:
    """Rule codes with consecutive runs joined: GL301, GL302, GL303 -> "GL301-GL303"."""
    numbered = sorted({(c[:2], int(c[2:])) for c in codes if len(c) > 2 and c[2:].isdigit()})
    parts: list[str] = []
    k = 0
    while k < len(numbered):
        prefix, first = numbered[k]
        last = first
        while k + 1 < len(numbered) and numbered[k + 1] == (prefix, last + 1):
            k += 1
            last = numbered[k][1]
        parts.append(f"{prefix}{first}" if first == last else f"{prefix}{first}-{prefix}{last}")
        k += 1
    return ", ".join(parts)
