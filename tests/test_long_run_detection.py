"""`detect-long-runs` (rules/analysis/long_run_evidence.py): a file whose own code shows a long
run reports the run-length rules as a file named in `long-runs` does; every other file keeps the
default selection. Each case pairs a shape that shows a long run with the near-identical shape
that does not."""

from __future__ import annotations

import json
import textwrap

import pytest

# float32 on the GPU (GL101) and a value logged on every step (GL504): both preview, run-length rules.
LOOP = """
for epoch in range(EPOCHS):
    for x, y in loader:
        loss = torch.nn.functional.cross_entropy(model(x.cuda()), y.cuda())
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        print(loss.item())
"""
HEADER = """import argparse
import torch

model = Net().cuda()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
"""


def script(setup: str = "", epochs: str = "10") -> str:
    return HEADER + setup + LOOP.replace("EPOCHS", epochs)


DDP = "torch.distributed.init_process_group('nccl')\nmodel = torch.nn.parallel.DistributedDataParallel(model)\n"
ARGPARSE_300 = "parser = argparse.ArgumentParser()\nparser.add_argument('--epochs', type=int, default=300)\nargs = parser.parse_args()\n"


def _shown(project, *args: str) -> dict[str, set[str]]:
    code, out, err = project.run("check", "--no-cache", "--format", "json", *args)
    assert code in (0, 1), err
    shown: dict[str, set[str]] = {}
    for finding in json.loads(out):
        shown.setdefault(finding["filename"], set()).add(finding["code"])
    return shown


def _evidence(project, filename: str) -> set[str]:
    _, out, _ = project.run("check", "--no-cache", "--format", "json")
    return {f["impact"].get("long_run", "") for f in json.loads(out) if f["filename"] == filename}


@pytest.mark.parametrize(
    ("long_source", "short_source", "evidence"),
    [
        (script(DDP), script(), "distributed data-parallel training"),
        (script(ARGPARSE_300, "args.epochs"), script(ARGPARSE_300.replace("300", "30"), "args.epochs"), "`--epochs` defaults to 300"),
        (script("N_ITERS = 200000\n", "1").replace("for x, y in loader", "for it in range(N_ITERS)").replace(
            "model(x.cuda()), y.cuda()", "model(batch()), target()"),
         script("N_ITERS = 2000\n", "1").replace("for x, y in loader", "for it in range(N_ITERS)").replace(
             "model(x.cuda()), y.cuda()", "model(batch()), target()"),
         "200,000 steps"),
        (script("from absl import flags\nflags.DEFINE_integer('total_steps', 800000, 'steps')\n"),
         script("from absl import flags\nflags.DEFINE_integer('total_steps', 8000, 'steps')\n"), "800,000"),
    ],
    ids=["distributed", "argparse-epochs", "step-constant", "absl-flag"],
)
def test_a_file_that_shows_a_long_run_reports_the_run_length_rules(project, long_source, short_source, evidence):
    project.write("train.py", long_source)
    project.write("short.py", short_source)
    shown = _shown(project)
    # GL504 shows the detection; GL101 also needs a compute-heavy step or a run over GPUs (DDP here)
    assert "GL504" in shown.get("train.py", set())
    assert ("GL101" in shown.get("train.py", set())) is (evidence == "distributed data-parallel training")
    assert "short.py" not in shown  # its findings are only counted, as preview findings are
    assert any(evidence in reason for reason in _evidence(project, "train.py")), _evidence(project, "train.py")
    assert _evidence(project, "short.py") <= {""}


def test_detection_can_be_switched_off(project):
    project.write("train.py", script(DDP))
    assert "train.py" not in _shown(project, "--no-detect-long-runs")
    project.write("pyproject.toml", '[project]\nname = "p"\n[tool.greenlint]\ndetect-long-runs = false\n')
    assert "train.py" not in _shown(project)
    assert "train.py" in _shown(project, "--detect-long-runs")
    project.write("pyproject.toml", '[project]\nname = "p"\n[tool.greenlint]\ndetect-long-runs = "yes"\n')
    code, _, err = project.run("check", "--no-cache")
    assert code == 2 and "detect-long-runs" in err and "true or false" in err


FULL_BATCH = """import torch

model = torch.nn.Linear(2, 1).cuda()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(EPOCHS):
    loss = torch.nn.functional.mse_loss(model(X_train), y_train)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    print(loss.item())
"""


@pytest.mark.parametrize(
    ("name", "source"),
    [
        # a tutorial's full-batch loop: 1,000 "epochs" are 1,000 steps of a toy problem
        ("full-batch", FULL_BATCH.replace("EPOCHS", "1000")),
        # "until early stopping": a sentinel, not a length
        ("sentinel", script("", "10**9")),
        # MNIST-sized data vetoes any epoch count
        ("mnist", script("from torchvision import datasets\ndata = datasets.MNIST('.', download=True)\n", "500")),
        # no training at all: an evaluation script of a distributed project
        ("no-training", HEADER + DDP + "for x, y in loader:\n    print(model(x.cuda()).sum().item())\n"),
    ],
)
def test_no_evidence_no_long_run(project, name, source):
    project.write("train.py", source)
    assert "train.py" not in _shown(project), name


def test_an_evaluation_path_is_not_a_training_run(project):
    project.write("feature_eval/linear_probe_evaluator.py", script(DDP))
    project.write("train_eval.py", script(DDP))  # says it trains: detected
    shown = _shown(project)
    assert "feature_eval/linear_probe_evaluator.py" not in shown
    assert "train_eval.py" in shown


def test_a_configured_length_read_from_a_yaml_file(project):
    project.write("config.yaml", "train:\n  max_steps: 300000\n")
    source = script("import yaml\ncfg = yaml.safe_load(open('config.yaml'))\n", "1").replace(
        "        print(loss.item())\n", "        print(loss.item())\n        if step >= cfg['train']['max_steps']:\n            break\n")
    project.write("train.py", source)
    assert "GL504" in _shown(project).get("train.py", set())
    project.write("config.yaml", "train:\n  max_steps: 3000\n")
    assert "train.py" not in _shown(project)


# a causal language model's training step on a GPU (its `print(loss.item())` is GL504's)
LM_STEP = """model = AutoModelForCausalLM.from_pretrained(MODEL).cuda()
optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)
for batch in loader:
    loss = model(**batch).loss
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    print(loss.item())
"""


