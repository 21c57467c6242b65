"""What the run-length probe (profiler/run_length_probe.py) costs the profiled script.

    python bench/run_length_probe_cost.py

In-process micro-benchmark of the probe's three touch points: the wrapped `DataLoader.__iter__`
(once per epoch), the snapshot of the first optimizer step's stack (once per run, here a 40-deep
stack with a few objects in scope) and the step hook after the first step (it stays registered,
returning at its first test, until the next epoch's iter() removes it). Best of several repeats;
timings on a shared machine are upper bounds.
"""

from __future__ import annotations

import sys
import time
import timeit

import torch
import torch.utils.data.dataloader as dataloader_module
from torch.utils.data import DataLoader, TensorDataset

from greenlint.profiler.user_files import UserFiles
from greenlint.profiler.run_length_probe import RunLengthProbe


def main() -> None:
    probe = RunLengthProbe(lambda: 0, UserFiles().resolve, __file__)
    loader = DataLoader(TensorDataset(torch.randn(1000, 4)), batch_size=10)
    n = 2000
    plain = min(timeit.repeat(lambda: iter(loader), number=n, repeat=5)) / n
    probe._wrap_dataloader(dataloader_module)
    wrapped = min(timeit.repeat(lambda: iter(loader), number=n, repeat=5)) / n

    model = torch.nn.Linear(4, 1)  # noqa: F841 - in scope for the snapshot, as in a script
    config = {"epochs": 3, "lr": 0.1}  # noqa: F841

    def deep(k: int) -> float:
        if k == 0:
            probe.first_step = None
            t = time.perf_counter()
            probe._snapshot_stack(sys._getframe())
            return time.perf_counter() - t
        return deep(k - 1)

    snapshot = min(deep(40) for _ in range(50))
    probe.first_step = {}
    hook = min(timeit.repeat(lambda: probe._on_first_step(None, None, None), number=100_000, repeat=5)) / 100_000
    print(f"iter(DataLoader): plain {plain * 1e6:.1f} us, wrapped {wrapped * 1e6:.1f} us "
          f"(+{(wrapped - plain) * 1e6:.1f} us per epoch)")
    print(f"first-step stack snapshot, 40-deep stack: {snapshot * 1e6:.0f} us (once per run)")
    print(f"step hook after the first step: {hook * 1e9:.0f} ns per step (until the next epoch)")


if __name__ == "__main__":
    main()
