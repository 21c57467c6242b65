"""Training callbacks: the tracker's arithmetic with fake sources (exact), then real tiny CPU runs of
a Hugging Face Trainer and a Lightning fit (skipped when the framework is not installed)."""

from __future__ import annotations

import json
import sys

import pytest
from greenlint.profiler.callbacks.tracker import LINES_BASIS, TrainingEnergy
from greenlint.profiler.meter import EnergyMeter
from greenlint.profiler.cpu_estimate import EstimateSource
from greenlint.profiler.sources import EnergySource


class FakeSource(EnergySource):
    def __init__(self, kind: str, method: str, cheap: bool, name: str) -> None:
        self.kind, self.method, self.cheap, self.name = kind, method, cheap, name
        self.basis = f"fake {method}"
        self.value = 0.0
        self.reads = 0
        self.samples: list[tuple[float, float]] = []

    def start(self) -> None:
        pass

    def read_j(self) -> float:
        self.reads += 1
        return self.value

    def drain_timeline(self) -> list[tuple[float, float]]:
        samples, self.samples = self.samples, []
        return samples


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def rig():
    cpu = FakeSource("cpu", "rapl", True, "package-0")
    gpu = FakeSource("gpu", "nvml-energy-counter", False, "GPU 0: fake")
    clock = Clock()
    meter = EnergyMeter(sources=[cpu, gpu], clock=clock, power_samples=True)
    return meter, cpu, gpu, clock


def run_steps(tracker, cpu, gpu, clock, n, cpu_j=2.0, gpu_j=10.0):
    for _ in range(n):
        clock.t += 1.0
        cpu.value += cpu_j
        gpu.value += gpu_j
        tracker.step_end()


def test_epoch_and_step_energy_and_never_the_gpu_per_step(rig):
    meter, cpu, gpu, clock = rig
    tracker = TrainingEnergy(meter, "test", warmup_steps=1)
    tracker.train_begin(10, "given")
    tracker.epoch_begin(0)
    gpu.reads = 0
    run_steps(tracker, cpu, gpu, clock, 3)
    assert gpu.reads == 0  # steps read only the cheap sources
    epoch = tracker.epoch_end()
    assert gpu.reads == 1  # the epoch window's end
    assert (epoch.epoch, epoch.steps, epoch.energy_j, epoch.time_s, epoch.how) == (0, 3, 36.0, 3.0, "measured")
    # No power samples: the GPU's 30 J are split by step time (equal steps here), and a notice says so.
    assert tracker.per_step == [12.0, 12.0, 12.0]
    assert epoch.j_per_step == 12.0
    assert any("split by step time" in n for n in tracker.notices)


def test_gpu_split_between_steps_by_power_samples(rig):
    meter, _, gpu, clock = rig
    tracker = TrainingEnergy(meter, "test", warmup_steps=0)
    tracker.train_begin(None, "unknown")
    tracker.epoch_begin(0)
    # 100 W during the first step (t 100-101), 300 W during the second (101-102): 1:3.
    gpu.samples = [(100.0, 100.0), (100.5, 100.0), (101.0, 300.0), (101.5, 300.0)]
    for _ in range(2):
        clock.t += 1.0
        gpu.value += 20.0
        tracker.step_end()
    tracker.epoch_end()
    assert tracker.per_step == [10.0, 30.0]  # the counter's 40 J, shaped by the samples
    assert any("power samples scaled to the counter" in n for n in tracker.notices)


def test_cheap_step_energy_is_returned_per_step(rig):
    meter, cpu, gpu, clock = rig
    tracker = TrainingEnergy(meter, "test")
    tracker.train_begin(5, "given")
    tracker.epoch_begin(0)
    clock.t += 1
    cpu.value += 1.5
    gpu.value += 7.0
    assert tracker.step_end() == 1.5  # the cheap (CPU) sources only: the GPU is not read per step


def test_projection_during_training(rig):
    meter, cpu, gpu, clock = rig
    tracker = TrainingEnergy(meter, "test", warmup_steps=1)
    tracker.train_begin(10, "given")
    tracker.epoch_begin(0)
    run_steps(tracker, cpu, gpu, clock, 3)
    tracker.epoch_end()
    p = tracker.projection()
    tol = (6 * 0.10 + 30 * 0.05) / 36  # energy-weighted stated tolerances (RAPL 10 %, NVML 5 %)
    assert p.total_steps == 10
    assert p.energy_j == pytest.approx(36 + 12 * 7)  # measured 36 J + 12 J/step x 7 remaining
    assert p.low_j == pytest.approx((36 + 12 * 7) * (1 - tol))
    assert p.high_j == pytest.approx((36 + 12 * 7) * (1 + tol))
    assert p.time_s == pytest.approx(3 + 7 * 1.0)
    assert p.basis.startswith("projected:") and "after 1 warm-up step" in p.basis
    logs = tracker.progress_logs()
    assert logs["greenlint/energy_j"] == 36.0
    assert logs["greenlint/projected_energy_j"] == pytest.approx(120.0)