def test_a_billion_parameter_language_model(project):
    source = "import torch\nfrom transformers import AutoModelForCausalLM\n\n" + LM_STEP.replace("MODEL", '"meta-llama/Llama-2-7b-hf"')
    project.write("train.py", source)
    project.write("small.py", source.replace("meta-llama/Llama-2-7b-hf", "gpt2"))
    shown = _shown(project)
    assert "GL504" in shown.get("train.py", set()) and "small.py" not in shown
    assert any("7 billion parameters" in reason for reason in _evidence(project, "train.py"))


CLICK_TRAINER = """import click
import torch
from transformers import AutoModelForCausalLM

from .consts import DEFAULT_INPUT_MODEL


def train(input_model, epochs):
    for epoch in range(epochs):
""" + textwrap.indent(LM_STEP.replace("MODEL", "input_model"), "        ") + """


@click.command()
@click.option("--input-model", type=str, default=DEFAULT_INPUT_MODEL)
@click.option("--epochs", type=int, default=EPOCHS)
def main(**kwargs):
    train(**kwargs)
"""


def test_a_click_command_default_from_a_constant_of_the_package(project):
    """databrickslabs/dolly (blind27, post hoc): `@click.option("--input-model",
    default=DEFAULT_INPUT_MODEL)` with the constant imported relatively from training/consts.py
    ("EleutherAI/pythia-6.9b")."""
    project.write("training/__init__.py", "")
    project.write("training/consts.py", 'DEFAULT_INPUT_MODEL = "EleutherAI/pythia-6.9b"\n')
    project.write("training/trainer.py", CLICK_TRAINER.replace("EPOCHS", "3"))
    assert any("pythia-6.9b" in e for e in _evidence(project, "training/trainer.py")), _evidence(project, "training/trainer.py")
    project.write("training/consts.py", 'DEFAULT_INPUT_MODEL = "EleutherAI/pythia-160m"\n')
    assert _evidence(project, "training/trainer.py") <= {""}


def test_a_click_option_default_gives_the_epochs(project):
    source = CLICK_TRAINER.replace("from .consts import DEFAULT_INPUT_MODEL\n", "DEFAULT_INPUT_MODEL = 'gpt2'\n")
    project.write("train.py", source.replace("EPOCHS", "300"))
    assert any("`--epochs` defaults to 300" in e for e in _evidence(project, "train.py")), _evidence(project, "train.py")
    project.write("train.py", source.replace("EPOCHS", "3"))
    assert _evidence(project, "train.py") <= {""}
    # a launch in the project's scripts overrides the default, as for argparse options
    project.write("run.sh", "python train.py --epochs 500\n")
    assert any("`--epochs 500` in run.sh:1" in e for e in _evidence(project, "train.py")), _evidence(project, "train.py")


EPISODES = """import torch

model = Policy().cuda()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
for TARGET in range(500):
    observation = START
    while True:
        observation, reward, done, info = env.step(model.act(observation))
        if done:
            loss = model.loss(memory).cuda()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            print(loss.item())
            break
"""


@pytest.mark.parametrize(("target", "start"), [("i_episode", "reset()"), ("i", "env.reset()")])
def test_an_episode_loop_is_no_epoch_count(project, target, start):
    """MIT 6.S191's policy-gradient labs (blind28, post hoc): 500 episodes, one training step each."""
    project.write("train.py", EPISODES.replace("TARGET", target).replace("START", start))
    assert _evidence(project, "train.py") <= {""}
    # the same loop over batches is an epoch loop (the control)
    batches = "for TARGET in range(500):\n    for batch in loader:\n        loss = model.loss(batch).cuda()\n"
    control = EPISODES.split("for TARGET")[0] + batches.replace("TARGET", "epoch") + (
        "        optimizer.zero_grad()\n        loss.backward()\n        optimizer.step()\n        print(loss.item())\n")
    project.write("train.py", control)
    assert any("500 epochs" in e for e in _evidence(project, "train.py")), _evidence(project, "train.py")


def test_fix_applies_the_detected_files_fixes_only(project):
    project.write("train.py", script(DDP))
    project.write("short.py", script())
    project.run("check", "--no-cache", "--fix", "--unsafe-fixes", "--select", "GL1")
    assert "torch.autocast(" in (project.root / "train.py").read_text()
    assert "torch.autocast(" not in (project.root / "short.py").read_text()


HYDRA_ENTRY = """import hydra
import torch


@hydra.main(version_base=None, config_path="configs", config_name="config")
def main(config):
    model = hydra.utils.instantiate(config.model).cuda()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for x, y in loader:
        loss = torch.nn.functional.cross_entropy(model(x.cuda()), y.cuda())
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        print(loss.item())
"""


@pytest.mark.parametrize("steps", [1_000_000, 2_000])
def test_a_length_in_the_hydra_tree_the_module_hands_over(project, steps):
    """`trainer.max_steps` lives only in the composed Hydra config (through the defaults list):
    no line of the entry point names it."""
    project.write("configs/config.yaml", "defaults:\n  - trainer: default\n  - _self_\nseed: 1\n")
    project.write("configs/trainer/default.yaml",
                  f"_target_: lightning.Trainer\nmax_steps: {steps}\nval_check_interval: 100000\n")
    project.write("main.py", HYDRA_ENTRY)
    reasons = _evidence(project, "main.py")
    if steps >= 50_000:
        assert any("`trainer.max_steps` is 1,000,000" in r and "configs/config.yaml" in r for r in reasons), reasons
    else:
        assert reasons <= {""}


def test_validation_lengths_in_a_config_tree_are_not_the_run_length(project):
    project.write("configs/config.yaml", "trainer:\n  max_steps: 2000\neval:\n  max_steps: 900000\n")
    project.write("main.py", HYDRA_ENTRY)
    assert _evidence(project, "main.py") <= {""}


SPLATTED = """import yaml
import torch

with open("configs/vae.yaml") as file:
    config = yaml.safe_load(file)


def fit(model, loader, max_epochs, gpus):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
""" + textwrap.indent(LOOP.replace("EPOCHS", "max_epochs"), "    ") + """

fit(Net().cuda(), loader, **config["trainer_params"])
"""


@pytest.mark.parametrize("epochs", [100, 10])
def test_a_length_in_a_config_section_splatted_into_a_call(project, epochs):
    project.write("configs/vae.yaml", f"model_params:\n  name: VAE\ntrainer_params:\n  gpus: [1]\n  max_epochs: {epochs}\n")
    project.write("run.py", SPLATTED)
    reasons = _evidence(project, "run.py")
    if epochs >= 100:
        assert any("`trainer_params.max_epochs` is 100 in configs/vae.yaml:3" in r for r in reasons), reasons
    else:
        assert reasons <= {""}


