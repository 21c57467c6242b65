"""GL103-GL105: true positives in several spellings, realistic traps that must stay silent, fixes."""

from __future__ import annotations

import textwrap

import pytest
from greenlint.engine import LintRequest, lint_source
from greenlint.fixer import fix_request
from greenlint.rules import ALL_CODES

ALL = frozenset(ALL_CODES)


def src(*parts: str) -> str:
    """Snippets written at different indentations, each dedented, joined into one module."""
    return "\n".join(textwrap.dedent(part).strip("\n") for part in parts) + "\n"


def codes(source: str) -> list[str]:
    source = textwrap.dedent(source).lstrip("\n")
    result = [f.code for f in lint_source(source.encode(), "x.py", ALL)]
    assert "GL001" not in result and "GL000" not in result, result
    return result


def findings(source: str, code: str):
    source = textwrap.dedent(source).lstrip("\n")
    return [f for f in lint_source(source.encode(), "x.py", ALL) if f.code == code]


def fixed(source: str) -> str:
    source = textwrap.dedent(source).lstrip("\n")
    outcome = fix_request(LintRequest(None, "x.py", source.encode(), ALL), unsafe=True)  # type: ignore[arg-type]
    return outcome.fixed_text if outcome.fixed_text is not None else source


TORCH_LOOP = """
    model = torch.nn.Linear(1024, 1024).cuda()
    opt = torch.optim.AdamW(model.parameters())
    for x in loader:
        loss = model(x.cuda()).square().mean()
        loss.backward()
        opt.step()
        opt.zero_grad()
"""

# ---- GL103 keras-without-mixed-precision-policy ----------------------------------------------

KERAS_GPU_TF = """
    import tensorflow as tf

    print(tf.config.list_physical_devices("GPU"))
    model = tf.keras.Sequential([tf.keras.layers.Conv2D(32, 3), tf.keras.layers.Flatten(), tf.keras.layers.Dense(10)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, epochs=3)
"""


@pytest.mark.parametrize(
    "source",
    [
        KERAS_GPU_TF,
        # keras 3 spelling, functional model, MirroredStrategy
        """
        import keras
        import tensorflow as tf

        strategy = tf.distribute.MirroredStrategy()
        with strategy.scope():
            inputs = keras.Input((128, 32))
            hidden = keras.layers.MultiHeadAttention(num_heads=4, key_dim=32)(inputs, inputs)
            outputs = keras.layers.Dense(1)(hidden)
            model = keras.Model(inputs, outputs)
            model.compile(optimizer="adam", loss="mse")
        model.fit(ds, epochs=10)
        """,
        # from-imports, keras.applications, CUDA_VISIBLE_DEVICES
        """
        import os
        from tensorflow.keras.applications import ResNet50

        os.environ["CUDA_VISIBLE_DEVICES"] = "0"
        model = ResNet50(weights=None, classes=5)
        model.compile(optimizer="sgd", loss="categorical_crossentropy")
        model.fit(train_ds, epochs=30)
        """,
        # subclassed keras.Model on a TPU
        """
        import tensorflow as tf
        from tensorflow import keras

        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        class Net(keras.Model):
            def call(self, x):
                return x
        model = Net()
        model.compile(optimizer="adam", loss="mse")
        model.fit(ds)
        """,
        # an explicit float32 policy is reported
        """
        import tensorflow as tf
        from tensorflow.keras import mixed_precision

        mixed_precision.set_global_policy("float32")
        gpus = tf.config.list_physical_devices("GPU")
        model = tf.keras.Sequential([tf.keras.layers.Dense(4096), tf.keras.layers.Dense(10)])
        model.compile(optimizer="adam", loss="mse")
        model.fit(x, y)
        """,
    ],
)
def test_gl103_fires(source):
    assert "GL103" in codes(source)


def test_gl103_uses_bf16_on_tpu():
    source = """
        import tensorflow as tf

        strategy = tf.distribute.TPUStrategy(tf.distribute.cluster_resolver.TPUClusterResolver())
        model = tf.keras.Sequential([tf.keras.layers.LSTM(256), tf.keras.layers.Dense(10)])
        model.compile(optimizer="adam", loss="mse")
        model.fit(x, y)
    """
    (finding,) = findings(source, "GL103")
    assert "mixed_bfloat16" in finding.message