def test_profile_when_training_completes(rig, tmp_path):
    meter, cpu, gpu, clock = rig
    tracker = TrainingEnergy(meter, "test", warmup_steps=1)
    tracker.train_begin(4, "given")
    for e in range(2):
        tracker.epoch_begin(e)
        run_steps(tracker, cpu, gpu, clock, 2)
        tracker.epoch_end()
        clock.t += 1.0
        gpu.value += 5.0  # work between epochs (evaluation): in the run, not in the epochs
    profile = tracker.train_end("completed")
    data = tracker.write(str(tmp_path / "out" / "p.json"), profile)
    assert json.loads((tmp_path / "out" / "p.json").read_text()) == data
    p = data["profile"]
    assert {"steps", "energy_j", "j_per_step", "devices", "lines", "projection"} <= set(p)
    assert p["steps"] == 4 and p["outcome"] == "completed"
    assert p["energy_j"] == 58.0 and p["window_energy_j"] == 48.0 and p["energy_how"] == "measured"
    assert [(d["kind"], d["method"], d["energy_j"]) for d in p["devices"]] == [
        ("cpu", "rapl", 8.0), ("gpu", "nvml-energy-counter", 50.0)]
    assert p["j_per_step"] == 12.0 and p["warmup_steps"] == 1
    assert p["lines"] == [] and p["lines_basis"] == LINES_BASIS
    proj = p["projection"]
    assert {"total_steps", "energy_j", "low_j", "high_j", "basis"} <= set(proj)
    assert proj["total_steps"] == 4 and proj["energy_j"] == 58.0 and proj["basis"].startswith("measured:")
    assert proj["kind"] == "full run" and "sensors' stated tolerance" in proj["basis"]
    assert [e["energy_j"] for e in p["epochs"]] == [24.0, 24.0]
    assert p["source"] == "test"


def test_profile_projects_a_run_stopped_before_its_total(rig):
    meter, cpu, gpu, clock = rig
    tracker = TrainingEnergy(meter, "test", warmup_steps=0)
    tracker.train_begin(10, "given", start_step=2)  # resumed at step 2
    tracker.epoch_begin(0)
    run_steps(tracker, cpu, gpu, clock, 3)
    profile = tracker.train_end("stopped")  # also closes the open epoch
    proj = profile.projection
    assert profile.outcome == "stopped" and profile.steps == 3
    assert proj.energy_j == pytest.approx(36 + 12 * 5)  # 10 - 2 resumed - 3 run = 5 remaining
    assert proj.basis.startswith("projected:") and "before a resume were not measured" in proj.basis


def test_window_steps_laps_add_up_to_the_epoch(rig):
    meter, cpu, gpu, clock = rig
    tracker = TrainingEnergy(meter, "test", warmup_steps=0, window_steps=2)
    tracker.train_begin(100, "given")
    tracker.epoch_begin(0)
    gpu.reads = 0
    lapped = []
    for k in range(5):
        clock.t += 1.0
        cpu.value += 1.0
        gpu.value += 10.0 * (k + 1)  # uneven steps
        tracker.step_end()
        lapped.append(tracker.lapped)
    assert lapped == [False, True, False, True, False]
    epoch = tracker.epoch_end()
    assert gpu.reads == 3  # two laps + the end: each window boundary is one read
    assert len(tracker.segments) == 3
    assert epoch.energy_j == cpu.value + gpu.value  # the laps tile the epoch
    assert "greenlint/projected_energy_j" in tracker.progress_logs()


def test_window_steps_must_be_positive(rig):
    meter = rig[0]
    with pytest.raises(ValueError, match="window_steps"):
        TrainingEnergy(meter, "test", window_steps=0)


# ------------------------------------------------------------------------- real frameworks (CPU)


def meter_with_fake_gpu():
    """The real CPU estimate plus a fake GPU counter whose reads are counted."""
    gpu = FakeSource("gpu", "nvml-energy-counter", False, "GPU 0: fake")
    gpu.value = 0.0
    return EnergyMeter(sources=[EstimateSource(), gpu], power_samples=True), gpu


