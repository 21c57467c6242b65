"""GL502 / GL506 on the run settings of Lightning, the Hugging Face Trainer and Keras applications,
and GL503's small-table runs: regression tests written from the development corpora's shapes (the
repositories are named in each test; no code copied)."""

from __future__ import annotations

import pytest
from rule_helpers import findings, fires, silent

# 0913ktg/5G-Traffic-Generator@9086981 5GT-GAN/main.py: a Hydra-configured GAN trained by a
# Lightning Trainer with max_epochs=-1, a checkpoint callback and nothing that stops it.
UNBOUNDED = """
    from pytorch_lightning import Trainer
    from pytorch_lightning.callbacks import ModelCheckpoint

    def train(cfg):
        ckpt = ModelCheckpoint(dirpath="ckpt", every_n_epochs=10, save_top_k=-1)
        trainer = Trainer(gpus=[0], num_sanity_val_steps=0, max_epochs=-1, callbacks=[ckpt]{extra})
        trainer.fit(model, dm)
"""


def test_lightning_max_epochs_minus_one_without_any_bound_trains_forever():
    [finding] = findings(UNBOUNDED.format(extra=""), "GL502")
    assert "without end" in finding.message and "max_time" in finding.message
    assert finding.location.row == 6 and finding.location.column > 40  # the max_epochs argument


@pytest.mark.parametrize("bound", [", max_steps=100_000", ", max_time='00:12:00:00'", ", fast_dev_run=True"])
def test_a_step_or_time_bound_makes_max_epochs_minus_one_finite(bound):
    silent("GL502", UNBOUNDED.format(extra=bound))


def test_unbounded_run_with_an_early_stopping_callback_is_silent():
    silent("GL502", """
        from pytorch_lightning import Trainer
        from pytorch_lightning.callbacks import EarlyStopping
        trainer = Trainer(max_epochs=-1, callbacks=[EarlyStopping(monitor="val_loss")])
        trainer.fit(model, dm)
    """)


# AGH-Drone-Engineering/leaves-ml@9a5b5cf leaves/detection/train.py: the LightningModule and the
# DataModule live in other files; the Trainer sets no max_epochs and validates four times per epoch.
DEFAULT_LENGTH = """
    import pytorch_lightning as pl
    from my_model_module import MyModelModule
    from my_data_module import MyDataModule

    def train():
        trainer = pl.Trainer(accelerator="gpu", devices=1{extra})
        trainer.fit(MyModelModule(), MyDataModule())
"""


def test_trainer_without_max_epochs_runs_lightnings_default_thousand_epochs():
    [finding] = findings(DEFAULT_LENGTH.format(extra=", val_check_interval=0.25"), "GL502")
    assert "default 1000 epochs" in finding.message


def test_default_length_needs_a_sign_of_validation():
    # nothing in the module says the run validates (the module is in another file): not reported
    silent("GL502", DEFAULT_LENGTH.format(extra=""))
    # a step budget decides the length
    silent("GL502", DEFAULT_LENGTH.format(extra=", val_check_interval=0.25, max_steps=5000"))


def test_fractional_val_check_interval_over_a_long_run_is_too_frequent():
    [finding] = findings(DEFAULT_LENGTH.format(extra=", val_check_interval=0.25"), "GL506")
    assert "4 times per epoch" in finding.message and "1000 epochs" in finding.message
    assert finding.location.row == 6


@pytest.mark.parametrize(
    "extra",
    [
        ", val_check_interval=0.25, max_epochs=3",  # a short fine-tune may want the read-outs
        ", val_check_interval=0.25, max_epochs=50, limit_val_batches=20",  # the pass is capped
        ", val_check_interval=0.75, max_epochs=50",  # under two passes per epoch
        ", val_check_interval=1000, max_epochs=50",  # every 1000 batches
        ", val_check_interval=0.25, max_epochs=-1",  # unbounded: GL502's finding
    ],
)
def test_val_check_interval_left_alone(extra):
    silent("GL506", DEFAULT_LENGTH.format(extra=extra))