@pytest.mark.parametrize(
    "source",
    [
        # no GPU/TPU hint: probably a CPU run
        """
        import tensorflow as tf

        model = tf.keras.Sequential([tf.keras.layers.Conv2D(8, 3)])
        model.compile(optimizer="adam", loss="mse")
        model.fit(x, y)
        """,
        # the policy is set (keras 3 config spelling)
        """
        import keras
        import tensorflow as tf

        keras.config.set_dtype_policy("mixed_bfloat16")
        gpus = tf.config.list_physical_devices("GPU")
        model = keras.Sequential([keras.layers.Conv2D(8, 3)])
        model.compile(optimizer="adam", loss="mse")
        model.fit(x, y)
        """,
        # policy chosen on the command line
        """
        import tensorflow as tf

        tf.keras.mixed_precision.set_global_policy(args.policy)
        gpus = tf.config.list_physical_devices("GPU")
        model = tf.keras.Sequential([tf.keras.layers.Conv2D(8, 3)])
        model.compile(optimizer="adam", loss="mse")
        model.fit(x, y)
        """,
        # a mixed dtype on the layers
        """
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        model = tf.keras.Sequential([tf.keras.layers.Conv2D(8, 3, dtype="mixed_float16")])
        model.compile(optimizer="adam", loss="mse")
        model.fit(x, y)
        """,
        # MirroredStrategy over CPU devices (a distribution test)
        """
        import tensorflow as tf

        strategy = tf.distribute.MirroredStrategy(["cpu:0", "cpu:1"])
        model = tf.keras.Sequential([tf.keras.layers.Conv2D(8, 3)])
        model.compile(optimizer="adam", loss="mse")
        model.fit(x, y)
        """,
        # listing CPUs is not a GPU hint; compile without fit is not training
        """
        import tensorflow as tf

        cpus = tf.config.list_physical_devices("CPU")
        model = tf.keras.Sequential([tf.keras.layers.Conv2D(8, 3)])
        model.compile(optimizer="adam", loss="mse")
        model.predict(x)
        """,
        # a tiny MLP (the MNIST distribution guide): launch-bound, mixed precision gains nothing
        """
        import tensorflow as tf
        from tensorflow import keras

        strategy = tf.distribute.MirroredStrategy()
        inputs = keras.Input(shape=(784,))
        x = keras.layers.Dense(256, activation="relu")(inputs)
        x = keras.layers.Dense(256, activation="relu")(x)
        model = keras.Model(inputs, keras.layers.Dense(10)(x))
        model.compile(optimizer="adam", loss="mse")
        model.fit(x_train, y_train)
        """,
        # a test module
        """
        import pytest
        import tensorflow as tf

        def test_fit():
            gpus = tf.config.list_physical_devices("GPU")
            model = tf.keras.Sequential([tf.keras.layers.Conv2D(8, 3)])
            model.compile(optimizer="adam", loss="mse")
            model.fit(x, y)
        """,
    ],
)
def test_gl103_silent(source):
    assert "GL103" not in codes(source)


def test_gl103_fix_inserts_the_policy_after_the_imports():
    after = fixed(KERAS_GPU_TF)
    assert after == textwrap.dedent("""\
        import tensorflow as tf
        tf.keras.mixed_precision.set_global_policy("mixed_float16")

        print(tf.config.list_physical_devices("GPU"))
        model = tf.keras.Sequential([tf.keras.layers.Conv2D(32, 3), tf.keras.layers.Flatten(), tf.keras.layers.Dense(10)])
        model.compile(optimizer="adam", loss="mse")
        model.fit(x, y, epochs=3)
    """)
    assert "GL103" not in codes(after)


