"""GL502/GL503 report only runs where stopping early or checkpointing is worth it (issue 14): a
dense network on vector data trains in seconds per epoch, and a `fit` of an sklearn, XGBoost or
custom-class model gets advice for its own library, not Keras callbacks."""

from __future__ import annotations

import pytest
from rule_helpers import findings, fires, silent

DENSE_DEMO = """
    from tensorflow import keras
    from tensorflow.keras import layers

    (x_train, y_train), _ = keras.datasets.imdb.load_data(num_words=10000)
    model = keras.Sequential([
        layers.Dense(16, activation="relu"),
        layers.Dropout(0.5),
        layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer="rmsprop", loss="binary_crossentropy")
    x = tf.convert_to_tensor(x_train)
    model.fit(x, y_train, epochs={epochs}, batch_size=512, validation_split=0.4)
"""

CONV_NET = """
    from tensorflow import keras
    from tensorflow.keras import layers

    inputs = keras.Input(shape=(180, 180, 3))
    x = layers.Conv2D(32, 3, activation="relu")(inputs)
    x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="rmsprop", loss="binary_crossentropy")
"""


@pytest.mark.parametrize("epochs", [20, 100, 130])
def test_dense_network_demo_is_not_worth_stopping_or_checkpointing(epochs):
    source = DENSE_DEMO.format(epochs=epochs)
    silent("GL502", source)
    silent("GL503", source)


def test_convnet_with_a_checkpoint_callback_rebound_per_cell_still_lacks_early_stopping():
    # notebooks rebind `callbacks` before each fit; every binding holds a ModelCheckpoint only
    [first, second] = findings(CONV_NET + """
    callbacks = [keras.callbacks.ModelCheckpoint("a.keras", save_best_only=True, monitor="val_loss")]
    model.fit(train_ds, epochs=100, validation_data=val_ds, callbacks=callbacks)
    callbacks = [keras.callbacks.ModelCheckpoint("b.keras", save_best_only=True, monitor="val_loss")]
    model.fit(train_ds, epochs=50, validation_data=val_ds, callbacks=callbacks)
    """, "GL502")
    assert "100 epochs" in first.message and "50 epochs" in second.message


def test_one_binding_with_early_stopping_silences_the_rebound_callbacks():
    silent("GL502", CONV_NET + """
    callbacks = [keras.callbacks.ModelCheckpoint("a.keras")]
    model.fit(train_ds, epochs=100, validation_data=val_ds, callbacks=callbacks)
    callbacks = [keras.callbacks.EarlyStopping(patience=5)]
    model.fit(train_ds, epochs=100, validation_data=val_ds, callbacks=callbacks)
    """)


def test_twenty_epochs_of_a_convnet_is_too_short_for_gl502():
    silent("GL502", CONV_NET + """
    model.fit(train_ds, epochs=20, validation_data=val_ds)
    """)
    fires("GL502", CONV_NET + """
    model.fit(train_ds, epochs=30, validation_data=val_ds)
    """)


def test_recurrent_and_attention_models_count_as_heavy():
    for layer in ("layers.LSTM(32)", "layers.GRU(32)", "layers.MultiHeadAttention(num_heads=2, key_dim=16)"):
        fires("GL503", f"""
            from tensorflow import keras
            from tensorflow.keras import layers
            block = {layer}
            model = keras.Sequential([layers.Embedding(1000, 64), layers.Dense(1)])
            model.fit(ds, epochs=200)
        """)


def test_a_model_loaded_from_disk_is_of_unknown_size_and_still_reported():
    fires("GL503", """
        from tensorflow import keras
        model = keras.models.load_model("base.keras")
        head = keras.layers.Dense(1)
        model.fit(ds, epochs=100)
    """)


def test_gl503_non_keras_fit_gets_library_neutral_advice():
    [finding] = findings("""
        import tensorflow as tf
        from xgboost import XGBRegressor

        class TabularNet:
            def fit(self, x, y, epochs):
                ...

        net = TabularNet()
        net.fit(x, y, epochs=300)
    """, "GL503")
    assert "ModelCheckpoint" not in finding.message and "library's own save" in finding.message
    [keras_finding] = findings("""
        import tensorflow as tf
        model.fit(ds, epochs=300)
    """, "GL503")
    assert "ModelCheckpoint" in keras_finding.message


def test_gl502_ignores_an_sklearn_estimator_fit_in_a_keras_module():
    silent("GL502", """
        import tensorflow as tf
        from sklearn.neural_network import MLPClassifier

        clf = MLPClassifier()
        clf.fit(x, y, epochs=100, validation_data=(xv, yv))
    """)


# ==== GL502: hand-written PyTorch epoch loops ======================================================

TORCH_LOOP = """
    import argparse
    import torch

    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default={epochs})
    args = parser.parse_args()

    def train_epoch(model, loader, optimizer):
        for x, y in loader:
            loss = torch.nn.functional.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    def eval_epoch(model, loader):
        with torch.no_grad():
            return sum(torch.nn.functional.cross_entropy(model(x), y).item() for x, y in loader)

    best = float("inf")
    for epoch in range(args.epochs):
        train_epoch(model, train_loader, optimizer)
        {validation}
        {extra}
"""


def _torch_loop(epochs=200, validation="valid_loss = eval_epoch(model, val_loader)", extra="print(epoch)"):
    return TORCH_LOOP.format(epochs=epochs, validation=validation, extra=extra)


def test_gl502_raw_pytorch_loop_with_a_validation_metric():
    [finding] = findings(_torch_loop(), "GL502")
    assert "200 epochs by default (`--epochs` defaults to 200" in finding.message
    assert "`valid_loss = eval_epoch(...)`" in finding.message


@pytest.mark.parametrize("kwargs", [
    # a short run
    {"epochs": 20},
    # no validation metric assigned (only `model.eval()`), or one only every 10th epoch
    {"validation": "model.eval()"},
    {"validation": "if epoch % 10 == 0: valid_loss = eval_epoch(model, val_loader)"},
    # a hand-written stop: break or return in the epoch loop
    {"extra": "if valid_loss > best: break"},
    {"extra": "if valid_loss != valid_loss: return"},
    # patience counters spelled with a stopping word anywhere in the module
    {"extra": "early_stop_counter = 0"},
    # a schedule that needs every epoch
    {"extra": "scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)"},
])
def test_gl502_raw_pytorch_loop_traps(kwargs):
    silent("GL502", _torch_loop(**kwargs))


def test_gl502_break_of_an_inner_loop_does_not_stop_the_epochs():
    fires("GL502", _torch_loop(extra="for batch in debug_loader:\n            break"))