def tiny_hf_trainer(tmp_path, callback, epochs=2):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers", reason="transformers is not installed (optional: greenlint[callbacks])")
    torch.manual_seed(0)
    config = transformers.BertConfig(vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                     intermediate_size=37, max_position_embeddings=16)
    model = transformers.BertForSequenceClassification(config)
    data = [{"input_ids": torch.randint(0, 64, (8,)), "attention_mask": torch.ones(8, dtype=torch.long),
             "labels": torch.tensor(i % 2)} for i in range(16)]
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path / "hf"), num_train_epochs=epochs, per_device_train_batch_size=4, report_to=[],
        logging_steps=2, save_strategy="no", use_cpu=True, disable_tqdm=True, dataloader_num_workers=0)
    return transformers.Trainer(model=model, args=args, train_dataset=data, callbacks=[callback])


def test_hugging_face_trainer(tmp_path):
    pytest.importorskip("transformers", reason="transformers is not installed (optional: greenlint[callbacks])")
    from greenlint.profiler import GreenlintTrainerCallback

    meter, gpu = meter_with_fake_gpu()
    callback = GreenlintTrainerCallback(meter=meter)
    trainer = tiny_hf_trainer(tmp_path, callback)
    trainer.train()
    # 16 samples / batch 4 = 4 steps per epoch, 2 epochs. The GPU counter is read only at window
    # boundaries: train begin/end and each epoch's begin/end.
    assert gpu.reads == 2 + 2 * 2
    path = tmp_path / "hf" / "greenlint_profile.json"
    assert callback.path == str(path)
    p = json.loads(path.read_text())["profile"]
    assert p["steps"] == 8 and p["outcome"] == "completed"
    assert [e["steps"] for e in p["epochs"]] == [4, 4]
    assert [d["method"] for d in p["devices"]] == ["estimate", "nvml-energy-counter"]
    assert p["energy_j"] > 0 and p["energy_how"] == "partly estimated"
    assert p["lines"] == [] and p["lines_basis"] == LINES_BASIS
    # the run's energy is partly a CPU-time estimate: so is its full-run figure (labels.py)
    assert p["projection"]["total_steps"] == 8 and p["projection"]["basis"].startswith("partly estimated:")
    assert p["projection"]["kind"] == "full run"
    assert p["source"].startswith("GreenlintTrainerCallback (transformers ")
    logged = set().union(*(set(entry) for entry in trainer.state.log_history))
    assert {"greenlint/step_cpu_energy_j", "greenlint/epoch_energy_j", "greenlint/j_per_step",
            "greenlint/energy_j", "greenlint/projected_energy_j"} <= logged


def test_hugging_face_attach_puts_the_callback_first(tmp_path):
    pytest.importorskip("transformers", reason="transformers is not installed (optional: greenlint[callbacks])")
    from greenlint.profiler import GreenlintTrainerCallback

    trainer = tiny_hf_trainer(tmp_path, GreenlintTrainerCallback(meter=meter_with_fake_gpu()[0]), epochs=1)
    callback = GreenlintTrainerCallback(output=str(tmp_path / "first.json"), total_steps=40,
                                        meter=meter_with_fake_gpu()[0]).attach(trainer)
    assert trainer.callback_handler.callbacks[0] is callback
    trainer.train()
    p = json.loads((tmp_path / "first.json").read_text())["profile"]
    # Ran 4 of the 40 steps it was told about: the end of training is projected, not measured.
    assert p["projection"]["total_steps"] == 40 and p["projection"]["basis"].startswith("projected:")


class _LitModel:
    """Built on first use, so that the module imports without lightning."""

    @staticmethod
    def make(L, torch, fail_at=None):
        class Tiny(L.LightningModule):
            def __init__(self):
                super().__init__()
                self.layer = torch.nn.Linear(4, 1)

            def training_step(self, batch, batch_idx):
                if fail_at is not None and self.global_step >= fail_at:
                    raise RuntimeError("boom")
                x, y = batch
                loss = torch.nn.functional.mse_loss(self.layer(x), y)
                self.log("loss", loss)
                return loss

            def configure_optimizers(self):
                return torch.optim.SGD(self.parameters(), lr=0.1)

        return Tiny()


def lightning_fit(tmp_path, callback, fail_at=None, **trainer_args):
    torch = pytest.importorskip("torch")
    L = pytest.importorskip("lightning.pytorch", reason="lightning is not installed (optional: greenlint[callbacks])")
    torch.manual_seed(0)
    data = torch.utils.data.TensorDataset(torch.randn(24, 4), torch.randn(24, 1))
    loader = torch.utils.data.DataLoader(data, batch_size=4)
    trainer = L.Trainer(max_epochs=2, callbacks=[callback], accelerator="cpu", devices=1, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                        default_root_dir=str(tmp_path / "pl"), log_every_n_steps=1, **trainer_args)
    trainer.fit(_LitModel.make(L, torch, fail_at), loader)
    return trainer