def test_a_lower_bound_from_disagreeing_launch_scripts(project):
    """Two launch scripts pass 30,000 and 10,000 steps: every launch runs at least 10,000 steps of a
    heavy step (a pretrained diffusers UNet), a long run (cloneofsimo/lora's shape)."""
    source = HEADER.replace("model = Net().cuda()", (
        "from diffusers import UNet2DConditionModel\n"
        "model = UNet2DConditionModel.from_pretrained(args.model).cuda()")) + (
        "parser = argparse.ArgumentParser()\nparser.add_argument('--max_train_steps', type=int, default=None)\n"
        "args = parser.parse_args()\n") + LOOP.replace("EPOCHS", "1")
    project.write("train.py", source)
    project.write("a.sh", "accelerate launch train.py --max_train_steps=30000\n")
    project.write("b.sh", "accelerate launch train.py --max_train_steps=10000\n")
    assert any("is at least 10,000" in e for e in _evidence(project, "train.py"))
    project.write("b.sh", "accelerate launch train.py --max_train_steps=1000\n")
    assert "train.py" not in _shown(project)  # at least 1,000 steps: not evidence


def test_an_eager_tensorflow_training_loop_is_a_training_run(project):
    """A TF2 custom loop (`tape.gradient` + `apply_gradients`) trains: its epoch count is evidence."""
    source = """import tensorflow as tf

for epoch in range(EPOCHS):
    for step, (x, y) in enumerate(train_loader):
        with tf.GradientTape() as tape:
            loss = criteon(y, model(x))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
"""
    project.write("train.py", source.replace("EPOCHS", "250"))
    assert "GL419" in _shown(project).get("train.py", set())
    assert _evidence(project, "train.py") == {"250 epochs (the epoch loop)"}
    project.write("train.py", source.replace("EPOCHS", "5"))
    assert "train.py" not in _shown(project)


def test_a_notebook_that_shows_a_tiny_dataset_is_no_long_run(project):
    """NielsRogge's GIT fine-tune: 50 epochs of a heavy model over the 6 images its output shows."""
    import json

    def nb(rows: int) -> str:
        cells = [
            {"cell_type": "code", "metadata": {}, "execution_count": 1, "source": ["dataset\n"],
             "outputs": [{"output_type": "execute_result", "execution_count": 1, "metadata": {},
                          "data": {"text/plain": [f"Dataset({{\n    features: ['image', 'text'],\n    num_rows: {rows}\n}})"]}}]},
            {"cell_type": "code", "metadata": {}, "execution_count": 2, "outputs": [],
             "source": script(ARGPARSE_300, "args.epochs").replace("import argparse\n", "import argparse\nimport torchvision\n").replace(
                 "model = Net().cuda()", "model = torchvision.models.resnet50().cuda()").splitlines(keepends=True)},
        ]
        return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})

    project.write("train.ipynb", nb(6))  # 300 epochs x 6 rows = 1,800 examples
    assert "train.ipynb" not in _shown(project)
    project.write("train.ipynb", nb(60000))  # 300 epochs x 60,000 rows
    assert "train.ipynb" in _shown(project)


def test_a_fit_with_early_stopping_is_capped_not_long(project):
    """dragen1860's lesson52: `fit(epochs=100)` with `EarlyStopping(patience=5)` over ~700 images stops
    after a dozen epochs; the epoch count is a cap, not evidence."""
    source = """import tensorflow as tf
from tensorflow.keras.callbacks import EarlyStopping

model = tf.keras.applications.ResNet50(weights=None)
model.compile(optimizer="adam", loss="categorical_crossentropy")
CALLBACKS
model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=100, callbacks=cbs)
"""
    project.write("train.py", source.replace("CALLBACKS", "cbs = []"))
    assert {e.split(" (")[0] for e in _evidence(project, "train.py")} == {"100 epochs"}
    project.write("train.py", source.replace("CALLBACKS", "cbs = [EarlyStopping(monitor='val_loss', patience=5)]"))
    assert "train.py" not in _shown(project)


def test_a_first_stage_fit_without_early_stopping_is_not_capped_by_the_second(project):
    """qqwweee/keras-yolo3 (blind25, post hoc): 50 epochs with a checkpoint only, then a second
    `fit` with `EarlyStopping`: the first stage runs to its end."""
    source = """import tensorflow as tf
from tensorflow.keras.callbacks import EarlyStopping, ModelCheckpoint

gpus = tf.config.list_physical_devices("GPU")
model = tf.keras.applications.ResNet50(weights=None)
model.compile(optimizer="adam", loss="categorical_crossentropy")
checkpoint = ModelCheckpoint("w.h5")
early_stopping = EarlyStopping(monitor="val_loss", patience=10)
model.fit(x_train, y_train, epochs=150, callbacks=[FIRST])
model.fit(x_train, y_train, epochs=300, initial_epoch=150, callbacks=[checkpoint, early_stopping])
"""
    project.write("train.py", source.replace("FIRST", "checkpoint"))
    assert {e.split(" (")[0] for e in _evidence(project, "train.py")} == {"150 epochs"}
    for capped in ("checkpoint, early_stopping", "*cbs", "EarlyStopping()"):
        project.write("train.py", source.replace("FIRST", capped))
        assert "train.py" not in _shown(project), capped
    # callbacks the module cannot read (a function's list): the module-wide answer, capped
    project.write("train.py", source.replace("callbacks=[FIRST]", "callbacks=make_callbacks()"))
    assert "train.py" not in _shown(project)


def test_an_epoch_named_loop_that_is_the_step_counts_steps(project):
    """dragen1860's lesson51 GAN: `for epoch in range(epochs)` draws one batch and steps once per
    iteration, 3,000,000 times: steps, not epochs; a `range(10**9)` sentinel is no length."""
    source = script("", "EPOCHS").replace("    for x, y in loader:\n", "    if True:\n        x, y = next(batches)\n")
    project.write("train.py", source.replace("EPOCHS", "3000000"))
    assert {e for e in _evidence(project, "train.py")} == {"3,000,000 steps (a training loop over `range`)"}
    project.write("train.py", source.replace("EPOCHS", "10**9"))
    assert "train.py" not in _shown(project)
    project.write("train.py", source.replace("EPOCHS", "3000"))
    assert "train.py" not in _shown(project)


