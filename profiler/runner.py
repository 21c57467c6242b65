"""The parent side of `greenlint profile`: launch the child, forward signals, build the Profile."""

from __future__ import annotations

import glob
import json
import re
import os
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from typing import Any

from greenlint.profiler.journal import journal_path, partial_result
from greenlint.profiler.launch import child_command, launch_command
from greenlint.profiler.merge import job_exit_code, merge_rank_results
from greenlint.profiler.progress import LiveProgress, interactive
from greenlint.profiler.profile import Profile, compute_profile
from greenlint.profiler.run_length import choose_total_steps


@dataclass
class ProfileOptions:
    script: str | None  # a path, or None with module
    module: str | None
    args: list[str]
    steps: int | None = 20  # None: no step limit
    warmup: int = 3
    duration: float | None = None
    full: bool = False
    total_steps: int | None = None
    cpu_watts_per_core: float | None = None
    sample_interval_s: float = 0.005
    use_nvml: bool = True
    gpu_trace_steps: int = 3  # torch.profiler steps for GPU line attribution (0: none)
    through_epoch: bool = False  # measure past the first epoch boundary (work between epochs)
    # torchrun's options (launch.py): every rank runs the bootstrap; None runs one process
    launcher_args: list[str] | None = None


@dataclass
class ProfileRun:
    exit_code: int
    profile: Profile


def _config(options: ProfileOptions, result_path: str) -> dict[str, Any]:
    return {
        "result_path": result_path,
        "warmup": options.warmup,
        "steps": None if options.full else options.steps,
        "duration": None if options.full else options.duration,
        "full": options.full,
        "cpu_watts_per_core": options.cpu_watts_per_core,
        "sample_interval_s": options.sample_interval_s,
        "use_nvml": options.use_nvml,
        "gpu_trace_steps": options.gpu_trace_steps,
        "through_epoch": options.through_epoch,
        # Tests on machines without CUDA run the same trace path with CPU activity only.
        "gpu_trace_cpu": os.environ.get("GREENLINT_TRACE_WITHOUT_CUDA") == "1",
        # Tests point RAPL at a made-up sysfs tree (a counter the test script advances).
        "rapl_root": os.environ.get("GREENLINT_RAPL_ROOT") or None,
    }


def _distributed(config: dict[str, Any], tmp: str) -> None:
    """Each rank writes result.rank{RANK}.json and claims its devices in the shared directory."""
    config.update(distributed=True, result_dir=tmp, stop_path=os.path.join(tmp, "stop.json"))


def _rank_results(tmp: str, code: int) -> list[dict[str, Any]]:
    """Every rank's result; a rank that died without one contributes what it streamed. The ranks'
    own exit statuses are torchrun's to know: the launcher's status stands for theirs."""
    results = {path: _read_json(path) for path in glob.glob(os.path.join(tmp, "result.rank*.json"))}
    for journal in glob.glob(os.path.join(tmp, "result.rank*.journal.jsonl")):
        path = journal[: -len(".journal.jsonl")] + ".json"
        if results.get(path) is None:
            results[path] = partial_result(journal, None)
    return [r for _, r in sorted(results.items()) if r]


def _read_json(path: str) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def run_profile(options: ProfileOptions, progress_console: Any = None) -> ProfileRun:
    """`progress_console` (a rich Console on a terminal) turns on the live progress bar."""
    with tempfile.TemporaryDirectory(prefix="greenlint-profile-") as tmp:
        result_path = os.path.join(tmp, "result.json")
        config_path = os.path.join(tmp, "config.json")
        config = _config(options, result_path)
        distributed = options.launcher_args is not None
        if distributed:
            _distributed(config, tmp)
        live = None
        if progress_console is not None and interactive(progress_console):
            config["status_path"] = os.path.join(tmp, "status.json")
            live = LiveProgress(progress_console, config["status_path"])
        with open(config_path, "w", encoding="utf-8") as fh:
            json.dump(config, fh)
        target = ["-m", options.module] if options.module else [options.script or ""]
        # Same interpreter, same environment, same working directory: the script must not notice.
        if distributed:
            cmd = launch_command(options.launcher_args or [], config_path, target, options.args)
        else:
            cmd = child_command(config_path, target, options.args)
        # Forwarding is in place before the child starts: a Ctrl-C that arrives while it starts is
        # not lost (nor does it end greenlint with the child left running).
        with _SignalForwarding() as forwarding:
            child = subprocess.Popen(cmd, **(live.child_stdio() if live else {}))  # noqa: S603
            forwarding.attach(child)
            if live is not None:
                live.started()
            try:
                code = _wait(child, live.tick if live else None)
            finally:
                if live is not None:
                    live.stop()
        raws = _rank_results(tmp, code) if distributed else []
        raw = _read_json(result_path) if not distributed else None
        if raw is None and not distributed:
            # killed (out of memory) or os._exit: what the child streamed before it died
            raw = partial_result(journal_path(result_path), code)
    if code < 0:  # killed by a signal: report it the way a shell would
        code = 128 - code
    if distributed:
        return _merged_run(options, raws, code)
    try:
        length = choose_total_steps(raw, options.total_steps)
        profile = compute_profile(raw, length.total_steps, exit_code=code, total_steps_basis=length.basis or None)
        profile.notices.extend(length.notes)
        profile.notices.extend(epoch_boundary_notice(profile))
    except Exception as exc:  # noqa: BLE001 - a malformed result must not hide the script's outcome
        profile = compute_profile(None, options.total_steps, exit_code=code)
        profile.notices.append(f"greenlint could not read the profile result ({type(exc).__name__}: {exc})")
    return ProfileRun(code, profile)


