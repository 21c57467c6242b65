"""GPU line attribution on made-up traces: launch-site attribution, idle gaps to CPU lines, energy
split, and reading torch.profiler-shaped events (fakes: CI has no GPU)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from greenlint.profiler.gpu_attribution import (
    CpuSample,
    KernelLaunch,
    attribute_times,
    gpu_line_energy,
    idle_gaps,
    launches_from_torch_events,
    merge_intervals,
    split_active_idle,
    user_frame,
)

FORWARD, BACKWARD, ITEM, LOAD = ("train.py", 10), ("train.py", 12), ("train.py", 14), ("train.py", 8)


def test_intervals_merge_and_gaps_cover_the_rest_of_the_span():
    busy = merge_intervals([(1.0, 2.0), (1.5, 3.0), (5.0, 6.0), (4.0, 4.0)])
    assert busy == [(1.0, 3.0), (5.0, 6.0)]
    assert idle_gaps(busy, (0.0, 7.0)) == [(0.0, 1.0), (3.0, 5.0), (6.0, 7.0)]
    assert idle_gaps(busy, (1.5, 5.5)) == [(3.0, 5.0)]


def test_kernel_time_goes_to_the_launching_line_not_the_waiting_line():
    # forward kernels 0-6 s, backward 6-9 s; the CPU sat in `.item()` waiting the whole time
    launches = [KernelLaunch(0.0, 6.0, FORWARD), KernelLaunch(6.0, 9.0, BACKWARD)]
    samples = [CpuSample(t / 10, ITEM) for t in range(100)]
    times = attribute_times(launches, samples, (0.0, 10.0))
    assert times.active_s == {FORWARD: 6.0, BACKWARD: 3.0}
    assert times.busy_s == 9.0 and times.idle_total_s == pytest.approx(1.0)
    # the one idle second (9-10 s) goes to the line the CPU was on then
    assert times.idle_s == {ITEM: pytest.approx(1.0)}


def test_idle_gaps_go_to_the_cpu_lines_sampled_during_them():
    launches = [KernelLaunch(0.0, 1.0, FORWARD), KernelLaunch(4.0, 5.0, FORWARD)]
    samples = [CpuSample(1.5, LOAD), CpuSample(2.5, LOAD), CpuSample(3.5, ITEM), CpuSample(4.5, FORWARD)]
    times = attribute_times(launches, samples, (0.0, 6.0))
    assert times.idle_s[LOAD] == pytest.approx(2.0) and times.idle_s[ITEM] == pytest.approx(1.0)
    assert times.unattributed_idle_s == pytest.approx(1.0)  # 5-6 s: no sample


def test_energy_split_by_time_or_by_measured_power():
    assert split_active_idle(100.0, 3.0, 1.0)[:2] == (75.0, 25.0)
    power = [(0.5, 400.0), (1.5, 400.0), (2.5, 400.0), (3.5, 100.0)]
    active, idle, how = split_active_idle(130.0, 3.0, 1.0, power, [(0.0, 3.0)])
    assert (active, idle) == (pytest.approx(120.0), pytest.approx(10.0)) and "400 W busy" in how


def test_line_energy_sums_to_the_gpu_energy():
    launches = [KernelLaunch(0.0, 6.0, FORWARD), KernelLaunch(6.0, 8.0, None)]
    samples = [CpuSample(8.5, LOAD), CpuSample(9.5, LOAD)]
    times = attribute_times(launches, samples, (0.0, 10.0))
    energy = gpu_line_energy(times, 100.0)
    assert energy.active_j[FORWARD] == pytest.approx(60.0)
    assert energy.idle_j[LOAD] == pytest.approx(20.0)
    assert energy.unattributed_j == pytest.approx(20.0)
    assert sum(energy.active_j.values()) + sum(energy.idle_j.values()) + energy.unattributed_j == pytest.approx(100.0)
    assert "launched" in energy.basis


@dataclass
class _Range:
    start: float
    end: float


@dataclass
class _Event:
    id: int
    device_type: str
    stack: list[str] = field(default_factory=list)
    cpu_parent: object = None
    linked_correlation_id: int = 0
    time_range: _Range = field(default_factory=lambda: _Range(0.0, 0.0))
    name: str = ""


def _resolve(path: str) -> str | None:
    return None if "site-packages" in path else path


def test_user_frame_skips_library_frames():
    stack = ["/venv/site-packages/torch/nn/modules/linear.py(125): forward", "train.py(10): <module>"]
    assert user_frame(stack, _resolve) == ("train.py", 10)
    assert user_frame(["<built-in method>", "nonsense"], _resolve) is None


def test_kernels_are_linked_to_the_launching_ops_user_frame():
    op = _Event(1, "DeviceType.CPU", stack=["/x/site-packages/torch/nn/functional.py(2): linear", "train.py(10): <module>"])
    launch = _Event(2, "DeviceType.CPU", cpu_parent=op)  # cudaLaunchKernel: no stack of its own
    kernel = _Event(3, "DeviceType.CUDA", linked_correlation_id=2, time_range=_Range(100.0, 300.0))
    orphan = _Event(4, "DeviceType.CUDA", linked_correlation_id=99, time_range=_Range(400.0, 500.0))
    launches = launches_from_torch_events([op, launch, kernel, orphan], _resolve, lambda us: 1000.0 + us / 1e6)
    assert launches == [KernelLaunch(1000.0001, 1000.0003, ("train.py", 10)),
                        KernelLaunch(1000.0004, 1000.0005, None)]


def test_python_function_parents_named_like_frames_give_the_launching_line():
    # torch 2.x with with_stack=True: the ops' own stacks are empty and the Python frames are parent
    # events named "file(line): function"
    module = _Event(1, "DeviceType.CPU")
    module.name = "train.py(42): <module>"
    library = _Event(2, "DeviceType.CPU", cpu_parent=module)
    library.name = "/x/site-packages/torch/nn/modules/linear.py(130): forward"
    op = _Event(3, "DeviceType.CPU", cpu_parent=library)
    op.name = "aten::addmm"
    kernel = _Event(4, "DeviceType.CUDA", linked_correlation_id=3, time_range=_Range(0.0, 10.0))
    [launch] = launches_from_torch_events([module, library, op, kernel], _resolve, lambda us: us / 1e6)
    assert launch.line == ("train.py", 42)


def test_profiler_paths_shortened_against_sys_path_are_found_again(tmp_path, monkeypatch):
    import sys

    from greenlint.profiler.gpu_trace import profiler_path_resolver

    (tmp_path / "train.py").write_text("x = 1\n")
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    find = profiler_path_resolver(lambda p: p if "site-packages" not in p else None)
    assert find("train.py") == str(tmp_path / "train.py")
    assert find("no/such/file.py") is None


def test_real_torch_profiler_events_link_ops_to_the_users_line(tmp_path, monkeypatch):
    """torch 2.13's real event tree, on CPU: each aten::addmm (forward) and its backward op are
    treated as if they were kernels launched by themselves; with the trace's line marks they must
    be traced back to the user's exact lines (the model call and `loss.backward()`)."""
    import importlib
    import sys
    from types import SimpleNamespace

    import torch
    from torch.profiler import ProfilerActivity, profile

    from greenlint.profiler.gpu_trace import line_marks_mode, profiler_path_resolver

    (tmp_path / "user_model.py").write_text(
        "import torch\n"
        "def step(model, x):\n"
        "    y = model(x)\n"
        "    loss = y.pow(2).mean()\n"
        "    loss.backward()\n"
        "    return loss\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    user_model = importlib.import_module("user_model")
    model = torch.nn.Linear(8, 8)
    user_file = str(tmp_path / "user_model.py")

    def mine(path):
        return path if path == user_file else None

    with profile(activities=[ProfilerActivity.CPU], with_stack=True) as prof:
        mode = line_marks_mode(mine)
        mode.__enter__()
        try:
            user_model.step(model, torch.randn(4, 8))
        finally:
            mode.__exit__(None, None, None)
    events = list(prof.events())
    forward = [e for e in events if e.name == "aten::addmm"]
    backward = [e for e in events if e.name == "aten::mm"]  # AddmmBackward0's matrix products
    assert forward and backward

    def as_kernels(ops):
        return [SimpleNamespace(device_type="DeviceType.CUDA", linked_correlation_id=op.id, time_range=op.time_range)
                for op in ops]

    resolve = profiler_path_resolver(mine)
    launches = launches_from_torch_events(events + as_kernels(forward), resolve, lambda us: us / 1e6)
    assert {launch.line for launch in launches} == {(user_file, 3)}
    launches = launches_from_torch_events(events + as_kernels(backward), resolve, lambda us: us / 1e6)
    assert {launch.line for launch in launches} == {(user_file, 5)}
    del sys.modules["user_model"]
