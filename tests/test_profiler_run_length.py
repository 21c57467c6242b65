"""greenlint profile reads the run's total step count from the script: the static finder, the
arithmetic with made-up run-time values, and real CPU child runs."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from greenlint.profiler.profile import compute_profile
from greenlint.profiler.run_length import choose_total_steps, resolve_total_steps
from greenlint.profiler.run_length_eval import Runtime
from greenlint.profiler.run_length_loops import static_plan
from greenlint.profiler.run_length_script import analyse

FILE = "/proj/train.py"


def structure(source: str, file: str = FILE):
    return analyse(textwrap.dedent(source).lstrip("\n"), file)


def resolve(source: str, runtime: dict | None = None, file: str = FILE):
    s = structure(source, file)
    return resolve_total_steps({file: s}, Runtime.of(runtime), file)


def loader_record(line: int, length: int | None, file: str = FILE, **extra) -> dict:
    return {"sites": [[file, line]], "lengths": [] if length is None else [length],
            "why_unknown": extra.pop("why", None), "iters": 1, **extra}


# ------------------------------------------------------------------------------------ static shapes

LITERAL = """
import torch
model = torch.nn.Linear(4, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(10):
    for x, y in train_loader:
        opt.zero_grad()
        loss = (model(x) - y).pow(2).mean()
        loss.backward()
        opt.step()
"""


def test_literal_epoch_range_around_a_dataloader_loop():
    plan = static_plan(structure(LITERAL))
    assert [(lp.kind, lp.line, lp.label) for lp in plan.loops] == [("range", 4, "epochs"), ("iterable", 5, "batches")]
    assert plan.loops[1].iterable == "train_loader" and plan.accumulation is None
    # Without a run the loader's length is unknown: said, not guessed.
    result = resolve(LITERAL)
    assert result.total_steps is None and "the length of `train_loader` (known only at run time)" in result.basis
    # With the length the probe records for the DataLoader iterated on line 5:
    result = resolve(LITERAL, {"loaders": [loader_record(5, 469)]})
    assert result.total_steps == 4690
    assert result.basis.startswith("total steps 4,690 = 10 epochs (`for epoch in range(10)` at train.py:4")
    assert "469 batches (`for x, y in train_loader` at train.py:5; len() of the DataLoader" in result.basis


def test_a_loader_iterated_inside_the_users_own_wrapper_still_matches_the_loop():
    # `for x, y in Prefetcher(train_loader)`: the innermost user frame is the wrapper's __iter__.
    record = {"sites": [["/proj/data.py", 40], [FILE, 5]], "lengths": [12], "iters": 1}
    assert resolve(LITERAL, {"loaders": [record]}).total_steps == 120


ARGPARSE = """
import argparse
import torch

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=14)
    parser.add_argument("--lr", type=float, default=1.0)
    args = parser.parse_args()
    model = torch.nn.Linear(4, 1)
    optimizer = torch.optim.Adadelta(model.parameters(), lr=args.lr)
    for epoch in range(1, args.epochs + 1):
        for batch_idx, (data, target) in enumerate(tqdm(train_loader)):
            optimizer.zero_grad()
            loss = model(data).sum()
            loss.backward()
            optimizer.step()

if __name__ == "__main__":
    main()
