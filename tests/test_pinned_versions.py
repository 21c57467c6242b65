"""Framework pins (advisor/pinned_versions.py) keep advice to what the pinned release has:
GL413 (`torch.compile`, PyTorch 2.0+) and GL411 (Keras `jit_compile`, TensorFlow 2.5+).
calmisential/TensorFlow2.0_ResNet's README says `+ Tensorflow == 2.0.0` (blind23)."""

from __future__ import annotations

import pytest

from greenlint.pinned_versions import read_pinned_versions
from greenlint.rules.project_context import ProjectContext


def test_pins_from_the_usual_places(tmp_path):
    (tmp_path / "requirements.txt").write_text("numpy>=1.20\ntorch==1.13.1+cu117\ntorchvision\n")
    (tmp_path / "README.md").write_text("# X\n1. Requirements:\n+ Python >= 3.6\n+ Tensorflow == 2.0.0\n")
    pins = read_pinned_versions(tmp_path)
    assert pins["torch"] == ("1.13.1", "`torch==1.13.1` in requirements.txt:2")
    assert pins["tensorflow"] == ("2.0.0", "`Tensorflow == 2.0.0` in README.md:4")
    assert "torchvision" not in pins


def test_requirements_win_over_the_readme_and_lower_bounds_say_nothing(tmp_path):
    (tmp_path / "requirements.txt").write_text("tensorflow-gpu<2.4\ntorch>=1.7\n")
    (tmp_path / "README.md").write_text("pip install tensorflow-gpu==2.10\n")
    pins = read_pinned_versions(tmp_path)
    assert pins == {"tensorflow-gpu": ("<2.4", "`tensorflow-gpu<2.4` in requirements.txt:1")}


def test_conda_environment_pins(tmp_path):
    (tmp_path / "environment.yml").write_text("dependencies:\n  - python=3.8\n  - pytorch=1.10.0\n  - cudatoolkit=11.3\n")
    assert read_pinned_versions(tmp_path)["torch"] == ("1.10.0", "`pytorch=1.10.0` in environment.yml:3")


def test_two_different_pins_of_one_rank_are_unknown(tmp_path):
    (tmp_path / "requirements.txt").write_text("torch==1.8.0\n")
    (tmp_path / "requirements-dev.txt").write_text("torch==2.1.0\n")
    assert "torch" not in read_pinned_versions(tmp_path)


@pytest.mark.parametrize(
    ("pin", "release", "below"),
    [("1.13.1", (2, 0), True), ("2.0.1", (2, 0), False), ("<2.0", (2, 0), True), ("<2.1", (2, 0), False),
     ("2.4", (2, 5), True), ("2.5.0", (2, 5), False), ("2", (2, 5), True)],
)
def test_below(pin, release, below):
    context = ProjectContext(pinned_versions={"torch": (pin, "x")})
    assert bool(context.pinned_below("torch", release)) is below
    assert ProjectContext().pinned_below("torch", release) == ""


GL413_LOOP = """import torch
import torch.nn as nn
import torchvision

model = torchvision.models.resnet50().cuda()
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(100):
    for x, y in loader:
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = nn.functional.cross_entropy(model(x.cuda()), y.cuda())
        loss.backward()
        opt.step()
        opt.zero_grad()
"""

GL411_STEP = """import tensorflow as tf

gpus = tf.config.list_physical_devices("GPU")
model = tf.keras.Sequential([tf.keras.layers.Conv2D(64, 3), tf.keras.layers.Flatten(), tf.keras.layers.Dense(10)])
optimizer = tf.keras.optimizers.SGD(0.1)


@tf.function
def train_step(images, labels):
    with tf.GradientTape() as tape:
        loss = tf.keras.losses.sparse_categorical_crossentropy(labels, model(images))
    gradients = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(gradients, model.trainable_variables))
"""


@pytest.mark.parametrize(
    ("code", "source", "pin_file", "old", "new"),
    [
        ("GL413", GL413_LOOP, "requirements.txt", "torch==1.13.1\n", "torch==2.1.0\n"),
        ("GL411", GL411_STEP, "README.md", "+ Tensorflow == 2.0.0\n", "+ Tensorflow == 2.12.0\n"),
    ],
)
def test_advice_the_pinned_release_cannot_follow_is_not_given(project, code, source, pin_file, old, new):
    project.write("pyproject.toml", "[project]\nname = 'p'\n")
    project.write("train.py", source)
    project.write(pin_file, old)
    assert code not in {f["code"] for f in project.findings("--preview", "--select", code, ".")}
    project.write(pin_file, new)  # the pin is part of the cache key: a newer pin brings it back
    assert code in {f["code"] for f in project.findings("--preview", "--select", code, ".")}


def test_gl103_names_the_policy_api_of_an_older_pinned_tensorflow(project):
    source = GL411_STEP.replace("tf.keras.layers.Conv2D(64, 3)", "tf.keras.layers.Conv2D(64, 3, input_shape=(224, 224, 3))") + (
        "\nIMG_SIZE = 224\nfor epoch in range(50):\n    for images, labels in dataset:\n        train_step(images, labels)\n")
    project.write("pyproject.toml", "[project]\nname = 'p'\n")
    project.write("train.py", source)
    project.write("README.md", "+ Tensorflow == 2.0.0\n")
    [finding] = [f for f in project.findings("--preview", "--select", "GL103", ".") if f["code"] == "GL103"]
    assert "enable_mixed_precision_graph_rewrite" in finding["message"] and "set_global_policy" not in finding["message"]
    project.write("README.md", "+ Tensorflow == 2.12.0\n")
    [finding] = [f for f in project.findings("--preview", "--select", "GL103", ".") if f["code"] == "GL103"]
    assert "set_global_policy" in finding["message"]