def test_gl103_fix_adds_an_import_before_the_model_when_needed():
    after = fixed("""
        import os
        from keras.layers import Dense
        from keras.models import Sequential

        os.environ["CUDA_VISIBLE_DEVICES"] = "1"
        model = Sequential([Dense(units)])
        model.compile(optimizer="adam", loss="mse")
        import numpy as np
        model.fit(np.zeros((4, 4)), np.zeros(4))
    """)
    assert after == textwrap.dedent("""\
        import os
        from keras.layers import Dense
        from keras.models import Sequential
        import keras
        keras.mixed_precision.set_global_policy("mixed_float16")

        os.environ["CUDA_VISIBLE_DEVICES"] = "1"
        model = Sequential([Dense(units)])
        model.compile(optimizer="adam", loss="mse")
        import numpy as np
        model.fit(np.zeros((4, 4)), np.zeros(4))
    """)
    assert "GL103" not in codes(after)


def test_gl103_fix_uses_the_from_import_alias():
    after = fixed("""
        import tensorflow as tf
        from tensorflow import keras

        gpus = tf.config.list_physical_devices("GPU")
        model = keras.Sequential([keras.layers.Conv2D(8, 3)])
        model.compile(optimizer="adam", loss="mse")
        model.fit(x, y)
    """)
    assert 'from tensorflow import keras\nkeras.mixed_precision.set_global_policy("mixed_float16")\n' in after


# ---- GL104 tf32-disabled ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "switch",
    [
        "torch.backends.cuda.matmul.allow_tf32 = False",
        "torch.backends.cudnn.allow_tf32 = False",
        'torch.set_float32_matmul_precision("highest")',
        'torch.backends.cuda.matmul.fp32_precision = "ieee"',
        'torch.backends.fp32_precision = "ieee"',
    ],
)
def test_gl104_fires(switch):
    assert "GL104" in codes(src("import torch", switch, TORCH_LOOP))


def test_gl104_alias_and_function_body():
    source = """
        import torch as T

        def main():
            T.backends.cuda.matmul.allow_tf32 = False
            model = T.nn.Linear(8, 8).to("cuda")
            optimizer = T.optim.SGD(model.parameters(), lr=0.1)
            for x in data:
                model(x).sum().backward()
                optimizer.step()
    """
    assert codes(source).count("GL104") == 1


def test_gl104_in_a_lightning_script():
    source = """
        import torch
        import lightning as L

        torch.set_float32_matmul_precision("highest")
        trainer = L.Trainer(accelerator="gpu", devices=1)
        trainer.fit(model, loader)
    """
    assert "GL104" in codes(source)


@pytest.mark.parametrize(
    "source",
    [
        # a library helper that disables TF32 for determinism: no training here
        """
        import torch

        def enable_full_determinism():
            torch.backends.cuda.matmul.allow_tf32 = False
            torch.backends.cudnn.deterministic = True
            torch.use_deterministic_algorithms(True)
        """,
        # chosen by a flag
        src("""
        import torch

        if args.strict_fp32:
            torch.backends.cuda.matmul.allow_tf32 = False
        """, TORCH_LOOP),
        # toggled back on: strict fp32 is scoped to one computation
        src("""
        import torch

        torch.backends.cuda.matmul.allow_tf32 = False
        reference = torch.linalg.inv(matrix)
        torch.backends.cuda.matmul.allow_tf32 = True
        """, TORCH_LOOP),
        # TF32 allowed
        src("""
        import torch

        torch.backends.cuda.matmul.allow_tf32 = True
        torch.set_float32_matmul_precision("high")
        """, TORCH_LOOP),
        # the model trains in bf16 anyway
        """
        import torch

        torch.backends.cuda.matmul.allow_tf32 = False
        model = torch.nn.Linear(8, 8).cuda().bfloat16()
        opt = torch.optim.AdamW(model.parameters())
        for x in loader:
            model(x.cuda()).sum().backward()
            opt.step()
        """,
        # a test module comparing exact values
        """
        import pytest
        import torch

        torch.backends.cuda.matmul.allow_tf32 = False
        def test_step():
            model = torch.nn.Linear(8, 8).cuda()
            opt = torch.optim.SGD(model.parameters(), lr=0.1)
            for x in data:
                model(x).sum().backward()
                opt.step()
        """,
        # CPU-only training
        """
        import torch

        torch.set_float32_matmul_precision("highest")
        model = torch.nn.Linear(8, 8)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for x in data:
            model(x).sum().backward()
            opt.step()
        """,
    ],
)
def test_gl104_silent(source):
    assert "GL104" not in codes(source)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("torch.backends.cuda.matmul.allow_tf32 = False", "torch.backends.cuda.matmul.allow_tf32 = True"),
        ("torch.backends.cudnn.allow_tf32 = False", "torch.backends.cudnn.allow_tf32 = True"),
        ('torch.set_float32_matmul_precision("highest")', 'torch.set_float32_matmul_precision("high")'),
        ('torch.backends.cuda.matmul.fp32_precision = "ieee"', 'torch.backends.cuda.matmul.fp32_precision = "tf32"'),
    ],
)
def test_gl104_fix_allows_tf32(before, after):
    source = src("import torch", "", before + "  # strict", TORCH_LOOP)
    result = fixed(source)
    assert result.splitlines()[2] == after + "  # strict"
    assert "GL104" not in codes(result)