"""


def test_argparse_attribute_bound_uses_the_run_time_value_and_names_the_option():
    plan = static_plan(structure(ARGPARSE))
    assert [lp.header for lp in plan.loops] == ["for epoch in range(1, args.epochs + 1)",
                                                "for batch_idx, (data, target) in enumerate(tqdm(train_loader))"]
    assert plan.loops[1].iterable == "train_loader"  # enumerate and tqdm unwrapped
    runtime = {"argparse": [{"values": {"epochs": 3, "lr": 1.0}, "options": {"epochs": "--epochs"}}],
               "loaders": [loader_record(12, 50)]}
    result = resolve(ARGPARSE, runtime)
    assert result.total_steps == 150
    assert "3 epochs (`for epoch in range(1, args.epochs + 1)` at train.py:11; args.epochs = 3 from argparse " \
           "--epochs, train.py:6 at run time)" in result.basis


def test_argparse_default_is_used_only_without_a_run_and_says_so():
    result = resolve(ARGPARSE, {"loaders": [loader_record(12, 10)]})
    assert result.total_steps == 140
    assert "the default of argparse --epochs, train.py:6 (no run-time value)" in result.basis


CONSTANT = """
import torch
NUM_EPOCHS = 5
STEPS_PER_EPOCH = 200

def train(model, opt, get_batch):
    for epoch in range(NUM_EPOCHS):
        for step in range(STEPS_PER_EPOCH):
            loss = model(get_batch()).mean()
            loss.backward()
            opt.step()
            opt.zero_grad()
"""


def test_module_constants_are_read_from_the_source():
    result = resolve(CONSTANT)
    assert result.total_steps == 1000
    assert "5 epochs (`for epoch in range(NUM_EPOCHS)` at train.py:6; NUM_EPOCHS = 5, train.py:2)" in result.basis
    assert "200 iterations (`for step in range(STEPS_PER_EPOCH)` at train.py:7; STEPS_PER_EPOCH = 200, train.py:3)" \
        in result.basis


NANOGPT = """
import torch
max_iters = 600000
gradient_accumulation_steps = 40
exec(open('configurator.py').read())
iter_num = 0
optimizer = model.configure_optimizers()
X, Y = get_batch('train')
while True:
    lr = get_lr(iter_num)
    for micro_step in range(gradient_accumulation_steps):
        logits, loss = model(X, Y)
        X, Y = get_batch('train')
        scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad(set_to_none=True)
    iter_num += 1
    if iter_num > max_iters:
        break
"""


def test_nanogpt_while_true_with_a_max_iters_break():
    plan = static_plan(structure(NANOGPT))
    assert [(lp.kind, lp.counter, lp.strict) for lp in plan.loops] == [("while", "iter_num", False)]
    result = resolve(NANOGPT)
    # iter_num 0..max_iters: max_iters + 1 optimizer steps (the micro-step loop is not a step loop)
    assert result.total_steps == 600001
    assert "while iter_num <= max_iters (break at train.py:18)" in result.basis


def test_nanogpt_bound_overridden_at_run_time_reads_the_value_the_script_used():
    # configurator.py set max_iters=2000; the probe read it in the module's frame at the first step.
    frames = [{"file": FILE, "function": "<module>", "line": 14, "values": {"max_iters": 2000, "iter_num": 0}}]
    result = resolve(NANOGPT, {"first_step": {"frames": frames}})
    assert result.total_steps == 2001
    assert "max_iters = 2,000 at the first optimizer step (train.py:2 sets 600,000; changed before the loop)" \
        in result.basis
    assert result.basis.endswith("loops found from the first optimizer step's call stack")


WHILE_LESS = """
import torch
step = 0
while step < cfg.max_iters:
    loss = model(batch).mean()
    loss.backward()
    step += 1
    optimizer.step()
