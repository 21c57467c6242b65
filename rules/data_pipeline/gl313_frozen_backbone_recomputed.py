"""GL313: Keras `fit` recomputes a frozen pretrained backbone's features on every epoch."""

from __future__ import annotations

from collections.abc import Iterable

import libcst as cst

from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.data_pipeline_facts import in_test_code
from greenlint.rules.analysis.experiment_facts import int_value, keras_epochs
from greenlint.rules.analysis.frozen_backbone import frozen_backbone, ignored_generator_augmentation, random_augmentation
from greenlint.rules.analysis.literals import argument
from greenlint.rules.base import Report, Rule
from greenlint.rules.data_pipeline.impacts import GL313_IMPACT
from greenlint.rules.evidence import FROZEN_FEATURES_ARITHMETIC, FROZEN_FEATURES_DOC

# From this many epochs on, caching saves at least 80 % of the backbone's forward passes; a 2-4 epoch
# demonstration is not worth restructuring.
MIN_EPOCHS = 5


class FrozenBackboneRecomputed(Rule):
    code = "GL313"
    name = "frozen-backbone-recomputed"
    summary = "`fit` runs a frozen pretrained backbone over the same images on every epoch instead of caching its features"
    detects = """
        Keras `model.fit(..., epochs=N)` with N >= 5 (literal or a constant) where the model is
        `Sequential([base, ...])` or `Model(inputs=base.input, ...)` (or a function returning one), and
        `base` is a pretrained `keras.applications` network with `include_top=False` (also one passed
        to a builder function as a parameter) frozen by `base.trainable = False`, or a TF-Hub
        `KerasLayer` (frozen by default). Also `Model(inputs, ...)` whose base is applied directly to
        the `Input`. Silent when anything in the module randomises the inputs (Keras `Random*` layers,
        an `ImageDataGenerator` with rotation/shift/zoom/flip ranges, `tf.image.random_*`, random-number
        calls, albumentations and other augmentation libraries), when any layer is set trainable again
        (a fine-tuning phase follows), for EfficientNet/ConvNeXt bases called in training mode
        (stochastic depth), and in tests.
    """
    why = """
        A frozen base maps each image to the same feature vector on every epoch, and it is by far the
        most expensive part of the model: with N epochs, N - 1 of its forward passes over the training
        and validation images recompute results that were already computed. Training the small head on
        features computed once costs a fraction of one epoch.
    """
    bad_example = """
        from tensorflow import keras

        base = keras.applications.MobileNetV2(include_top=False, weights="imagenet", pooling="avg")
        base.trainable = False
        model = keras.Sequential([base, keras.layers.Dense(10, activation="softmax")])
        model.compile(optimizer="adam", loss="categorical_crossentropy")
        model.fit(train_images, train_labels, epochs=50)
    """
    good_example = """
        from tensorflow import keras

        base = keras.applications.MobileNetV2(include_top=False, weights="imagenet", pooling="avg")
        features = base.predict(train_images)
        head = keras.Sequential([keras.layers.Dense(10, activation="softmax")])
        head.compile(optimizer="adam", loss="categorical_crossentropy")
        head.fit(features, train_labels, epochs=50)
    """
    fix = """
        Run the base once over the training and validation data (`features = base.predict(data)`, or
        `data.map(lambda x, y: (base(x, training=False), y)).cache()`), then fit the head alone on the
        features; rebuild `Sequential([base, head])` for inference. When you want random augmentation,
        keep the end-to-end model: cached features cannot be augmented.
    """
    evidence = (FROZEN_FEATURES_DOC, FROZEN_FEATURES_ARITHMETIC)
    saving_scope = "the frozen backbone's forward passes on every epoch after the first"
    impact = GL313_IMPACT  # no measured share of a run yet: the findings keep an unknown impact
    trigger = ((".fit(",), ("trainable", "KerasLayer"), ("epochs",))

    def check(self, analysis: ModuleAnalysis) -> Iterable[Report]:
        facts = analysis.facts
        if random_augmentation(facts) is not None:
            return
        for site in facts.calls:
            if site.attr != "fit" or not site.is_method_call or in_test_code(site):
                continue
            epochs = int_value(keras_epochs(site.node), facts)
            if epochs is None or epochs < MIN_EPOCHS:
                continue
            receiver = site.receiver
            if not isinstance(receiver, cst.Name):
                continue
            base = frozen_backbone(receiver, facts, analysis.module)
            if base is None:
                continue
            ignored = ignored_generator_augmentation(facts)
            note = (
                f" (the `{ignored}` given to `flow_from_*` is not applied: Keras takes augmentation only from the "
                "`ImageDataGenerator` itself)"
                if ignored
                else ""
            )
            yield Report(
                site.node,
                f"`fit` runs {epochs} epochs through `{base.name}`, frozen by {base.frozen_by}: every epoch "
                f"recomputes the same backbone features for every image{note}; run the base once over the data "
                "(`base.predict`) and fit only the head on the saved features",
            )


RULE = FrozenBackboneRecomputed()