def test_a_launch_on_several_processes_is_a_distributed_run(project):
    """A script the README launches with `torchrun --nproc_per_node=8` runs on 8 GPUs, although
    its own code shows neither DDP nor a long length; `torchrun` on one process is no evidence."""
    project.write("train.py", script() + "if __name__ == '__main__':\n    pass\n")
    project.write("README.md", "# Train\n\n```\ntorchrun --nproc_per_node=8 train.py\n```\n")
    assert _evidence(project, "train.py") == {
        "launched on 8 processes (`torchrun --nproc_per_node=8` in README.md:4): a run spread over several GPUs"}
    project.write("README.md", "# Train\n\n```\ntorchrun --nproc_per_node=1 train.py\n```\n")
    assert "train.py" not in _shown(project)


HF_SCRIPT = """import argparse
from transformers import AutoModelForSeq2SeqLM, Seq2SeqTrainer, Seq2SeqTrainingArguments

parser = argparse.ArgumentParser()
parser.add_argument("--deepspeed", type=str, default=None)
parser.add_argument("--epochs", type=int, default=3)
args = parser.parse_args()
model = AutoModelForSeq2SeqLM.from_pretrained("t5-small")
training_args = Seq2SeqTrainingArguments(output_dir="out", num_train_epochs=args.epochs, deepspeed=args.deepspeed,
                                         logging_steps=1)
trainer = Seq2SeqTrainer(model=model, args=training_args, train_dataset=data)
trainer.train()
"""


def test_deepspeed_in_hugging_face_training_arguments(project):
    """`deepspeed=args.deepspeed` is DeepSpeed only when the launch passes a config (philschmid's
    FLAN-T5 notebook: `--deepspeed configs/ds_flan_t5_z3_config_bf16.json`)."""
    project.write("train.py", HF_SCRIPT)
    assert _evidence(project, "train.py") <= {""}  # the default is None: a single-GPU run
    project.write("run.sh", "python train.py --deepspeed configs/z3.json\n")
    assert any("DeepSpeed in the training arguments (`deepspeed=`)" in e for e in _evidence(project, "train.py"))


def test_hugging_face_example_scripts_capture_logger_is_no_test_code(project):
    """Scripts copied from Hugging Face's run_clm.py import `CaptureLogger` from
    `transformers.testing_utils` (FlagAlpha/Llama2-Chinese's finetune_clm_lora.py, blind25, post
    hoc): a training script still; any other testing helper still makes the module test code."""
    project.write("run.sh", "python train.py --deepspeed configs/z3.json\n")
    project.write("train.py", "from transformers.testing_utils import CaptureLogger\n" + HF_SCRIPT)
    assert any("DeepSpeed" in e for e in _evidence(project, "train.py")), _evidence(project, "train.py")
    project.write("train.py", "from transformers.testing_utils import require_torch\n" + HF_SCRIPT)
    assert _evidence(project, "train.py") <= {""}


def test_keras_steps_per_epoch_times_epochs(project):
    """`fit_generator(..., steps_per_epoch=20000, epochs=5)` runs 100,000 steps (YunYang1994's U-Net
    runs 5 x 5,000); GL103 (no mixed precision on a listed GPU) is a run-length rule."""
    source = """import tensorflow as tf
from tensorflow.keras.applications import ResNet50

gpus = tf.config.list_physical_devices("GPU")
model = ResNet50(weights=None)
model.compile(optimizer="adam", loss="mse")
model.fit_generator(trainset, steps_per_epoch=STEPS, epochs=5)
"""
    project.write("train.py", source.replace("STEPS", "20000"))
    assert any("100,000 steps (`steps_per_epoch=` x `epochs=` of `fit_generator(...)`)" in e
               for e in _evidence(project, "train.py")), _evidence(project, "train.py")
    project.write("train.py", source.replace("STEPS", "50"))
    assert _evidence(project, "train.py") <= {""}


def test_absl_flags_take_the_launch_value(project):
    project.write("train.py", script("from absl import flags\nflags.DEFINE_integer('epochs', 2, 'epochs')\n", "FLAGS.epochs"))
    assert _evidence(project, "train.py") <= {""}
    project.write("README.md", "    python train.py --epochs 300\n")
    assert any("`--epochs` in the project's launch commands (README.md:1) is 300" in e for e in _evidence(project, "train.py"))


def test_an_add_argument_alias_is_an_argparse_option(project):
    """lopuhin/kaggle-imet-2019 f1ec082 imet/main.py: `arg = parser.add_argument`, then
    `arg('--n-epochs', type=int, default=100)`; a plain function named `arg` is no option."""
    alias = "parser = argparse.ArgumentParser()\narg = parser.add_argument\narg('--n-epochs', type=int, default=EPOCHS)\nargs = parser.parse_args()\n"
    project.write("train.py", script(alias.replace("EPOCHS", "300"), "args.n_epochs"))
    assert any("`--n-epochs` defaults to 300" in e for e in _evidence(project, "train.py")), _evidence(project, "train.py")
    project.write("train.py", script(alias.replace("EPOCHS", "3"), "args.n_epochs"))
    assert "train.py" not in _shown(project)
    project.write("train.py", script("def arg(*a, **k):\n    return 0\narg('--n-epochs', default=300)\n"))
    assert "train.py" not in _shown(project)


def test_a_long_training_run_does_not_report_loops_outside_training(project):
    """The detection reads a training length; a per-sample `predict` loop after the `fit` (GL409) or
    a frame grown row by row before it (GL602) runs as long as its own loop, which that length says
    nothing about (blind20: 0 of 7 worth it). Naming the file in `long-runs` still reports them."""
    source = """import pandas as pd
import tensorflow as tf

table = pd.DataFrame()
for name in names:
    table = pd.concat([table, pd.DataFrame({"name": [name]})])

gpus = tf.config.list_physical_devices("GPU")
model = tf.keras.applications.ResNet50(weights=None)
model.compile(optimizer="adam", loss="mse")
model.fit(x_train, y_train, epochs=500, validation_data=(x_val, y_val))
for image in test_images:
    print(model.predict(image[None]))
"""
    project.write("train.py", source)
    shown = _shown(project).get("train.py", set())
    assert "GL103" in shown and not shown & {"GL409", "GL602"}, shown
    assert {"GL409", "GL602"} <= _shown(project, "--long-run", "train.py").get("train.py", set())