"""


def test_while_counter_loop_with_a_config_attribute_bound():
    frames = [{"file": FILE, "function": "<module>", "line": 7, "values": {"step": 1, "cfg.max_iters": 300}}]
    result = resolve(WHILE_LESS, {"first_step": {"frames": frames}})
    # `step += 1` comes before the optimizer step, so step = 1 at the first step means it began at 0.
    assert result.total_steps == 300
    assert "step = 0 when the loop began" in result.basis and "cfg.max_iters = 300" in result.basis
    unknown = resolve(WHILE_LESS)
    assert unknown.total_steps is None and "the value of `cfg.max_iters`" in unknown.basis


HF = """
from transformers import Trainer, TrainingArguments
args = TrainingArguments(output_dir="out", max_steps=500, num_train_epochs=3, per_device_train_batch_size=8)
Trainer(model=model, args=args, train_dataset=ds).train()
"""


def test_hf_training_arguments_max_steps_from_the_source():
    result = resolve(HF)
    assert result.total_steps == 500
    assert result.basis == "total steps 500 = max_steps of TrainingArguments(...) at train.py:2 (read from the source)"


def test_hf_trainer_state_at_run_time_wins():
    runtime = {"frameworks": [{"framework": "transformers", "class": "Trainer", "values": {
        "state.max_steps": 12, "state.global_step": 0, "args.max_steps": -1, "args.num_train_epochs": 3,
        "args.gradient_accumulation_steps": 2}}]}
    result = resolve(HF.replace("max_steps=500, ", ""), runtime)
    assert result.total_steps == 12
    assert "the HF Trainer's state.max_steps (12) at run time" in result.basis
    assert "num_train_epochs=3, gradient_accumulation_steps=2" in result.basis


def test_hf_epochs_only_without_a_run_is_unknown_and_says_why():
    result = resolve(HF.replace("max_steps=500, ", ""))
    assert result.total_steps is None
    assert "TrainingArguments(...) at train.py:2 (num_train_epochs=3)" in result.basis


LIGHTNING = """
import lightning as L
trainer = L.Trainer(max_epochs=args.epochs, accumulate_grad_batches=4)
trainer.fit(model, datamodule=dm)
"""


def test_lightning_trainer_at_run_time_uses_lightnings_formula():
    runtime = {"frameworks": [{"framework": "lightning", "class": "Trainer", "values": {
        "max_epochs": 3, "max_steps": -1, "num_training_batches": 10, "accumulate_grad_batches": 4,
        "global_step": 0}}]}
    result = resolve(LIGHTNING, runtime)
    assert result.total_steps == 9  # 3 x ceil(10 / 4): Lightning steps on an epoch's last partial accumulation
    assert "3 epochs x ceil(10 batches / 4)" in result.basis


def test_lightning_max_steps_caps_and_static_max_steps():
    values = {"max_epochs": 100, "max_steps": 50, "num_training_batches": 10, "accumulate_grad_batches": 1}
    result = resolve(LIGHTNING, {"frameworks": [{"framework": "lightning", "class": "Trainer", "values": values}]})
    assert result.total_steps == 50 and "max_steps, below 100 epochs" in result.basis
    static = resolve("import pytorch_lightning as pl\ntrainer = pl.Trainer(max_steps=2000)\n")
    assert static.total_steps == 2000 and "max_steps of Trainer(...) at train.py:2" in static.basis
    both = resolve("import lightning as L\ntrainer = L.Trainer(max_steps=2000, max_epochs=3)\n")
    assert both.total_steps is None and "the smaller bound needs the batches per epoch" in both.basis


ACCUM = """
import torch
ACCUM = 4

def train_one_epoch(model, loader, optimizer):
    for i, (x, y) in enumerate(loader):
        loss = model(x, y) / ACCUM
        loss.backward()
        if (i + 1) % ACCUM == 0:
            optimizer.step()
            optimizer.zero_grad()

def main(args):
    for epoch in range(args.epochs):
        train_one_epoch(model, train_loader, optimizer)
