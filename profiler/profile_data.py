"""The Profile's data: energy per device (``Device``), per line (``Line``), per torchrun rank
(``RankSummary``), the projection to the whole run (``Projection``) and the ``Profile`` that holds
them. Plain dataclasses, serialised with ``Profile.to_json``; ``profile.compute_profile`` fills them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from greenlint.profiler.phases import Phase


@dataclass
class Device:
    kind: str
    name: str
    method: str
    energy_j: float | None  # whole run under greenlint
    window_energy_j: float | None  # the measured steps only
    tolerance: float
    basis: str
    # Power over the run for the report's plot: [seconds since the run's start, watts]; each
    # point's watts hold until the next point, the last point closes the timeline. At most
    # ~MAX_PLOT_POINTS points, so the JSON stays small.
    timeline: list[list[float]] = field(default_factory=list)
    timeline_basis: str = ""


@dataclass
class Line:
    filename: str
    line: int
    energy_j: float  # cpu_j + gpu_active_j + gpu_idle_j
    time_s: float
    share: float  # of the CPU samples of the span the lines cover
    cpu_j: float = 0.0
    gpu_active_j: float = 0.0  # GPU energy of the kernels this line launched
    gpu_idle_j: float = 0.0  # GPU energy while it sat idle and the CPU was on this line
    # training phase -> share of this line's sampled time (phases.py); {} without phase samples
    phases: dict[str, float] = field(default_factory=dict)


@dataclass
class Projection:
    total_steps: int | None
    energy_j: float | None
    low_j: float | None
    high_j: float | None
    time_s: float | None
    basis: str
    # where total_steps came from: "--total-steps", the script (run_length.py), or the completed run
    total_steps_basis: str = ""
    # "full run": the run went to its end (--full, or a callback that saw training end) and
    # energy_j is its own energy; "projection": extrapolated from the measured steps; "" unknown.
    # How the figure was obtained: labels.projection_how.
    kind: str = ""
    # how energy_j, low_j and high_j were obtained: "projected", or after a full run the run's own
    # label (measured / estimated / partly estimated); "" when unknown
    how: str = ""


@dataclass
class RankSummary:
    """One torchrun rank of a multi-process profile (merge.py): what it ran and what it measured."""

    rank: int  # global rank (RANK)
    local_rank: int
    node: str  # host name
    steps: int  # measured optimizer steps, counted by this rank
    steps_seen: int
    energy_j: float | None  # of the devices this rank read (each device is read by one rank)
    j_per_step: float | None  # the same devices, per measured step
    devices: list[str] = field(default_factory=list)  # names of the devices this rank read
    outcome: str = ""
    exit_code: int = 0
    t_begin: float | None = None  # unix time of the rank's start: aligns timelines across ranks and nodes


@dataclass
class Profile:
    outcome: str  # completed, stopped, failed, interrupted, terminated, no-result
    exit_code: int
    steps: int  # measured optimizer steps (after warm-up)
    steps_seen: int  # every optimizer step, warm-up included
    warmup_steps: int
    energy_j: float | None  # the profiled run (what ran under greenlint), all devices
    energy_how: str  # measured / estimated / partly estimated (labels.methods_how)
    duration_s: float | None
    window_energy_j: float | None
    window_time_s: float | None
    j_per_step: float | None
    j_per_step_p10: float | None
    j_per_step_p90: float | None
    step_time_s: float | None
    devices: list[Device] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    lines_basis: str = ""
    projection: Projection | None = None
    notices: list[str] = field(default_factory=list)
    # the torch.profiler steps of GPU line attribution (no per-line lists: those are in `lines`)
    gpu_trace: dict[str, Any] | None = None
    # the user's own modules the script imported (the advice lints them with the script)
    user_modules: list[str] = field(default_factory=list)
    # Per measured step, for the report's plots: J/step of each entry, and the entries' boundaries
    # in seconds since the run's start (one more than the entries). An entry is one step, or
    # step_group consecutive steps (mean J/step; the last group may be shorter) when there are more
    # than MAX_PLOT_POINTS steps.
    step_energy_j: list[float] = field(default_factory=list)
    step_bounds_s: list[float] = field(default_factory=list)
    step_group: int = 1
    # A multi-process run (torchrun): one entry per rank; the figures above are the ranks' total
    # (each device counted once) and steps are counted per rank (merge.py). Empty for one process.
    ranks: list[RankSummary] = field(default_factory=list)
    # Training phases of the span the lines cover (phases.py): data loading, forward, backward, ...
    phases: list[Phase] = field(default_factory=list)
    phases_basis: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