def test_lightning_fit(tmp_path):
    pytest.importorskip("lightning.pytorch", reason="lightning is not installed (optional: greenlint[callbacks])")
    from greenlint.profiler import GreenlintLightningCallback

    meter, gpu = meter_with_fake_gpu()
    callback = GreenlintLightningCallback(meter=meter)
    trainer = lightning_fit(tmp_path, callback)
    assert gpu.reads == 2 + 2 * 2  # train window + two epoch windows, never per step
    path = tmp_path / "pl" / "greenlint_profile.json"
    p = json.loads(path.read_text())["profile"]
    assert p["steps"] == 12 and p["outcome"] == "completed"  # 24 samples / 4 x 2 epochs
    assert [e["steps"] for e in p["epochs"]] == [6, 6]
    assert p["projection"]["total_steps"] == 12  # trainer.estimated_stepping_batches
    assert p["lines"] == [] and p["source"].startswith("GreenlintLightningCallback (lightning ")
    assert {"greenlint/step_cpu_energy_j", "greenlint/epoch_energy_j", "greenlint/j_per_step",
            "greenlint/energy_j", "greenlint/projected_energy_j"} <= set(trainer.callback_metrics)


def test_lightning_counts_optimizer_steps_not_batches(tmp_path):
    pytest.importorskip("lightning.pytorch", reason="lightning is not installed (optional: greenlint[callbacks])")
    from greenlint.profiler import GreenlintLightningCallback

    callback = GreenlintLightningCallback(meter=meter_with_fake_gpu()[0], output=str(tmp_path / "acc.json"))
    lightning_fit(tmp_path, callback, accumulate_grad_batches=2)
    p = json.loads((tmp_path / "acc.json").read_text())["profile"]
    assert p["steps"] == 6 and p["projection"]["total_steps"] == 6


def test_lightning_writes_the_profile_when_training_fails(tmp_path):
    pytest.importorskip("lightning.pytorch", reason="lightning is not installed (optional: greenlint[callbacks])")
    from greenlint.profiler import GreenlintLightningCallback

    callback = GreenlintLightningCallback(meter=meter_with_fake_gpu()[0], output=str(tmp_path / "f.json"))
    with pytest.raises(RuntimeError, match="boom"):
        lightning_fit(tmp_path, callback, fail_at=3)
    p = json.loads((tmp_path / "f.json").read_text())["profile"]
    assert p["outcome"] == "failed" and p["steps"] == 3
    assert p["projection"]["total_steps"] == 12 and p["projection"]["basis"].startswith("projected:")


def test_pytorch_lightning_flavour():
    pl = pytest.importorskip("pytorch_lightning", reason="pytorch_lightning is not installed")
    from greenlint.profiler.callbacks import lightning as module

    cls = module.GreenlintPytorchLightningCallback
    assert issubclass(cls, pl.Callback)
    assert module.GreenlintPytorchLightningCallback is cls  # built once


def test_callbacks_without_the_frameworks_say_what_to_install(monkeypatch):
    # A missing framework: a clear ImportError naming the package, not a NameError later.
    for name in ["transformers", "greenlint.profiler.callbacks.huggingface"]:
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.setitem(sys.modules, "transformers", None)  # makes `import transformers` fail
    from greenlint.profiler import callbacks

    monkeypatch.delitem(callbacks.__dict__, "GreenlintTrainerCallback", raising=False)
    with pytest.raises(ImportError, match=r"greenlint\[callbacks\]"):
        callbacks.GreenlintTrainerCallback  # noqa: B018


def test_the_callback_profile_write_never_follows_a_planted_symlink(tmp_path):
    # the temporary file used to be `<path>.tmp`, opened without O_EXCL: a symlink planted there
    # made the write land in the link's target (issue 17, item 5, same flaw in the callbacks)
    from greenlint.profiler.callbacks.tracker import TrainingEnergy as StepTracker

    target = tmp_path / "victim.txt"
    target.write_text("keep me")
    out = tmp_path / "profile.json"
    (tmp_path / "profile.json.tmp").symlink_to(target)
    tracker = StepTracker.__new__(StepTracker)
    tracker.profile_json = lambda profile: {"ok": True}  # type: ignore[method-assign]
    StepTracker.write(tracker, str(out), None)  # type: ignore[arg-type]
    assert target.read_text() == "keep me"
    assert json.loads(out.read_text()) == {"ok": True}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".profile.json.")]