def test_rules_rarely_worth_it_on_a_detected_run_wait_for_a_named_file(project):
    """GL503 (no checkpoint) on a detected 500-epoch run: 2 of 23 judged worth it (blind12-20);
    shown when the user names the file."""
    source = script(ARGPARSE_300.replace("300", "500"), "args.epochs")
    project.write("train.py", source)
    shown = _shown(project).get("train.py", set())
    assert "GL504" in shown and "GL503" not in shown, shown
    assert "GL503" in _shown(project, "--long-run", "train.py").get("train.py", set())


def test_a_serial_tf_data_map_waits_for_a_named_file(project):
    """GL311 (a `map` with a stateful function and no `num_parallel_calls`) on a detected long run:
    0 of 11 blind verdicts worth acting on (session 15); shown when the user names the file."""
    source = """import tensorflow as tf

gpus = tf.config.list_physical_devices("GPU")
ds = tf.data.Dataset.from_tensor_slices((x, y)).map(lambda a, b: (tf.image.random_flip_left_right(a), b)).batch(32)
model = tf.keras.applications.ResNet50(weights=None)
model.compile(optimizer="adam", loss="mse")
model.fit(ds, epochs=300)
"""
    project.write("train.py", source)
    assert any("300 epochs" in e for e in _evidence(project, "train.py")), _evidence(project, "train.py")
    assert "GL311" not in _shown(project).get("train.py", set())
    assert "GL311" in _shown(project, "--long-run", "train.py").get("train.py", set())


def test_hf_argument_parser_lengths_come_from_the_launch(project):
    """mymusise/ChatGLM-Tuning 3af1bfd: finetune.py parses `TrainingArguments` with
    `HfArgumentParser`; its README runs it with `--max_steps 52000`."""
    source = """import torch
from transformers import AutoModel, HfArgumentParser, TrainingArguments

(training_args,) = HfArgumentParser((TrainingArguments,)).parse_args_into_dataclasses()
model = AutoModel.from_pretrained("bert-base-uncased").cuda()
optimizer = torch.optim.AdamW(model.parameters())
for step, batch in enumerate(loader):
    loss = model(**{k: v.cuda() for k, v in batch.items()}).loss
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    print(loss.item())
    if step >= training_args.max_steps:
        break
"""
    project.write("finetune.py", source)
    assert _evidence(project, "finetune.py") <= {""}
    project.write("README.md", "```\npython finetune.py --output_dir out --max_steps 52000 --logging_steps 50\n```\n")
    reasons = _evidence(project, "finetune.py")
    assert any("`--max_steps` in the project's launch commands (README.md:2) is 52,000" in r for r in reasons), reasons


WHILE_STEPS = HEADER + """
i = 0
while i < BOUND:
    for x, y in loader:
        loss = torch.nn.functional.cross_entropy(model(x.cuda()), y.cuda())
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        print(loss.item())
        i += 1
"""


@pytest.mark.parametrize(
    ("source", "evidence"),
    [
        # earhian/Humpback-Whale-Identification-1st- train.py: `while i < 10000000:` around the loader
        (WHILE_STEPS.replace("BOUND", "200000"), "200,000 steps (the `while i < ...` loop)"),
        (WHILE_STEPS.replace("BOUND", "MAX_ITERS").replace("i = 0", "MAX_ITERS = 100000\ni = 0"), "100,000 steps"),
        # the counter grows once per pass around the loader: epochs
        (WHILE_STEPS.replace("BOUND", "300").replace("        i += 1\n", "    i += 1\n"), "300 epochs"),
    ],
    ids=["steps", "named-bound", "epochs"],
)
def test_a_while_loop_over_a_counter_gives_the_run_length(project, source, evidence):
    project.write("train.py", source)
    assert any(evidence in reason for reason in _evidence(project, "train.py")), _evidence(project, "train.py")


@pytest.mark.parametrize(
    "source",
    [
        WHILE_STEPS.replace("BOUND", "2000"),  # short
        WHILE_STEPS.replace("BOUND", "10**9"),  # a sentinel: until something stops it
        WHILE_STEPS.replace("BOUND", "200000").replace("i += 1", "i += 1\n        i = resume_step()"),  # set elsewhere too
        WHILE_STEPS.replace("BOUND", "200000").replace("        i += 1\n", ""),  # never incremented
    ],
    ids=["short", "sentinel", "reassigned", "no-increment"],
)
def test_a_while_loop_without_a_readable_counter_is_no_length(project, source):
    project.write("train.py", source)
    assert _evidence(project, "train.py") <= {""}


CALLED_EPOCHS = HEADER + """

def train(model, iterator, optimizer):
    for x, y in iterator:
        loss = torch.nn.functional.cross_entropy(model(x.cuda()), y.cuda())
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        print(loss.item())


def run(total_epoch):
    for step in range(total_epoch):
        train(model, loader, optimizer)


if __name__ == "__main__":
    run(total_epoch=EPOCHS)
"""


def test_an_epoch_loop_calling_the_modules_training_function(project):
    # hyunwoongko/transformer train.py: `for step in range(total_epoch): train(model, train_iter, ...)`
    project.write("train.py", CALLED_EPOCHS.replace("EPOCHS", "1000"))
    project.write("short.py", CALLED_EPOCHS.replace("EPOCHS", "3"))
    assert any("1,000 epochs (the epoch loop calling `train()`" in r for r in _evidence(project, "train.py"))
    assert _evidence(project, "short.py") <= {""}


ENDLESS = HEADER + """
import itertools

for epoch in itertools.count(1):
    for x, y in loader:
        loss = torch.nn.functional.cross_entropy(model(x.cuda()), y.cuda())
        if torch.isnan(loss):
            raise Exception("Loss exploded")
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        print(loss.item())
"""


@pytest.mark.parametrize(
    ("source", "long"),
    [
        # seungwonpark/melgan utils/train.py (blind24, post hoc): trains until someone stops it
        (ENDLESS, True),
        (ENDLESS.replace("for epoch in itertools.count(1):", "while True:"), True),
        # a planned end: a break of the outer loop, a return, exit() or StopIteration
        (ENDLESS.replace("        print(loss.item())\n", "        print(loss.item())\n    if epoch > 3:\n        break\n"), False),
        (ENDLESS.replace('raise Exception("Loss exploded")', "raise SystemExit(0)"), False),
        (ENDLESS.replace('raise Exception("Loss exploded")', "exit()"), False),
    ],
    ids=["itertools-count", "while-true", "break", "system-exit", "exit-call"],
)
def test_an_epoch_loop_with_no_end(project, source, long):
    project.write("train.py", source)
    evidence = _evidence(project, "train.py")
    assert any("an epoch loop with no end" in reason for reason in evidence) is long, evidence