"""


def test_gradient_accumulation_divides_the_batches_and_helpers_are_followed():
    plan = static_plan(structure(ACCUM))
    assert [lp.header for lp in plan.loops] == ["for epoch in range(args.epochs)",
                                                "for i, (x, y) in enumerate(loader)"]
    assert plan.accumulation.condition == "(i + 1) % ACCUM == 0" and not plan.accumulation.steps_on_last
    runtime = {"argparse": [{"values": {"epochs": 2}, "options": {"epochs": "--epochs"}}],
               "loaders": [loader_record(5, 10)]}
    result = resolve(ACCUM, runtime)
    assert result.total_steps == 4  # 2 epochs x floor(10 / 4)
    assert "2 optimizer steps per pass = 10 batches" in result.basis
    assert "/ 4 (gradient accumulation: the step is under `if (i + 1) % ACCUM == 0`, train.py:8" in result.basis


def test_accumulation_that_also_steps_on_the_last_batch_rounds_up():
    source = ACCUM.replace("if (i + 1) % ACCUM == 0:", "if (i + 1) % ACCUM == 0 or i + 1 == len(loader):")
    runtime = {"argparse": [{"values": {"epochs": 2}, "options": {}}], "loaders": [loader_record(5, 10)]}
    result = resolve(source, runtime)
    assert result.total_steps == 6 and "ceil: it also steps on the last batch" in result.basis


def test_measured_batches_per_step_stands_in_when_no_condition_is_visible():
    source = LITERAL.replace("opt.step()", "maybe_step(opt)")  # the accumulation is hidden in a helper
    frames = [{"file": FILE, "function": "<module>", "line": 9, "values": {}}]
    runtime = {"first_step": {"frames": frames},
               "loaders": [loader_record(5, 100, batches_since_iter=12, steps_since_iter=3)]}
    result = resolve(source, runtime)
    assert result.total_steps == 10 * 25
    assert "measured: 12 batches for 3 optimizer steps" in result.basis


GAN = """
import torch
for epoch in range(2):
    for real in loader:
        d_loss(real).backward()
        opt_d.step()
        g_loss(real).backward()
        opt_g.step()