def _merged_run(options: ProfileOptions, raws: list[dict[str, Any]], launcher_code: int) -> ProfileRun:
    """One profile of a torchrun run's ranks (merge.py); the run length is read from rank 0's result
    (the lowest rank that wrote one) and used for every rank, so their projections add up."""
    code = job_exit_code(launcher_code, raws)
    ordered = sorted(raws, key=lambda r: int((r.get("rank") or {}).get("rank", 0)))
    local = [r["rank"] for r in ordered if r.get("rank")]
    expected = None
    if local:  # the ranks of this node: local world size, numbered from the lowest global rank
        base = local[0]["rank"] - local[0]["local_rank"]
        expected = list(range(base, base + int(local[0].get("local_world_size", 1))))
    try:
        length = choose_total_steps(ordered[0] if ordered else None, options.total_steps)
        profile = merge_rank_results(ordered, length.total_steps, length.basis or None, code, expected)
        profile.notices.extend(length.notes)
        profile.notices.extend(epoch_boundary_notice(profile))
    except Exception as exc:  # noqa: BLE001 - a malformed result must not hide the script's outcome
        profile = compute_profile(None, options.total_steps, exit_code=code)
        profile.notices.append(f"greenlint could not merge the ranks' results ({type(exc).__name__}: {exc})")
    return ProfileRun(code, profile)


_EPOCHS = re.compile(r"= (\d[\d,]*) epochs? ")


def epoch_boundary_notice(profile: Profile) -> list[str]:
    """A projection from steps of the first epoch misses what runs between epochs (evaluation,
    checkpoints): say so, since such work can be as large as the training itself."""
    proj = profile.projection
    if proj is None or proj.energy_j is None or proj.basis.startswith("measured"):
        return []
    match = _EPOCHS.search(getattr(proj, "total_steps_basis", "") or proj.basis)
    if match is None or int(match.group(1).replace(",", "")) < 2 or not proj.total_steps:
        return []
    per_epoch = proj.total_steps // int(match.group(1).replace(",", ""))
    if profile.steps_seen >= per_epoch:
        return []
    return [f"the measured steps all lie in the first epoch ({profile.steps_seen} of {per_epoch:,} steps): work between "
            "epochs and after training (evaluation, checkpoints) is not in the projection; profile with --through-epoch "
            "or the full training run (--full) to include it"]


class _SignalForwarding:
    """Ctrl-C and SIGTERM sent to greenlint go to the child, which writes the partial result and
    exits (130 / 143). The child ignores a duplicate SIGINT arriving within a second, so a terminal
    Ctrl-C that reaches both processes counts once. A signal that arrives before the child exists is
    held and sent to it as soon as it does."""

    def __init__(self) -> None:
        self.child: subprocess.Popen | None = None
        self.pending: list[int] = []
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> _SignalForwarding:  # noqa: PYI034 - typing.Self needs Python 3.11
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self.previous[sig] = signal.signal(sig, self._forward)
            except ValueError:  # not the main thread (an embedding application): no forwarding
                pass
        return self

    def _forward(self, signum: int, frame: Any) -> None:
        if self.child is None:
            self.pending.append(signum)
            return
        try:
            self.child.send_signal(signum)
        except OSError:
            pass

    def attach(self, child: subprocess.Popen) -> None:
        self.child = child
        pending, self.pending = self.pending, []
        for signum in pending:
            self._forward(signum, None)

    def __exit__(self, *exc: object) -> None:
        for sig, previous in self.previous.items():
            signal.signal(sig, previous)
        if self.child is None and signal.SIGINT in self.pending:
            raise KeyboardInterrupt  # the child never started: the interrupt is greenlint's own


def _wait(child: subprocess.Popen, tick: Any = None) -> int:
    """Wait for the child, calling `tick` about four times a second (the live display)."""
    while True:
        try:
            if tick is None:
                return child.wait()
            try:
                return child.wait(timeout=0.25)
            except subprocess.TimeoutExpired:
                tick()
        except KeyboardInterrupt:  # only if a handler could not be installed
            child.send_signal(signal.SIGINT)
