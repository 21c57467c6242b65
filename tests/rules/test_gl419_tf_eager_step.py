"""GL419: an eager TensorFlow custom training step, and the shapes that are already compiled (a
`@tf.function` step, `tf.function(step)`, a traced epoch function, TF1 graph mode, Keras `fit`)."""

from __future__ import annotations

from rule_helpers import findings, fires, silent

INLINE_STEP = """
import tensorflow as tf

for epoch in range(250):
    for step, (x, y) in enumerate(train_loader):
        with tf.GradientTape() as tape:
            loss = criteon(y, model(x))
        grads = tape.gradient(loss, model.trainable_variables)
        grads = [tf.clip_by_norm(g, 15) for g in grads]
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
"""

STEP_FUNCTION = """
import tensorflow as tf

{decorator}
def train_step(x, y):
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x, training=True))
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    return loss
{wrap}
for epoch in range(100):
    for x, y in dataset:
        train_step(x, y)
"""


def _row_of(source: str, text: str) -> int:
    """1-based row of the first line containing `text`, as the linter numbers the stripped source."""
    return next(i for i, line in enumerate(source.strip().splitlines(), 1) if text in line)


def test_fires_on_an_inline_step_at_its_tape() -> None:
    # the step's body starts at the tape (zzh8829/yolov3-tf2 2784050 train.py:155, blind18's label)
    found = findings(INLINE_STEP, "GL419")
    assert len(found) == 1
    assert found[0].location.row == _row_of(INLINE_STEP, "with tf.GradientTape")
    assert "move the step into a function decorated with `@tf.function`" in found[0].message


def test_fires_on_an_undecorated_step_function_and_names_it() -> None:
    found = findings(STEP_FUNCTION.format(decorator="", wrap=""), "GL419")
    assert len(found) == 1
    assert "decorate `train_step` with `@tf.function`" in found[0].message
    source = STEP_FUNCTION.format(decorator="", wrap="")
    assert found[0].location.row == _row_of(source, "def train_step")  # where the decorator goes


def test_silent_when_the_step_is_decorated() -> None:
    silent("GL419", STEP_FUNCTION.format(decorator="@tf.function", wrap=""))
    silent("GL419", STEP_FUNCTION.format(decorator="@tf.function(jit_compile=True)", wrap=""))


def test_silent_when_the_step_is_wrapped_by_tf_function() -> None:
    silent("GL419", STEP_FUNCTION.format(decorator="", wrap="train_step = tf.function(train_step)\n"))


def test_silent_when_the_epoch_function_is_traced() -> None:
    silent(
        "GL419",
        """
import tensorflow as tf

@tf.function
def train_epoch(dataset):
    for x, y in dataset:
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))

for epoch in range(100):
    train_epoch(dataset)
""",
    )


def test_silent_in_tf1_graph_mode() -> None:
    silent("GL419", "import tensorflow as tf\ntf.compat.v1.disable_eager_execution()\n" + INLINE_STEP)


def test_one_finding_per_loop_for_a_gan_with_two_tapes() -> None:
    gan = """
import tensorflow as tf

for epoch in range(epochs):
    for x in dataset:
        with tf.GradientTape() as d_tape:
            d_loss = d_loss_fn(generator, discriminator, x)
        d_grads = d_tape.gradient(d_loss, discriminator.trainable_variables)
        d_optimizer.apply_gradients(zip(d_grads, discriminator.trainable_variables))
        with tf.GradientTape() as g_tape:
            g_loss = g_loss_fn(generator, discriminator)
        g_grads = g_tape.gradient(g_loss, generator.trainable_variables)
        g_optimizer.apply_gradients(zip(g_grads, generator.trainable_variables))
"""
    found = findings(gan, "GL419")
    assert [f.location.row for f in found] == [_row_of(gan, "with tf.GradientTape() as d_tape")]


def test_a_gradient_penalty_helper_is_not_the_step() -> None:
    """The update marks the step: a helper that takes a tape gradient for a penalty is not named."""
    found = findings(
        """
import tensorflow as tf

def gradient_penalty(critic, real, fake):
    with tf.GradientTape() as tape:
        tape.watch(real)
        score = critic(real)
    return tf.reduce_mean(tape.gradient(score, real) ** 2)

for step in range(100000):
    with tf.GradientTape() as tape:
        loss = critic_loss(real, fake) + gradient_penalty(critic, real, fake)
    grads = tape.gradient(loss, critic.trainable_variables)
    opt.apply_gradients(zip(grads, critic.trainable_variables))
""",
        "GL419",
    )
    assert len(found) == 1 and "gradient_penalty" not in found[0].message


def test_silent_on_pytorch_and_keras_fit() -> None:
    silent(
        "GL419",
        """
import torch

for x, y in loader:
    loss = model(x).sum()
    loss.backward()
    optimizer.step()
""",
    )
    silent(
        "GL419",
        """
import tensorflow as tf

model.compile(optimizer="adam", loss="mse")
model.fit(x, y, epochs=100)
""",
    )


def test_fires_with_a_tape_named_otherwise_only_when_its_name_says_tape() -> None:
    fires("GL419", INLINE_STEP.replace("as tape", "as gen_tape").replace("tape.gradient", "gen_tape.gradient"))
    silent("GL419", INLINE_STEP.replace("as tape", "as g").replace("tape.gradient", "g.gradient"))