def test_integer_val_check_interval_of_ten_batches():
    # wangzexi/scene-classifier@9f2e4ba train.py: ViT fine-tune validating every 10 training batches
    [finding] = findings("""
        import pytorch_lightning as pl
        trainer = pl.Trainer(
            gpus=1,
            max_epochs=10,
            val_check_interval=10,
        )
        trainer.fit(model=model, datamodule=datamodule)
    """, "GL506")
    assert "every 10 training batches" in finding.message and finding.location.row == 5


# sotopia-lab/sotopia-rl@2ebb14e sotopia_rl/rm_trainer.py: TrainingArguments with logging_steps=1,
# eval_strategy="steps" and no eval_steps (so the Trainer evaluates after every logging step).
HF_ARGS = """
    from transformers import TrainingArguments
    training_args = TrainingArguments(
        output_dir=args.checkpoint_dir,
        num_train_epochs=args.num_epochs,
        logging_steps={logging},
        save_strategy="steps",
        eval_strategy="steps",{extra}
    )
"""


def test_hf_eval_steps_falls_back_to_logging_steps_of_one():
    [finding] = findings(HF_ARGS.format(logging=1, extra=""), "GL506")
    assert "falls back to `logging_steps=1`" in finding.message and "after every optimizer step" in finding.message
    assert finding.location.row == 7  # the eval_strategy argument


@pytest.mark.parametrize(
    "logging, extra",
    [
        (1, "\n        eval_steps=500,"),  # an explicit, sparse interval
        (50, ""),  # falls back to 50 steps
        (1, "\n        max_steps=100,"),  # a smoke test
        (1, "\n        eval_steps=0.1,"),  # a share of the run
        (1, "\n        eval_steps=args.evaluation_steps,"),  # unknown: the user's choice
    ],
)
def test_hf_evaluation_interval_left_alone(logging, extra):
    silent("GL506", HF_ARGS.format(logging=logging, extra=extra))


def test_hf_explicit_small_eval_steps_points_at_it():
    [finding] = findings(HF_ARGS.format(logging=10, extra="\n        eval_steps=5,"), "GL506")
    assert "`eval_steps=5`" in finding.message and finding.location.row == 8


def test_hf_epoch_strategy_is_silent():
    silent("GL506", HF_ARGS.format(logging=1, extra="").replace('eval_strategy="steps"', 'eval_strategy="epoch"'))


# 19121A0531/weather-image-recognition-using-deep-learning@32f8acf SRP2.ipynb: a helper builds a
# frozen ImageNet backbone passed in as a parameter (`func(MobileNet)`), adds a Dense head and fits
# it for 100 epochs with validation data and no EarlyStopping.
def test_keras_application_built_through_a_parameter_is_a_heavy_model():
    fires("GL502", """
        from tensorflow import keras
        from tensorflow.keras.applications import MobileNet
        from keras.layers import Dense
        from keras.models import Model

        def func(name_model):
            pre_model = name_model(input_shape=(100, 100, 3), include_top=False, weights="imagenet", pooling="avg")
            pre_model.trainable = False
            x = Dense(100, activation="relu")(pre_model.output)
            outputs = Dense(11, activation="softmax")(x)
            model = Model(inputs=pre_model.input, outputs=outputs)
            model.compile(loss="categorical_crossentropy", optimizer="adam")
            return model

        model = func(MobileNet)
        history = model.fit(train_gen, validation_data=valid_gen, epochs=100, verbose=1)
    """)