# ---- GL105 float64-training-on-gpu -----------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        # model.double()
        """
        import torch

        model = torch.nn.Linear(8, 1).double().cuda()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for x, y in loader:
            torch.nn.functional.mse_loss(model(x.cuda()), y.cuda()).backward()
            opt.step()
        """,
        # a module class of the file, .to(torch.float64)
        """
        import torch
        from torch import nn

        class Net(nn.Module):
            def forward(self, x):
                return x

        net = Net().to(device="cuda", dtype=torch.float64)
        optimizer = torch.optim.Adam(net.parameters())
        for batch in loader:
            net(batch).sum().backward()
            optimizer.step()
        """,
        # the default dtype
        """
        import torch

        torch.set_default_dtype(torch.double)
        model = torch.nn.Linear(8, 1).cuda()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for x in loader:
            model(x).sum().backward()
            opt.step()
        """,
        # layers built in float64
        """
        import torch.nn as nn
        import torch

        model = nn.Sequential(nn.Linear(8, 8, dtype=torch.float64), nn.Tanh()).to("cuda")
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for x in loader:
            model(x).sum().backward()
            opt.step()
        """,
        # a model recognised because its parameters go to the optimizer
        """
        import torch

        model = build_model()
        model.double()
        model.cuda()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for x in loader:
            model(x).sum().backward()
            opt.step()
        """,
    ],
)
def test_gl105_fires(source):
    assert "GL105" in codes(source)


@pytest.mark.parametrize(
    "source",
    [
        # the transfer-learning tutorial idiom: a float64 accuracy counter
        """
        import torch

        model = torch.nn.Linear(8, 2).cuda()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        running_corrects = 0
        for x, y in loader:
            out = model(x.cuda())
            out.sum().backward()
            opt.step()
            running_corrects += torch.sum(out.argmax(1) == y.cuda())
        accuracy = running_corrects.double() / len(dataset)
        """,
        # a numerically careful reduction in float64
        """
        import torch

        model = torch.nn.Linear(8, 2).cuda()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for x in loader:
            loss = model(x.cuda()).sum()
            loss.backward()
            opt.step()
            total = loss.detach().to(torch.float64)
        """,
        # float64 model on the CPU
        """
        import torch

        model = torch.nn.Linear(8, 1).double()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for x in loader:
            model(x).sum().backward()
            opt.step()
        """,
        # float64 model evaluated, not trained
        """
        import torch

        model = torch.nn.Linear(8, 1).double().cuda()
        with torch.no_grad():
            for x in loader:
                print(model(x.cuda()))
        """,
        # Gaussian processes want float64
        """
        import torch
        import gpytorch

        model = ExactGP(train_x, train_y, gpytorch.likelihoods.GaussianLikelihood()).double().cuda()
        opt = torch.optim.Adam(model.parameters())
        for i in range(50):
            (-mll(model(train_x), train_y)).backward()
            opt.step()
        """,
        # gradcheck in a test module
        """
        import torch
        import unittest

        class T(unittest.TestCase):
            def test_grad(self):
                layer = torch.nn.Linear(3, 3).double().cuda()
                opt = torch.optim.SGD(layer.parameters(), lr=0.1)
                for x in inputs:
                    layer(x).sum().backward()
                    opt.step()
        """,
    ],
)
def test_gl105_silent(source):
    assert "GL105" not in codes(source)