"""


def test_two_optimizers_stepping_each_iteration_count_twice():
    frames = [{"file": FILE, "function": "<module>", "line": 5, "values": {}}]
    result = resolve(GAN, {"first_step": {"frames": frames}, "loaders": [loader_record(3, 10)]})
    assert result.total_steps == 2 * 10 * 2
    assert "x 2 optimizer step calls per iteration (`opt_d.step()` at train.py:5, `opt_g.step()` at train.py:7)" \
        in result.basis
    conditional = GAN.replace("        opt_g.step()", "        if i % 5 == 0:\n            opt_g.step()")
    result = resolve(conditional, {"first_step": {"frames": frames}, "loaders": [loader_record(3, 10)]})
    assert result.total_steps == 20 and any("some under a condition" in n for n in result.notes)


def test_measured_optimizer_steps_per_batch_multiply():
    source = GAN.replace("        opt_d.step()\n", "").replace("opt_g.step()", "step_both()")  # two steps, hidden
    frames = [{"file": FILE, "function": "<module>", "line": 6, "values": {}}]
    runtime = {"first_step": {"frames": frames},
               "loaders": [loader_record(3, 10, batches_since_iter=4, steps_since_iter=8)]}
    result = resolve(source, runtime)
    assert result.total_steps == 40 and "measured: 8 optimizer steps for 4 batches" in result.basis


def test_nothing_found_says_what_was_tried():
    result = resolve("import torch\nprint('no training here')\n")
    assert result.total_steps is None and result.basis == "no optimizer step was found in train.py"
    iterable = resolve(LITERAL, {"loaders": [loader_record(5, None, why="IterableDataset (no fixed length)")]})
    assert iterable.total_steps is None
    assert "the length of `train_loader` (IterableDataset (no fixed length))" in iterable.basis
    no_loop = resolve("import torch\nloss.backward()\nopt.step()\n")
    assert no_loop.total_steps is None and "no loop encloses the optimizer step (train.py:3)" in no_loop.basis
    broken = resolve_total_steps({FILE: analyse("for x in (:\n", FILE)}, Runtime(), FILE)
    assert broken.total_steps is None and "train.py does not parse" in broken.basis


def test_range_of_len_reads_the_length_recorded_at_the_first_step():
    source = """
    import torch
    for epoch in range(EPOCHS):
        for i in range(len(batches)):
            loss = model(batches[i]).mean()
            loss.backward()
            optimizer.step()
    """
    frames = [{"file": FILE, "function": "<module>", "line": 6, "values": {"EPOCHS": 2}, "lengths": {"batches": 7}}]
    result = resolve(source, {"first_step": {"frames": frames}})
    assert result.total_steps == 14 and "len(batches) = 7 at run time" in result.basis


def test_a_break_in_the_step_loop_is_a_notice():
    source = LITERAL.replace("        opt.step()\n", "        opt.step()\n        if done:\n            break\n")
    result = resolve(source, {"loaders": [loader_record(5, 20)]})
    assert result.total_steps == 200
    assert any("has a `break`" in note and "upper bound" in note for note in result.notes)


def test_stack_across_two_files():
    engine = "/proj/engine.py"
    structures = {
        FILE: structure("import torch\nfrom engine import fit_epoch\nfor epoch in range(args.epochs):\n"
                        "    fit_epoch(model, loader)\n"),
        engine: structure("def fit_epoch(model, loader):\n    for batch in loader:\n        model(batch).backward()\n"
                          "        opt.step()\n", engine),
    }
    frames = [{"file": engine, "function": "fit_epoch", "line": 4, "values": {}},
              {"file": FILE, "function": "<module>", "line": 4, "values": {"args.epochs": 3}}]
    runtime = Runtime.of({"first_step": {"frames": frames}, "loaders": [loader_record(2, 5, file=engine)],
                          "argparse": [{"values": {"epochs": 3}, "options": {"epochs": "--epochs"}}]})
    result = resolve_total_steps(structures, runtime, FILE)
    assert result.total_steps == 15
    assert "3 epochs (`for epoch in range(args.epochs)` at train.py:3" in result.basis
    assert "5 batches (`for batch in loader` at engine.py:2" in result.basis
    # An outer frame in a file that cannot be read could hide a loop: unknown rather than too small.
    del structures[FILE]
    partial = resolve_total_steps(structures, runtime, FILE)
    assert partial.total_steps is None and "could not be parsed (train.py:4)" in partial.basis


# ------------------------------------------------------------------------------------ arithmetic


def make_raw(run_length: dict | None, steps_seen: int = 6, outcome: str = "stopped", full: bool = False) -> dict:
    """A raw child result (as recorder.Recorder.finish writes it): 2 warm-up steps costing 100 J,
    then 4 measured steps of 10, 10, 20, 20 J."""
    cpu = {"kind": "cpu", "name": "cpu", "method": "estimate", "cheap": True, "tolerance": 0.5, "basis": ""}
    return {
        "version": 1, "outcome": outcome, "exit_code": 0,
        "config": {"warmup": 2, "steps": 4, "duration": None, "full": full},
        "sources": [cpu], "cheap_index": [0], "notices": [], "hook_installed": True, "steps_seen": steps_seen,
        "run": {"t_begin": 0.0, "t_end": 14.0, "begin": [0.0], "end": [160.0]},
        "window": {"t_begin": 10.0, "begin": [100.0], "step_count_at_begin": 2, "t_end": 14.0, "end": [160.0],
                   "steps": 4},
        "step_times": [11.0, 12.0, 13.0, 14.0], "step_cpu": [[110.0], [120.0], [140.0], [160.0]],
        "lines_window": [], "lines_all": [], "samples": 0, "sample_interval_s": 0.005, "unattributed_s": 0.0,
        "unattributed_window_s": 0.0, "timelines": {}, "run_length": run_length,
    }


def _script_raw(tmp_path: Path, epochs: int, batches: int) -> dict:
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(LITERAL).lstrip("\n").replace("range(10)", "range(args.epochs)"))
    frames = [{"file": str(script), "function": "<module>", "line": 9, "is_main": True,
               "values": {"args.epochs": epochs}}]
    return make_raw({"main_file": str(script), "first_step": {"frames": frames},
                     "argparse": [{"values": {"epochs": epochs}, "options": {"epochs": "--epochs"}}],
                     "loaders": [loader_record(5, batches, file=str(script))]})


def test_projection_uses_the_scripts_total_and_states_it(tmp_path):
    raw = _script_raw(tmp_path, epochs=3, batches=34)
    length = choose_total_steps(raw, None)
    assert length.total_steps == 102
    proj = compute_profile(raw, length.total_steps, total_steps_basis=length.basis).projection
    # 100 J start-up + mean 15 J/step x (102 - 2 warm-up steps)
    assert proj.total_steps == 102 and proj.energy_j == pytest.approx(100.0 + 15.0 * 100)
    assert proj.total_steps_basis == length.basis
    assert "x 100 remaining of 102 (total steps 102 = 3 epochs (" in proj.basis
    assert "args.epochs = 3 from argparse --epochs at run time" in proj.basis


def test_user_total_steps_wins_and_completed_runs_count_themselves(tmp_path):
    raw = _script_raw(tmp_path, epochs=3, batches=34)
    user = choose_total_steps(raw, 500)
    assert (user.total_steps, user.basis) == (500, "--total-steps")
    proj = compute_profile(raw, user.total_steps, total_steps_basis=user.basis).projection
    assert "of 500 (--total-steps)" in proj.basis
    done = choose_total_steps({**raw, "outcome": "completed"}, None)
    assert done.total_steps == 6 and done.basis == "measured: the run completed after 6 optimizer steps"
    assert choose_total_steps({**raw, "config": {"full": True}}, None).total_steps is None
    assert choose_total_steps(None, None).total_steps is None


def test_a_script_total_below_the_steps_already_seen_is_rejected(tmp_path):
    raw = _script_raw(tmp_path, epochs=1, batches=3)  # 3 steps, but 6 already ran
    result = choose_total_steps(raw, None)
    assert result.total_steps is None and "6 steps already ran" in result.basis


def test_unknown_projection_keeps_the_hint_and_says_what_was_tried():
    raw = make_raw({"main_file": "/nonexistent/train.py"})
    length = choose_total_steps(raw, None)
    proj = compute_profile(raw, length.total_steps, total_steps_basis=length.basis).projection
    assert proj.energy_j is None
    assert proj.basis.startswith("unknown: pass --total-steps N (the script's own step count is not known; tried: ")
    assert "train.py could not be read" in proj.basis


# ------------------------------------------------------------------------------------ real child runs

TIMEOUT = 120


def _profile(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess, dict | None]:
    out = tmp_path / "profile.json"
    proc = subprocess.run([sys.executable, "-m", "greenlint", "profile", "--format", "json", "--output", str(out),
                           *args], check=False, capture_output=True, text=True, timeout=TIMEOUT, cwd=tmp_path)
    data = json.loads(out.read_text())["profile"] if out.exists() else None
    return proc, data


E2E_PLAIN = """
import argparse
import torch
from torch.utils.data import DataLoader, TensorDataset

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=20)
parser.add_argument("--batch-size", type=int, default=8)
args = parser.parse_args()
torch.set_num_threads(1)
loader = DataLoader(TensorDataset(torch.randn(100, 4), torch.randn(100, 1)), batch_size=args.batch_size)
model = torch.nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
for epoch in range(args.epochs):
    for x, y in loader:
        optimizer.zero_grad()
        loss = (model(x) - y).pow(2).mean()
        loss.backward()
        optimizer.step()