BREAK_AT = """import argparse
import torch

parser = argparse.ArgumentParser()
subparsers = parser.add_subparsers(dest="mode")
parser_train = subparsers.add_parser("train")
parser_train.add_argument("--early_stop", type=int, default=STOP)
parser_infer = subparsers.add_parser("inference")
parser_infer.add_argument("--checkpoint", type=str)
args = parser.parse_args()


def train(args):
    early_stop = args.early_stop
    model = Net().cuda()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    iteration = 0
    for batch in train_loader:
        loss = model(batch["x"].cuda()).mean()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        print(loss.item())
        if iteration == early_stop:
            break
        iteration += 1


if __name__ == "__main__":
    if args.mode == "train":
        train(args)
"""


@pytest.mark.parametrize(
    ("source", "evidence"),
    [
        # qiuqiangkong/audioset_tagging_cnn pytorch/main.py (blind32, post hoc): an endless sampler,
        # the step count in a subcommand's option
        (BREAK_AT.replace("STOP", "1000000"), "1,000,000 steps (the `if iteration == ...: break` of the training loop"),
        (BREAK_AT.replace("STOP", "1000000").replace("iteration == early_stop", "iteration >= early_stop"), "1,000,000 steps"),
        (BREAK_AT.replace("STOP", "2000"), None),  # short
        # the break sits in an epoch loop: its counter may count every epoch's steps, the epochs end first
        (BREAK_AT.replace("STOP", "1000000").replace("    for batch in train_loader:", "    for epoch in range(3):\n      for batch in train_loader:"), None),
        # the counter grows in a nested loop: it does not count this loop's iterations
        (BREAK_AT.replace("STOP", "1000000").replace("        iteration += 1\n", "        for _ in range(2):\n            iteration += 1\n"), None),
    ],
    ids=["equal", "at-least", "short", "in-an-epoch-loop", "nested-increment"],
)
def test_a_loop_that_breaks_at_a_step_count(project, source, evidence):
    project.write("main.py", source)
    found = _evidence(project, "main.py")
    if evidence is None:
        assert found <= {""}, found
    else:
        assert any(evidence in reason for reason in found), found


RIFE_MODEL = """
import torch


class Model:
    def __init__(self, local_rank=-1):
        self.flownet = IFNet().cuda()
        self.optimG = torch.optim.AdamW(self.flownet.parameters(), lr=1e-6)

    def update(self, imgs, gt, learning_rate=0, training=True):
        pred = self.flownet(imgs)
        loss = (pred - gt).abs().mean()
        if training:
            self.optimG.zero_grad()
            loss.backward()
            self.optimG.step()
        return pred, {"loss": loss}
"""
RIFE_TRAIN = """
import argparse
import torch
from model.RIFE import Model

device = torch.device("cuda")


def evaluate(model, val_data):
    for i, data in enumerate(val_data):
        pred, info = model.update(data.to(device), data.to(device), training=False)
        print(info["loss"].cpu().numpy())


def train(model, train_data, val_data, epochs):
    for epoch in range(epochs):
        for i, data in enumerate(train_data):
            pred, info = model.update(data.to(device), data.to(device), 1e-4, training=True)
            print(info["loss"].cpu().numpy())
        evaluate(model, val_data)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--epoch", default=300, type=int)
    args = parser.parse_args()
    model = Model(0)
    train(model, train_data, val_data, args.epoch)
"""


def test_a_loop_calling_a_training_method_of_a_project_class_trains(project):
    """hzwer/ECCV2022-RIFE train.py (blind34, post hoc): `model = Model(local_rank)` from
    model/RIFE.py, whose `update()` runs backward and the optimizer step; the evaluation loop calls
    the same method with `training=False` and is no training loop."""
    project.write("model/__init__.py", "")
    project.write("model/RIFE.py", RIFE_MODEL)
    project.write("train.py", RIFE_TRAIN)
    found = [f for f in project.findings("--no-cache") if f["filename"] == "train.py"]
    assert any("300 epochs" in f["impact"].get("long_run", "") for f in found), found
    rows = {f["location"]["row"] for f in found}
    assert rows and all(row >= 15 for row in rows), found  # nothing in evaluate() (lines 9-12)


FIRE_TRAINER = """import fire
import torch
from transformers import AutoModelForCausalLM


def train(base_model: str = DEFAULT, num_epochs: int = 3):
    model = AutoModelForCausalLM.from_pretrained(base_model).cuda()
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)
    for epoch in range(num_epochs):
        for batch in loader:
            loss = model(**batch).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            print(loss.item())


if __name__ == "__main__":
    fire.Fire(train)
"""


@pytest.mark.parametrize(("default", "readme", "long"), [
    ('""', "```\npython finetune.py --base_model 'yahma/llama-7b-hf' --num_epochs=3\n```\n", True),
    ('"meta-llama/Llama-2-7b-hf"', "", True),  # the parameter's default is the option's default
    ('""', "```\npython finetune.py --base_model gpt2\n```\n", False),
    ('""', "", False),  # no model known
], ids=["launched", "default", "small-model", "unknown"])
def test_fire_command_line_options(project, default, readme, long):
    """AGI-Edgerunners/LLM-Adapters finetune.py (blind34, post hoc): `fire.Fire(train)` makes the
    parameters of `train` options; the README launch names the model."""
    project.write("finetune.py", FIRE_TRAINER.replace("DEFAULT", default))
    if readme:
        project.write("README.md", readme)
    evidence = _evidence(project, "finetune.py")
    assert any("7 billion parameters" in reason for reason in evidence) is long, evidence


DATA_PARALLEL = """import argparse
import torch

parser = argparse.ArgumentParser()
parser.add_argument("--gpu_ids", default=GPUS, type=str)
parser.add_argument("--epochs", default=300, type=int)
args = parser.parse_args()
model = torch.nn.DataParallel(Net()).cuda()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(args.epochs):
    for x, y in loader:
        loss = torch.nn.functional.cross_entropy(model(x.cuda()), y.cuda())
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
"""