def test_gl105_is_advice_only():
    source = """
        import torch

        model = torch.nn.Linear(8, 1).double().cuda()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for x in loader:
            model(x).sum().backward()
            opt.step()
    """
    (finding,) = findings(source, "GL105")
    assert finding.fix is None
    assert finding.message.startswith("`torch.nn.Linear(8, 1).double()` makes the model train in float64")


def test_gl105_silent_for_a_physics_informed_network():
    source = """
        import torch

        model = torch.nn.Sequential(torch.nn.Linear(2, 64), torch.nn.Tanh(), torch.nn.Linear(64, 1))
        model = model.to("cuda").double()
        optimizer = torch.optim.Adam(model.parameters())
        for it in range(1000):
            x = torch.rand(256, 2, dtype=torch.float64, device="cuda", requires_grad=True)
            u = model(x)
            du = torch.autograd.grad(u.sum(), x, create_graph=True)[0]
            loss = du.pow(2).mean()
            loss.backward()
            optimizer.step()
    """
    assert "GL105" not in codes(source)


# ---- regressions from the whole-repository precision run (docs/precision.md) -------------------------


@pytest.mark.parametrize("test_import", ["import pytest", "from transformers.testing_utils import Colors", "from tests_pytorch import _PATH_DATASETS"])
def test_gl101_silent_in_test_code(test_import):
    # Lightning's parity tests and timm's optimizer tests train in float32 on a GPU on purpose
    assert "GL101" not in codes(src("import torch", test_import, TORCH_LOOP))


def test_gl101_silent_on_a_numerics_check_that_builds_an_optimizer_every_iteration():
    # the shape of torch's `_inductor/fx_passes/numeric_utils.py`: one update of two models compared
    assert "GL101" not in codes("""
        import torch
        from torch import optim

        def run_model(model_base, model_control, model_input, num_iterations=10):
            torch.cuda.empty_cache()
            for i in range(num_iterations):
                pred_base = model_base(*model_input)
                pred_control = model_control(*model_input)
                pred_base[0].sum().backward(retain_graph=True)
                pred_control[0].sum().backward(retain_graph=True)
                optimizer_base = optim.SGD(model_base.parameters(), lr=0.01)
                optimizer_base.step()
                optimizer_control = optim.SGD(model_control.parameters(), lr=0.01)
                optimizer_control.step()
    """)
    assert "GL101" in codes(src("import torch", TORCH_LOOP))


def test_gl102_silent_in_test_modules():
    assert "GL102" not in codes("""
        import pytest
        from lightning.pytorch import Trainer

        def test_lr_monitor(tmp_path):
            trainer = Trainer(default_root_dir=tmp_path, max_epochs=2, limit_train_batches=3)
            trainer.fit(model)
    """)


@pytest.mark.parametrize("config", ["SFTConfig", "GRPOConfig", "DPOConfig"])
def test_gl102_trl_configs_default_to_bf16(config):
    # TRL >= 0.19 sets bf16 = not fp16 when bf16 is not given (huggingface/trl#3515)
    assert "GL102" not in codes(f"""
        from trl import {config}
        args = {config}(output_dir="out", per_device_train_batch_size=4)
    """)
    assert "GL102" in codes(f"""
        from trl import {config}
        args = {config}(output_dir="out", bf16=False)
    """)


def test_gl102_silent_in_a_trainers_own_implementation():
    # sentence-transformers builds default arguments inside its Trainer subclass for the model card
    assert "GL102" not in codes("""
        from transformers import Trainer
        from sentence_transformers import SentenceTransformerTrainingArguments

        class SentenceTransformerTrainer(Trainer):
            def __init__(self, model=None, args=None):
                default_args_dict = SentenceTransformerTrainingArguments(output_dir="unused").to_dict()
                super().__init__(model=model, args=args)
    """)
    assert "GL102" in codes("""
        from transformers import Trainer, TrainingArguments

        class WeightedTrainer(Trainer):
            def compute_loss(self, model, inputs):
                return model(**inputs).loss

        WeightedTrainer(model=model, args=TrainingArguments(output_dir="out")).train()
    """)