# rasbt/deeplearning-models@18e0469 pytorch_ipynb/ordinal/CORAL_cement.ipynb: a two-hidden-layer MLP
# (widths 300 as parameter defaults) on the 998-row cement table, 50 epochs, nothing saved.
def test_mlp_on_a_known_small_table_is_not_worth_a_checkpoint():
    source = """
        import pandas as pd
        import torch

        data_df = pd.read_csv("https://example.org/ordinal_regression_data/master/cement_strength.csv")
        num_epochs = 50

        class MLP(torch.nn.Module):
            def __init__(self, in_features, num_classes, num_hidden_1=300, num_hidden_2=300):
                super().__init__()
                self.net = torch.nn.Sequential(
                    torch.nn.Linear(in_features, num_hidden_1, bias=False),
                    torch.nn.LeakyReLU(),
                    torch.nn.BatchNorm1d(num_hidden_1),
                    torch.nn.Linear(num_hidden_1, num_hidden_2, bias=False),
                    torch.nn.LeakyReLU(),
                    torch.nn.Linear(num_hidden_2, num_classes),
                )

            def forward(self, x):
                return self.net(x)

        model = MLP(in_features=8, num_classes=10)
        optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
        for epoch in range(num_epochs):
            for features, labels in train_loader:
                loss = torch.nn.functional.cross_entropy(model(features), labels)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
    """
    silent("GL503", source)
    # the same loop on data the module does not show stays reported
    fires("GL503", source.replace("cement_strength.csv", "sensor_readings.csv"))


# gilbe74/AI Optuna.py (blind3): a Keras LSTM fit for a configured 85 epochs inside an Optuna
# objective with a pruning callback; the study runs a handful of trials.
OPTUNA_OBJECTIVE = """
    import optuna
    from tensorflow import keras

    EPOCHS = 85

    def objective({param}):
        model = keras.Sequential([keras.layers.LSTM(64), keras.layers.Dense(1)])
        model.compile(optimizer="adam", loss="mse")
        model.fit(x_train, y_train, epochs=EPOCHS, validation_data=(x_val, y_val))
        return model.evaluate(x_val, y_val)

    study = optuna.create_study()
    study.optimize(objective, n_trials=4)
"""


@pytest.mark.parametrize("param", ["trial", "t"])
def test_gl503_silent_inside_an_optuna_trial(param):
    silent("GL503", OPTUNA_OBJECTIVE.format(param=param))


def test_gl503_same_fit_outside_a_search_is_reported():
    fires("GL503", OPTUNA_OBJECTIVE.format(param="t").replace("study.optimize(objective, n_trials=4)", "objective(None)"))


def test_gl504_mlflow_reexported_by_a_project_module():
    # paolorechia/common-lit-kaggle@795b53e common_lit_kaggle/modeling/training.py: `mlflow` comes
    # from the project's own wrapper module, and two log_metric calls run on every training step
    [first, second] = findings("""
        import torch
        from common_lit_kaggle.utils.mlflow_wrapper import mlflow

        def train_epoch(dataloader, model, optimizer, criterion):
            total_loss = 0
            idx = 1
            for inputs, target in dataloader:
                loss = criterion(model(inputs), target)
                loss.backward()
                optimizer.step()
                optimizer.zero_grad()
                total_loss += loss.item()
                mlflow.log_metric("running_loss", total_loss / idx)
                mlflow.log_metric("steps", idx)
                idx += 1
    """, "GL504")
    assert first.location.row == 13 and second.location.row == 14
    # throttled: fine
    silent("GL504", """
        import torch
        from common_lit_kaggle.utils.mlflow_wrapper import mlflow

        for step, (inputs, target) in enumerate(dataloader):
            loss = criterion(model(inputs), target)
            loss.backward()
            optimizer.step()
            if step % 100 == 0:
                mlflow.log_metric("loss", loss.item())
    """)


def test_gl503_says_up_to_when_early_stopping_caps_the_fit():
    """blind16 judge: `fit(epochs=100)` with `EarlyStopping(patience=5)` is a cap, not the run."""
    source = """
        import tensorflow as tf
        from tensorflow.keras.callbacks import EarlyStopping
        model = tf.keras.Sequential([tf.keras.layers.Conv2D(64, 3), tf.keras.layers.LSTM(128)])
        model.compile(optimizer="adam", loss="mse")
        model.fit(x, y, validation_data=(a, b), epochs=100, callbacks=CALLBACKS)
    """
    [capped] = findings(source.replace("CALLBACKS", "[EarlyStopping(patience=5)]"), "GL503")
    assert "runs up to 100 epochs (early stopping may end it sooner)" in capped.message
    [plain] = findings(source.replace("CALLBACKS", "[]"), "GL503")
    assert "`fit` runs 100 epochs" in plain.message
