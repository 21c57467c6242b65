"""GL313: a frozen pretrained Keras backbone recomputed on every epoch of `fit`.

The true positives are written from the shapes of the development corpora (blind3:
19121A0531/weather-image-recognition-using-deep-learning@32f8acf SRP2.ipynb, a builder function
taking the application class as a parameter; blind2: askysrsh/SKIN.CANCER.DETECTION@9ea6844, a
TF-Hub feature vector in a Sequential). The silent cases are the traps: random augmentation before
the base, fine-tuning later, EfficientNet's stochastic depth, short runs.
"""

from __future__ import annotations

from rule_helpers import findings, fires, silent


def test_builder_function_with_the_application_as_a_parameter():
    # blind3 SRP2.ipynb: `func(MobileNet)` builds Model(inputs=pre_model.input, ...) with
    # `pre_model.trainable = False`; the augmentation keywords sit on flow_from_dataframe, where Keras
    # drops them, so the generator is deterministic.
    found = findings("""
        from tensorflow import keras
        from keras.models import Model
        from keras.layers import Dense
        from keras.preprocessing.image import ImageDataGenerator
        from tensorflow.keras.applications import MobileNet

        def gen(pre, frame):
            datagen = ImageDataGenerator(preprocessing_function=pre, validation_split=0.2)
            return datagen.flow_from_dataframe(dataframe=frame, x_col="path", y_col="label",
                                               target_size=(100, 100), rotation_range=30, horizontal_flip=True)

        def func(name_model):
            pre_model = name_model(input_shape=(100, 100, 3), include_top=False, weights="imagenet", pooling="avg")
            pre_model.trainable = False
            inputs = pre_model.input
            x = Dense(100, activation="relu")(pre_model.output)
            outputs = Dense(11, activation="softmax")(x)
            model = Model(inputs=inputs, outputs=outputs)
            model.compile(loss="categorical_crossentropy", optimizer="rmsprop")
            return model

        train = gen(None, frame)
        mobile = func(MobileNet)
        history = mobile.fit(train, epochs=100)
    """, "GL313")
    assert len(found) == 1
    assert "`MobileNet`" in found[0].message and "100 epochs" in found[0].message
    assert "`rotation_range` given to `flow_from_*` is not applied" in found[0].message


def test_tf_hub_feature_vector_in_a_sequential():
    # blind2 askysrsh: hub.KerasLayer(..., trainable=False) first in a Sequential, 100 epochs
    fires("GL313", """
        import tensorflow as tf
        import tensorflow_hub as hub

        tf.random.set_seed(7)
        m = tf.keras.Sequential([
            hub.KerasLayer(url, output_shape=[2048], trainable=False),
            tf.keras.layers.Dense(1, activation="sigmoid"),
        ])
        m.compile(loss="binary_crossentropy", optimizer="rmsprop")
        m.fit(train_ds, validation_data=valid_ds, epochs=100)
    """)


def test_base_applied_to_the_input_and_epochs_from_a_constant():
    fires("GL313", """
        from tensorflow import keras

        EPOCHS = 30
        base = keras.applications.ResNet50(include_top=False, weights="imagenet", pooling="avg")
        base.trainable = False
        inputs = keras.Input(shape=(224, 224, 3))
        x = base(inputs, training=False)
        outputs = keras.layers.Dense(5)(x)
        model = keras.Model(inputs, outputs)
        model.fit(ds, epochs=EPOCHS)
    """)


def test_silent_with_random_augmentation_layers_before_the_base():
    silent("GL313", """
        from tensorflow import keras

        augment = keras.Sequential([keras.layers.RandomFlip("horizontal"), keras.layers.RandomRotation(0.1)])
        base = keras.applications.ResNet50(include_top=False, weights="imagenet", pooling="avg")
        base.trainable = False
        inputs = keras.Input(shape=(224, 224, 3))
        x = base(augment(inputs), training=False)
        model = keras.Model(inputs, keras.layers.Dense(5)(x))
        model.fit(ds, epochs=30)
    """)


def test_silent_with_an_augmenting_image_data_generator():
    silent("GL313", """
        from tensorflow import keras
        from keras.preprocessing.image import ImageDataGenerator

        datagen = ImageDataGenerator(rescale=1 / 255, rotation_range=20, horizontal_flip=True)
        train = datagen.flow_from_directory("data/train")
        base = keras.applications.VGG16(include_top=False, weights="imagenet")
        base.trainable = False
        model = keras.Sequential([base, keras.layers.Flatten(), keras.layers.Dense(2)])
        model.fit(train, epochs=50)
    """)


def test_silent_when_the_base_is_unfrozen_for_fine_tuning():
    silent("GL313", """
        from tensorflow import keras

        base = keras.applications.MobileNetV2(include_top=False, weights="imagenet", pooling="avg")
        base.trainable = False
        model = keras.Sequential([base, keras.layers.Dense(10)])
        model.fit(train, epochs=20)
        base.trainable = True
        model.fit(train, epochs=10)
    """)


def test_silent_for_efficientnet_in_training_mode_short_runs_and_trainable_bases():
    # Sequential calls EfficientNet in training mode: its stochastic depth changes the features
    silent("GL313", """
        from tensorflow import keras

        base = keras.applications.EfficientNetB0(include_top=False, weights="imagenet", pooling="avg")
        base.trainable = False
        model = keras.Sequential([base, keras.layers.Dense(10)])
        model.fit(train, epochs=50)
    """)
    silent("GL313", """
        from tensorflow import keras

        base = keras.applications.MobileNetV2(include_top=False, weights="imagenet", pooling="avg")
        base.trainable = False
        model = keras.Sequential([base, keras.layers.Dense(10)])
        model.fit(train, epochs=3)
    """)
    silent("GL313", """
        from tensorflow import keras

        base = keras.applications.MobileNetV2(include_top=False, weights="imagenet", pooling="avg")
        model = keras.Sequential([base, keras.layers.Dense(10)])
        model.fit(train, epochs=30)
    """)


def test_silent_when_a_name_also_holds_a_model_without_a_frozen_base():
    silent("GL313", """
        from tensorflow import keras

        base = keras.applications.MobileNetV2(include_top=False, weights="imagenet", pooling="avg")
        base.trainable = False
        model = keras.Sequential([base, keras.layers.Dense(10)])
        model = keras.Sequential([keras.layers.Conv2D(32, 3), keras.layers.Flatten(), keras.layers.Dense(10)])
        model.fit(train, epochs=30)
    """)