def test_gl101_gl102_silent_in_test_functions_without_a_framework_import():
    # Lightning's test suite runs under pytest without importing it in every file
    source = """
        import torch
        from lightning.pytorch import Trainer

        def test_checkpoint_manual_opt(tmp_path):
            trainer = Trainer(max_epochs=1, default_root_dir=tmp_path)
            trainer.fit(model)

        def test_raw_loop():
            model = torch.nn.Linear(4, 4).cuda()
            opt = torch.optim.SGD(model.parameters(), lr=0.1)
            for x in loader:
                model(x.cuda()).sum().backward()
                opt.step()
    """
    found = codes(source)
    assert "GL101" not in found and "GL102" not in found


def test_gl102_says_when_mixed_precision_is_switched_off_explicitly():
    from rule_helpers import findings

    [finding] = findings('from trl import SFTConfig, SFTTrainer\nargs = SFTConfig(output_dir="o", bf16=False)\n'
                         'SFTTrainer(model="m", args=args).train()\n', "GL102")
    assert "sets `bf16=False`" in finding.message


def test_gl101_says_bfloat16_needs_ampere():
    # ming024/FastSpeech2 and khornlund/severstal (blind21) state pre-Ampere GPUs: the bf16 advice
    # names the fp16 alternative for V100/T4/RTX 20xx
    [finding] = findings(src("import torch", TORCH_LOOP), "GL101")
    assert "bfloat16 needs an Ampere or newer GPU" in finding.message and "GradScaler" in finding.message


CUSTOM_LOOP = """
    import tensorflow as tf

    IMG_SIZE = 224
    gpus = tf.config.experimental.list_physical_devices("GPU")
    model = MODEL
    optimizer = tf.keras.optimizers.SGD(0.1)

    @tf.function
    def train_step(images, labels):
        with tf.GradientTape() as tape:
            loss = tf.keras.losses.sparse_categorical_crossentropy(labels, model(images, training=True))
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))

    for epoch in range(50):
        for images, labels in train_dataset:
            train_step(images, labels)
"""


def test_gl103_a_heavy_custom_loop_counts_as_fitting():
    # the shape of calmisential/TensorFlow2.0_ResNet train.py (blind23, post hoc): a ResNet-50 trained
    # by a GradientTape step, GPUs listed, no policy
    conv = "tf.keras.Sequential([tf.keras.layers.Conv2D(64, 3), tf.keras.layers.GlobalAveragePooling2D(), tf.keras.layers.Dense(10)])"
    (finding,) = findings(CUSTOM_LOOP.replace("MODEL", conv), "GL103")  # convolutions on 224-pixel images
    assert finding.location.row == 10 and "custom `GradientTape` loop" in finding.message
    assert "LossScaleOptimizer" in finding.message and finding.fix is None
    # a small custom loop (no sign of a heavy step) stays silent: it is launch-bound
    small = CUSTOM_LOOP.replace("MODEL", "tf.keras.Sequential([tf.keras.layers.Dense(10)])").replace("IMG_SIZE = 224", "IMG_SIZE = 28")
    assert findings(small, "GL103") == []
    # a policy already set: silent
    assert findings("import tensorflow as tf\ntf.keras.mixed_precision.set_global_policy('mixed_float16')\n"
                    + textwrap.dedent(CUSTOM_LOOP).replace("import tensorflow as tf\n", "").replace("MODEL", conv),
                    "GL103") == []


def test_a_nested_test_step_is_not_test_code():
    # hunglc007/tensorflow-yolov4-tflite train.py (blind21): `def test_step(image_data, target)` nested
    # in main() evaluates each epoch; the module is a training script, not a test module
    source = CUSTOM_LOOP.replace("MODEL", "tf.keras.Sequential([tf.keras.layers.Conv2D(64, 3), tf.keras.layers.Dense(10)])")
    nested = source.replace("    for epoch in range(50):", "    def main():\n        def test_step(images, labels):\n            return model(images)\n\n    for epoch in range(50):")
    assert findings(nested, "GL103")
    # a module-level test function still marks a test module
    top = source + "\n    def test_train_step():\n        train_step(x, y)\n"
    assert findings(top, "GL103") == []
