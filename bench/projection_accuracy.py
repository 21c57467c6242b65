"""How close `greenlint profile`'s projection from 5 % of the steps comes to the measured full run.

    python bench/projection_accuracy.py [--repeats 3] [--fraction 0.05] [--only NAME] [--json FILE]

For each of three CPU training scripts it writes to a temporary directory:

- ``mlp``: an MLP on generated tabular data, DataLoader, AdamW, 4 epochs x 100 batches;
- ``conv``: a small conv net on generated 32x32 images, SGD with momentum, 2 epochs x 100 batches;
- ``eval_startup``: a bag-of-words classifier with a pure-Python "tokenizer" pass at start-up, an
  evaluation pass over a validation set after every epoch and a checkpoint at the end,
  5 epochs x 50 batches;

it runs, per repeat (in alternating order, so that drifting load does not favour one side),

1. ``greenlint profile --steps S`` with S = 5 % of the script's optimizer steps (default
   ``--warmup 3``) and no ``--total-steps``, so the run-length detection (profiler/run_length.py)
   may find the total from the script; if it finds none, or a wrong one, the profile is run again
   with ``--total-steps`` = the true total, and the report says which basis was used;
2. ``greenlint profile --full``;

both with ``--format json --output F --no-html --no-advice``. It compares ``profile.projection``
(energy_j, low_j, high_j, time_s) of (1) with ``profile.energy_j`` and ``profile.duration_s`` of (2),
and splits the error into start-up (script start to the end of the warm-up steps), the steps
(mean J/step x remaining steps vs the sum of the full run's steps, where a step holds whatever ran
since the previous step: an epoch's evaluation lands in the next epoch's first step) and the work
after the last step (evaluation, saving), which the projection leaves out by design.

It also applies the projection's formula to the full run's own first S steps ("same-run"): the
method's error without the run-to-run noise of two processes on a shared machine, where the CPU
time of the same step differed by up to 40 % between runs started a minute apart.

Energy here is greenlint's labelled CPU estimate (CPU seconds x W per core; no RAPL or GPU on the
development machine), so the energy error is the CPU-time error; the wall-time error is reported
beside it.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

SCRIPTS: dict[str, tuple[str, int]] = {}  # name -> (source, true optimizer steps)

SCRIPTS["mlp"] = (textwrap.dedent('''
    import argparse

    import torch
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset


    def main():
        parser = argparse.ArgumentParser()
        parser.add_argument("--epochs", type=int, default=4)
        parser.add_argument("--batch-size", type=int, default=64)
        parser.add_argument("--threads", type=int, default=1)
        args = parser.parse_args()
        if args.threads:
            torch.set_num_threads(args.threads)
        torch.manual_seed(0)
        x = torch.randn(6400, 256)
        y = (x @ torch.randn(256, 10)).argmax(dim=1)
        loader = DataLoader(TensorDataset(x, y), batch_size=args.batch_size, shuffle=True)
        model = nn.Sequential(nn.Linear(256, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
        loss_fn = nn.CrossEntropyLoss()
        for epoch in range(args.epochs):
            for xb, yb in loader:
                optimizer.zero_grad()
                loss = loss_fn(model(xb), yb)
                loss.backward()
                optimizer.step()
            print(f"epoch {epoch} loss {loss.item():.3f}")


    if __name__ == "__main__":
        main()
'''), 4 * 100)

SCRIPTS["conv"] = (textwrap.dedent('''
    import argparse

    import torch
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset


    def main():
        parser = argparse.ArgumentParser()
        parser.add_argument("--epochs", type=int, default=2)
        parser.add_argument("--threads", type=int, default=1)
        args = parser.parse_args()
        if args.threads:
            torch.set_num_threads(args.threads)
        torch.manual_seed(0)
        images = torch.randn(3200, 3, 32, 32)
        labels = torch.randint(0, 10, (3200,))
        loader = DataLoader(TensorDataset(images, labels), batch_size=32, shuffle=True)
        model = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(32 * 8 * 8, 10),
        )
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        loss_fn = nn.CrossEntropyLoss()
        for epoch in range(args.epochs):
            model.train()
            for xb, yb in loader:
                optimizer.zero_grad()
                loss = loss_fn(model(xb), yb)
                loss.backward()
                optimizer.step()
            print(f"epoch {epoch} loss {loss.item():.3f}")


    if __name__ == "__main__":
        main()
'''), 2 * 100)

SCRIPTS["eval_startup"] = (textwrap.dedent('''
    import argparse
    import os
    import random
    import tempfile

    import torch
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset

    VOCAB = 5000


    def tokenize(n_rows, words_per_row, seed):
        """Start-up cost: a pure-Python pass over the raw text, as a real tokenizer would do."""
        rng = random.Random(seed)
        vocab = {}
        rows, labels = [], []
        for _ in range(n_rows):
            words = [f"w{rng.randrange(VOCAB)}" for _ in range(words_per_row)]
            rows.append([vocab.setdefault(w, len(vocab)) % VOCAB for w in words])
            labels.append(int(sum(len(w) for w in words) % 2))
        return torch.tensor(rows), torch.tensor(labels)


    def evaluate(model, loader):
        model.eval()
        correct = total = 0
        with torch.no_grad():
            for xb, yb in loader:
                correct += (model(xb).argmax(dim=1) == yb).sum().item()
                total += len(yb)
        model.train()
        return correct / total


    def main():
        parser = argparse.ArgumentParser()
        parser.add_argument("--epochs", type=int, default=5)
        parser.add_argument("--batch-size", type=int, default=64)
        parser.add_argument("--threads", type=int, default=1)
        args = parser.parse_args()
        if args.threads:
            torch.set_num_threads(args.threads)
        torch.manual_seed(0)
        x_train, y_train = tokenize(3200, 64, seed=1)
        x_val, y_val = tokenize(3200, 64, seed=2)
        train_loader = DataLoader(TensorDataset(x_train, y_train), batch_size=args.batch_size, shuffle=True)
        val_loader = DataLoader(TensorDataset(x_val, y_val), batch_size=256)
        model = nn.Sequential(nn.EmbeddingBag(VOCAB, 256), nn.Linear(256, 1024), nn.ReLU(), nn.Linear(1024, 2))
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        loss_fn = nn.CrossEntropyLoss()
        for epoch in range(args.epochs):
            for xb, yb in train_loader:
                optimizer.zero_grad()
                loss = loss_fn(model(xb), yb)
                loss.backward()
                optimizer.step()
            print(f"epoch {epoch} loss {loss.item():.3f} val acc {evaluate(model, val_loader):.3f}")
        checkpoint = os.path.join(tempfile.mkdtemp(), "model.pt")
        torch.save(model.state_dict(), checkpoint)
        os.remove(checkpoint)


    if __name__ == "__main__":
        main()
'''), 5 * 50)


def greenlint(args: list[str], report: str) -> dict:
    cmd = [sys.executable, "-m", "greenlint", "profile", "--format", "json", "--output", report,
           "--no-html", "--no-advice", *args]
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"exit {done.returncode} from {' '.join(cmd)}\n{done.stderr[-3000:]}")
    with open(report) as fh:
        return json.load(fh)["profile"]


def _pct(projected: float, measured: float) -> float:
    return (projected / measured - 1) * 100


def compare(short: dict, full: dict, total: int) -> dict:
    """Projection of the short run vs the full run, with the error split into its parts."""
    proj = short["projection"]
    remaining = total - short["warmup_steps"]
    startup_j_proj = proj["energy_j"] - short["j_per_step"] * remaining
    startup_t_proj = proj["time_s"] - short["step_time_s"] * remaining
    steps_j_proj = short["j_per_step"] * remaining
    steps_t_proj = short["step_time_s"] * remaining

    # The full run: its window starts at the end of the warm-up steps and runs to the end.
    per_step = full["step_energy_j"]
    assert full["step_group"] == 1, "more than 2000 steps: per-step series is grouped"
    bounds = full["step_bounds_s"]
    durations = [b - a for a, b in itertools.pairwise(bounds)]
    steps_j_full = sum(per_step)
    startup_j_full = full["energy_j"] - full["window_energy_j"]
    tail_j_full = full["window_energy_j"] - steps_j_full
    startup_t_full = bounds[0]
    tail_t_full = full["duration_s"] - bounds[-1]
    steps_t_full = bounds[-1] - bounds[0]
    median_j = statistics.median(per_step)
    median_t = statistics.median(durations)
    # Steps that hold something besides a training step (an epoch's evaluation, a DataLoader
    # restart): more than twice the median step.
    heavy = [(k, e - median_j, d - median_t) for k, (e, d) in enumerate(zip(per_step, durations)) if e > 2 * median_j]
    # The full run's own steps at the short run's window position: tells a warm-up trend inside the
    # script (these match the short run, not the rest) from run-to-run noise (they match the rest).
    n = short["steps"]
    same_window_j = sum(per_step[:n]) / n
    same_window_t = sum(durations[:n]) / n
    measured_j, measured_t = full["energy_j"], full["duration_s"]
    # The projection's formula applied to the full run's own first n steps: the method's error
    # without the run-to-run noise of two separate processes on a shared machine.
    same_run_j = startup_j_full + same_window_j * remaining
    same_run_t = startup_t_full + same_window_t * remaining
    return {
        "total_steps": proj["total_steps"], "total_steps_basis": proj.get("total_steps_basis", ""),
        "measured_steps": short["steps"], "warmup_steps": short["warmup_steps"],
        "full_steps_seen": full["steps_seen"],
        "energy": {"projected": proj["energy_j"], "low": proj["low_j"], "high": proj["high_j"],
                   "measured": measured_j, "error_pct": _pct(proj["energy_j"], measured_j),
                   "in_range": proj["low_j"] <= measured_j <= proj["high_j"]},
        "time": {"projected": proj["time_s"], "measured": measured_t, "error_pct": _pct(proj["time_s"], measured_t)},
        "same_run": {"energy_j": same_run_j, "energy_error_pct": _pct(same_run_j, measured_j),
                     "time_s": same_run_t, "time_error_pct": _pct(same_run_t, measured_t)},
        "parts_j": {"startup": [startup_j_proj, startup_j_full], "steps": [steps_j_proj, steps_j_full],
                    "after_last_step": [0.0, tail_j_full]},
        "parts_s": {"startup": [startup_t_proj, startup_t_full], "steps": [steps_t_proj, steps_t_full],
                    "after_last_step": [0.0, tail_t_full]},
        "j_per_step": {"short": short["j_per_step"], "full_same_window": same_window_j,
                       "full_mean": steps_j_full / len(per_step), "full_median": median_j},
        "step_time_s": {"short": short["step_time_s"], "full_same_window": same_window_t,
                        "full_mean": steps_t_full / len(durations), "full_median": median_t},
        "heavy_steps": {"count": len(heavy), "excess_j": sum(h[1] for h in heavy), "excess_s": sum(h[2] for h in heavy),
                        "indices": [h[0] for h in heavy][:20]},
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--fraction", type=float, default=0.05, help="share of the run's steps to measure (default 0.05)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads in the scripts (default 1, see profiler_overhead.py)")
    parser.add_argument("--only", action="append", choices=sorted(SCRIPTS), help="run only this script (repeatable)")
    parser.add_argument("--json", help="also write the raw numbers to this file")
    args = parser.parse_args()
    names = args.only or list(SCRIPTS)
    results: dict[str, list[dict]] = {n: [] for n in names}
    load_before = os.getloadavg()
    started = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            source, total = SCRIPTS[name]
            script = os.path.join(tmp, f"{name}.py")
            with open(script, "w") as fh:
                fh.write(source)
            steps = max(1, round(total * args.fraction))
            script_args = [script, "--threads", str(args.threads)]
            report = os.path.join(tmp, f"{name}.json")
            for r in range(args.repeats):
                if r % 2:  # alternate the order, so that drifting load does not favour one side
                    full = greenlint(["--full", *script_args], report)
                short = greenlint(["--steps", str(steps), *script_args], report)
                basis = "script"
                if short["projection"]["total_steps"] != total:
                    found = short["projection"]["total_steps_basis"] or short["projection"]["basis"]
                    short = greenlint(["--steps", str(steps), "--total-steps", str(total), *script_args], report)
                    basis = f"--total-steps (detection gave {found!r})"
                if r % 2 == 0:
                    full = greenlint(["--full", *script_args], report)
                row = compare(short, full, total)
                row["basis_used"] = basis
                results[name].append(row)
                e, t = row["energy"], row["time"]
                print(f"{name} #{r + 1}: {steps} of {total} steps measured (total from {basis.split(' (')[0]}); "
                      f"energy projected {e['projected']:.1f} J [{e['low']:.1f}, {e['high']:.1f}] vs measured "
                      f"{e['measured']:.1f} J: {e['error_pct']:+.1f} % ({'in' if e['in_range'] else 'OUT OF'} range); "
                      f"time projected {t['projected']:.2f} s vs {t['measured']:.2f} s: {t['error_pct']:+.1f} %",
                      flush=True)
                for part in ("startup", "steps", "after_last_step"):
                    pj, mj = row["parts_j"][part]
                    ps, ms = row["parts_s"][part]
                    print(f"    {part:16} projected {pj:7.1f} J {ps:6.2f} s | full run {mj:7.1f} J {ms:6.2f} s")
                h = row["heavy_steps"]
                sr = row["same_run"]
                print(f"    same-run projection (formula on the full run's own first {steps} steps): energy "
                      f"{sr['energy_error_pct']:+.1f} %, time {sr['time_error_pct']:+.1f} %")
                js, ts = row["j_per_step"], row["step_time_s"]
                print(f"    J/step: short run {js['short']:.4f}; full run: same steps {js['full_same_window']:.4f}, "
                      f"all steps mean {js['full_mean']:.4f} / median {js['full_median']:.4f}")
                print(f"    s/step: short run {ts['short']:.4f}; full run: same steps {ts['full_same_window']:.4f}, "
                      f"all steps mean {ts['full_mean']:.4f} / median {ts['full_median']:.4f}")
                print(f"    "
                      f"{h['count']} full-run steps above 2x the median hold {h['excess_j']:.1f} J / {h['excess_s']:.2f} s extra",
                      flush=True)
    load_after = os.getloadavg()
    print(f"\nsummary ({args.repeats} repeats; median error; load average {load_before[0]:.1f} before, "
          f"{load_after[0]:.1f} after; {os.cpu_count()} CPUs; {time.time() - started:.0f} s):")
    for name in names:
        rows = results[name]
        e = statistics.median(r["energy"]["error_pct"] for r in rows)
        t = statistics.median(r["time"]["error_pct"] for r in rows)
        inside = sum(r["energy"]["in_range"] for r in rows)
        se = statistics.median(r["same_run"]["energy_error_pct"] for r in rows)
        st = statistics.median(r["same_run"]["time_error_pct"] for r in rows)
        spread = ", ".join(f"{r['energy']['error_pct']:+.0f}" for r in rows)
        print(f"  {name:13} energy {e:+6.1f} % (each: {spread})  time {t:+6.1f} %  inside the projected range "
              f"{inside}/{len(rows)} | same-run: energy {se:+6.1f} %  time {st:+6.1f} % | total steps from: "
              f"{rows[0]['basis_used']}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"fraction": args.fraction, "threads": args.threads, "results": results,
                       "load_before": load_before, "load_after": load_after, "cpus": os.cpu_count()}, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