"""


def test_profile_reads_argparse_epochs_and_dataloader_length(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(E2E_PLAIN).lstrip("\n"))
    proc, prof = _profile(tmp_path, "--steps", "5", "--warmup", "2", str(script), "--epochs", "3")
    assert proc.returncode == 0, proc.stderr
    proj = prof["projection"]
    assert proj["total_steps"] == 39  # 3 epochs x ceil(100 / 8) = 13 batches
    assert proj["energy_j"] is not None and proj["low_j"] <= proj["energy_j"] <= proj["high_j"]
    assert proj["total_steps_basis"].startswith(
        "total steps 39 = 3 epochs (`for epoch in range(args.epochs)` at train.py:13; "
        "args.epochs = 3 from argparse --epochs, train.py:6 at run time) x 13 batches (`for x, y in loader` at "
        "train.py:14; len() of the DataLoader it iterates, at run time)")
    assert "of 39 (total steps 39 = 3 epochs" in proj["basis"]


E2E_HELPER = """
import argparse
import torch
from torch.utils.data import DataLoader, TensorDataset


def train_one_epoch(model, loader, optimizer, accum):
    for i, (x, y) in enumerate(loader):
        loss = (model(x) - y).pow(2).mean() / accum
        loss.backward()
        if (i + 1) % accum == 0:
            optimizer.step()
            optimizer.zero_grad()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--accum", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(1)
    loader = DataLoader(TensorDataset(torch.randn(200, 4), torch.randn(200, 1)), batch_size=10)
    model = torch.nn.Linear(4, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    for epoch in range(1, args.epochs + 1):
        train_one_epoch(model, loader, optimizer, args.accum)


if __name__ == "__main__":
    main()
"""


def test_profile_follows_the_epoch_loop_into_a_helper_with_accumulation(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(E2E_HELPER).lstrip("\n"))
    proc, prof = _profile(tmp_path, "--steps", "5", "--warmup", "2", str(script), "--epochs", "3", "--accum", "4")
    assert proc.returncode == 0, proc.stderr
    proj = prof["projection"]
    assert proj["total_steps"] == 15  # 3 epochs x floor(20 batches / 4)
    basis = proj["total_steps_basis"]
    assert "3 epochs (`for epoch in range(1, args.epochs + 1)` at train.py:24; args.epochs = 3 from argparse " \
           "--epochs, train.py:17 at run time)" in basis
    assert "5 optimizer steps per pass = 20 batches (`for i, (x, y) in enumerate(loader)` at train.py:7" in basis
    assert "/ 4 (gradient accumulation: the step is under `if (i + 1) % accum == 0`, train.py:10; accum = 4" in basis
    assert not [n for n in prof["notices"] if "measured" in n and "batches for" in n]  # the measured ratio agrees


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


@pytest.mark.skipif(not _has("lightning"), reason="lightning is not installed")
def test_profile_reads_a_lightning_trainer(tmp_path):
    script = tmp_path / "lit.py"
    script.write_text(textwrap.dedent("""
        import torch
        import lightning as L
        from torch.utils.data import DataLoader, TensorDataset

        class Model(L.LightningModule):
            def __init__(self):
                super().__init__()
                self.layer = torch.nn.Linear(4, 1)
            def training_step(self, batch, batch_idx):
                x, y = batch
                return (self.layer(x) - y).pow(2).mean()
            def configure_optimizers(self):
                return torch.optim.SGD(self.parameters(), lr=0.01)

        data = DataLoader(TensorDataset(torch.randn(100, 4), torch.randn(100, 1)), batch_size=10)
        trainer = L.Trainer(max_epochs=4, accelerator="cpu", logger=False, enable_checkpointing=False,
                            enable_progress_bar=False, enable_model_summary=False, accumulate_grad_batches=3)
        trainer.fit(Model(), data)
    """).lstrip("\n"))
    proc, prof = _profile(tmp_path, "--steps", "3", "--warmup", "1", str(script))
    assert proc.returncode == 0, proc.stderr
    assert prof["projection"]["total_steps"] == 16  # 4 x ceil(10 / 3)
    assert "the Lightning Trainer's 4 epochs x ceil(10 batches / 3), read at run time" \
        in prof["projection"]["total_steps_basis"]