@pytest.mark.parametrize(("gpus", "readme", "shown"), [
    ('"0,1,2,3"', "", True),  # the default lists four GPUs
    ('"0"', "```\npython train.py --gpu_ids 0,1\n```\n", True),  # every launch passes two
    ('"0"', "", False),  # one GPU: DataParallel calls the module directly
    ('"0"', "Each training is done with 2 gpus on our 4-GPU server.\n", True),  # Landmark2019's README (blind32)
    ('"0"', "It took about 4 hours on four NVidia A100.\n", True),  # StyleTTS2's README (blind36)
    ('"0"', "Trained on 1 GPU for 24000 steps; multiple GPUs are not tested.\n", False),
], ids=["default-four", "launched-two", "one-gpu", "readme-2-gpus", "readme-four-a100", "readme-one-gpu"])
def test_dataparallel_on_a_detected_run_needs_several_gpus(project, gpus, readme, shown):
    """GL408 on a detected long run (blind32's AudioSet, blind35's Person_reID, post hoc): only where
    the module shows the run uses two or more GPUs."""
    project.write("train.py", DATA_PARALLEL.replace("GPUS", gpus))
    if readme:
        project.write("README.md", readme)
    assert ("GL408" in _shown(project).get("train.py", set())) is shown


FLOAT32_STEPS = """import argparse
import torch
import torch.nn as nn
MODEL_IMPORT

parser = argparse.ArgumentParser()
parser.add_argument("--iteration", default=100000, type=int)
args = parser.parse_args()
device = torch.device("cuda")
model = MODEL.to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=3e-4)
for step in range(args.iteration):
    x, y = sample_batch()
    loss = ((model(x.to(device)) - y.to(device)) ** 2).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
"""
# audioset_tagging_cnn's Cnn14 shape: six project blocks of 64 to 2048 output channels
CNN14 = """import torch.nn as nn

class ConvBlock(nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)

class Cnn14(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv_block1 = ConvBlock(in_channels=1, out_channels=64)
        self.conv_block2 = ConvBlock(in_channels=64, out_channels=128)
        self.conv_block3 = ConvBlock(in_channels=128, out_channels=256)
        self.conv_block4 = ConvBlock(in_channels=256, out_channels=512)
        self.conv_block5 = ConvBlock(in_channels=512, out_channels=1024)
        self.conv_block6 = ConvBlock(in_channels=1024, out_channels=2048)
        self.fc1 = nn.Linear(2048, 2048)
"""
SMALL_UNET = """import torch.nn as nn

class UNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.down = nn.Conv2d(1, 16, 3, padding=1)
        self.mid = nn.Conv2d(16, 32, 3, padding=1)
        self.up = nn.Conv2d(32, 1, 3, padding=1)
"""
MLP = "nn.Sequential(nn.Linear(state_dim, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 1))"
# sweetice's SAC.py shape: model classes of Linear layers and an agent class that builds a loss
# module and a SummaryWriter (neither makes the model unknown)
AGENT_CLASSES = """from tensorboardX import SummaryWriter

class Critic(nn.Module):
    def __init__(self, state_dim):
        super().__init__()
        self.fc1 = nn.Linear(state_dim, 256)
        self.fc2 = nn.Linear(256, 1)

class Agent:
    def __init__(self):
        self.critic = Critic(8)
        self.criterion = nn.MSELoss()
        self.writer = SummaryWriter("runs")
"""


@pytest.mark.parametrize(("model_import", "model", "readme", "shown"), [
    ("", MLP, "", False),  # sweetice's SAC/TD3 (blind36): 100,000 steps of a 256-wide MLP
    (AGENT_CLASSES, "Agent().critic", "", False),
    ("from torchvision.models import resnet50", "resnet50()", "", True),  # a compute-heavy step
    ("from models import Cnn14", "Cnn14()", "", False),  # a model it cannot see: no evidence of a heavy step
    ("from models import Cnn14", "Cnn14()", CNN14, True),  # ... whose layers models.py shows heavy
    ("from models import UNet", "UNet()", SMALL_UNET, False),  # a deep name, small layers
    ("", MLP, "```\ntorchrun --nproc_per_node=4 train.py\n```\n", True),  # scaled out over four GPUs
], ids=["small-mlp", "agent-classes", "resnet50", "unseen-model", "heavy-imported-model", "small-unet", "four-gpus"])
def test_mixed_precision_on_a_detected_run_needs_a_compute_heavy_step(project, model_import, model, readme, shown):
    """GL101 on a detected long run (session 18): a long run of a launch-bound step saves about nothing
    from autocast, so it is shown only with evidence of a compute-heavy step (here a ResNet-50, or a
    project class whose layers reach 2048 channels: AudioSet's Cnn14, blind32) or a run spread over
    several GPUs; not for narrow Linear layers, a model it cannot see, or a small class with a deep
    name. Naming the file in `long-runs` still shows it."""
    project.write("train.py", FLOAT32_STEPS.replace("MODEL_IMPORT", model_import).replace("MODEL", model))
    if readme.startswith("import"):
        project.write("models.py", readme)
        readme = ""
    if readme:
        project.write("README.md", readme)
    assert ("GL101" in _shown(project).get("train.py", set())) is shown
    assert "GL101" in _shown(project, "--long-run", "train.py").get("train.py", set())


HEAVY_SYNCS = """import argparse
import torch
from torchvision.models import resnet50

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", default=300, type=int)
args = parser.parse_args()
model = resnet50().cuda()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
total = correct = seen = 0.0
for epoch in range(args.epochs):
    for x, y in loader:
        out = model(x.cuda())
        loss = torch.nn.functional.cross_entropy(out, y.cuda())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
SYNCS"""
ONE_SYNC = "        total += loss.item()\n"
THREE_SYNCS = ONE_SYNC + "        correct += (out.argmax(1) == y.cuda()).sum().item()\n        seen += out.shape[0]\n" \
    "        top5 = out.topk(5)[1].cpu()\n"


@pytest.mark.parametrize(("syncs", "shown"), [(ONE_SYNC, False), (THREE_SYNCS, True)], ids=["one-sync", "three-syncs"])
def test_host_syncs_on_a_heavy_detected_step_need_several(project, syncs, shown):
    """GL401 on a detected long run of a compute-heavy step (session 17): one `loss.item()` per step
    of a ResNet-50 is a small share of the step (Super-SloMo, blind39's adversarial training, judged
    not worth it); three reads or more per step (fast-autoaugment, EfficientDet, blind38/36) are
    shown. Naming the file shows them all."""
    project.write("train.py", HEAVY_SYNCS.replace("SYNCS", syncs))
    assert ("GL401" in _shown(project).get("train.py", set())) is shown
    assert "GL401" in _shown(project, "--long-run", "train.py").get("train.py", set())


@pytest.mark.parametrize(("dataset", "long"), [("MnistDataset", False), ("Cifar10Dataset", True), ("FaceDataset", True)])
def test_a_project_dataset_named_after_mnist_is_tiny_data(project, dataset, long):
    """explainingai-code/DDPM-Pytorch (blind40): `MnistDataset` reads MNIST's 28x28 PNGs; 40 epochs of a
    U-Net over it are minutes, not a long run (a CIFAR-sized set is not tiny)."""
    source = (f"import torch\nfrom dataset.data import {dataset}\nfrom models.unet import Unet\n"
              "model = Unet().cuda()\noptimizer = torch.optim.Adam(model.parameters())\n"
              f"loader = torch.utils.data.DataLoader({dataset}('data/train'), batch_size=64)\n"
              "for epoch in range(400):\n    for x in loader:\n        loss = model(x.cuda()).mean()\n"
              "        optimizer.zero_grad()\n        loss.backward()\n        optimizer.step()\n        print(loss.item())\n")
    project.write("train.py", source)
    assert bool(_evidence(project, "train.py") - {""}) is long


@pytest.mark.parametrize(("setting", "long"), [
    ("DATASET = 'FashionMNIST'\n", False),  # ritheshkumar95/pytorch-vqvae vae.py (blind43)
    ("DATASET = 'CIFAR10'\n", True),
    ("parser = argparse.ArgumentParser()\nparser.add_argument('--dataset', default='mnist')\nargs = parser.parse_args()\n", False),
], ids=["constant-fashion-mnist", "constant-cifar", "option-mnist"])
def test_a_dataset_chosen_by_name_is_read(project, setting, long):
    source = ("import argparse\nimport torch\nfrom torchvision import datasets\n" + setting +
              "model = Net().cuda()\noptimizer = torch.optim.Adam(model.parameters())\n"
              "loader = torch.utils.data.DataLoader(eval('datasets.' + DATASET)('data', train=True), batch_size=32)\n"
              "for epoch in range(300):\n    for x, y in loader:\n        loss = model(x.cuda()).mean()\n"
              "        optimizer.zero_grad()\n        loss.backward()\n        optimizer.step()\n        print(loss.item())\n")
    project.write("train.py", source)
    assert bool(_evidence(project, "train.py") - {""}) is long


# Beckschen/TransUNet (blind40): train.py parses the options, builds the model under an alias and
# hands both to trainer.py's loop through a dispatch table
TRANSUNET_TRAIN = """import argparse
from networks.vit_seg_modeling import VisionTransformer as ViT_seg
from trainer import trainer_synapse

parser = argparse.ArgumentParser()
parser.add_argument('--max_epochs', type=int, default=150)
args = parser.parse_args()
net = ViT_seg(img_size=224, num_classes=9).cuda()
trainer = {'Synapse': trainer_synapse}
trainer['Synapse'](args, net, 'snapshots')
"""
TRANSUNET_TRAINER = """import torch

def trainer_synapse(args, model, snapshot_path):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    for epoch_num in range(args.max_epochs):
        for batch in loader:
            image, label = batch['image'].cuda(), batch['label'].cuda()
            loss = torch.nn.functional.cross_entropy(model(image), label)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
"""


@pytest.mark.parametrize("dispatched", [True, False], ids=["dispatch-table", "not-called"])
def test_options_and_model_reach_a_trainer_called_through_a_dispatch_table(project, dispatched):
    train = TRANSUNET_TRAIN if dispatched else TRANSUNET_TRAIN.replace("trainer['Synapse'](args, net, 'snapshots')\n", "")
    project.write("train.py", train)
    project.write("trainer.py", TRANSUNET_TRAINER)
    project.write("networks/__init__.py", "")
    project.write("networks/vit_seg_modeling.py", "import torch.nn as nn\n\nclass VisionTransformer(nn.Module):\n    pass\n")
    _, out, _ = project.run("check", "--no-cache", "--format", "json")
    found = [f for f in json.loads(out) if f["filename"] == "trainer.py" and f["code"] == "GL101"]
    if not dispatched:
        assert found == []
        return
    [finding] = found
    assert "`VisionTransformer`, imported as `ViT_seg`" in finding["message"]
    assert "`--max_epochs` defaults to 150 (train.py:6" in finding["impact"]["long_run"]


CHOSEN_FOLDER = """import argparse
import torch
import yaml
from torchvision.models import resnet50

parser = argparse.ArgumentParser()
parser.add_argument("--work-path", required=True, type=str)
args = parser.parse_args()
with open(PATH) as f:
    config = yaml.safe_load(f)
model = resnet50().cuda()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(config["epochs"]):
    for x, y in loader:
        loss = torch.nn.functional.cross_entropy(model(x.cuda()), y.cuda())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
"""


@pytest.mark.parametrize("path", ['args.work_path + "/config.yaml"', 'f"{args.work_path}/config.yaml"',
                                  'os.path.join(args.work_path, "config.yaml")'])
@pytest.mark.parametrize(("configs", "detected"), [
    ({"experiments/a/config.yaml": "epochs: 250\n", "experiments/b/config.yaml": "epochs: 300\n"}, True),
    ({"experiments/a/config.yaml": "epochs: 250\n", "experiments/b/config.yaml": "epochs: 3\n"}, False),  # the least
    ({"experiments/a/config.yaml": "epochs: 250\n", "experiments/b/config.yaml": "lr: 0.1\n"}, False),  # one lacks it
], ids=["all-long", "one-short", "one-without"])
def test_a_config_file_in_a_folder_chosen_at_run_time(project, path, configs, detected):
    """BIGBALLON/CIFAR-ZOO (blind56): `open(args.work_path + "/config.yaml")` with `--work-path` one
    of the project's experiment folders: every `config.yaml` of the project may be the one read, so
    the least epoch count is the run's lower bound."""
    project.write("train.py", ("import os\n" if "os.path" in path else "") + CHOSEN_FOLDER.replace("PATH", path))
    for name, text in configs.items():
        project.write(name, text)
    shown = _shown(project).get("train.py", set())
    assert ("GL101" in shown) is detected, shown
    if detected:
        assert "the least of the 2 `config.yaml` files of the project" in _evidence(project, "train.py").pop()
