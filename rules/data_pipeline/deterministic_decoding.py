"""A Keras fit that decodes the same image files again in every epoch (GL301's per-epoch case).

`ImageDataGenerator(rescale=1./255).flow_from_directory(train_dir, target_size=(48, 48))` reads,
decodes and resizes every image file of the training set once per epoch, in one Python thread. With
no random augmentation anywhere in the module, every epoch produces exactly the same arrays: the
decoding after the first epoch is repeated work while the GPU waits (atulapra/Emotion-detection,
blind34: 28,709 PNGs of 48x48 decoded again in each of 50 epochs). Small images fit in memory:
loading them once (`image_dataset_from_directory(...).cache()`, or arrays) removes the repeat.

Deliberately narrow: the generator is built with no augmentation argument and the module shows no
random augmentation (rules/analysis/frozen_backbone.random_augmentation); the fit runs at least
MIN_EPOCHS epochs (written out or configured); the images are resized to a known size of at most
MAX_CACHED_SIDE pixels a side, so that the decoded set plausibly fits in memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.data_pipeline_facts import bound_once
from greenlint.rules.analysis.experiment_facts import in_test_code, int_value, is_keras_fit, keras_epochs
from greenlint.rules.analysis.facts import CallSite
from greenlint.rules.analysis.frozen_backbone import random_augmentation
from greenlint.rules.analysis.literals import argument, has_double_star, literal_value
from greenlint.rules.analysis.names import terminal_name

# Fewer epochs decode the set only a few times: the repeat is a small share of a short run.
MIN_EPOCHS = 20
# 128 x 128 x 3 bytes = 48 KB an image: 100,000 images are under 5 GB, decoded once.
MAX_CACHED_SIDE = 128
# ImageDataGenerator arguments that do not change an image at random
_DETERMINISTIC = frozenset({"rescale", "dtype", "data_format", "validation_split", "featurewise_center",
                            "samplewise_center", "featurewise_std_normalization", "samplewise_std_normalization",
                            "zca_whitening", "zca_epsilon", "interpolation_order"})
_FILE_ITERATORS = ("flow_from_directory", "flow_from_dataframe")


@dataclass(frozen=True)
class RepeatedDecoding:
    fit: CallSite
    flow: cst.Call  # the `flow_from_directory(...)` call: the pipeline to change
    iterator: str  # "train_generator"
    epochs: int
    side: tuple[int, int]
    generator: str  # "ImageDataGenerator(rescale=1./255)"


def repeated_keras_decoding(analysis: ModuleAnalysis) -> list[RepeatedDecoding]:
    facts = analysis.facts
    if random_augmentation(facts) is not None:
        return []
    found = []
    for site in facts.calls:
        if not is_keras_fit(site, facts) or in_test_code(site):
            continue
        epochs = int_value(keras_epochs(site.node), facts)
        data = argument(site.node, "x", 0) if site.attr == "fit" else argument(site.node, "generator", 0)
        if epochs is None or epochs < MIN_EPOCHS or not isinstance(data, cst.Name):
            continue
        iterator = bound_once(analysis.facts, data.value)
        if not (isinstance(iterator, cst.Call) and isinstance(iterator.func, cst.Attribute)
                and iterator.func.attr.value in _FILE_ITERATORS and isinstance(iterator.func.value, cst.Name)):
            continue
        side = literal_value(argument(iterator, "target_size"))
        if not (isinstance(side, tuple) and len(side) == 2 and all(isinstance(s, int) for s in side)
                and max(side) <= MAX_CACHED_SIDE):
            continue
        generator = bound_once(analysis.facts, iterator.func.value.value)
        if not _plain_generator(generator):
            continue
        written = analysis.module.code_for_node(generator)
        found.append(RepeatedDecoding(site, iterator, data.value, epochs, side, written if len(written) <= 50 else "ImageDataGenerator(...)"))
    return found


def _plain_generator(node: cst.BaseExpression | None) -> bool:
    """`ImageDataGenerator(rescale=1./255)`: built with deterministic arguments only."""
    if not (isinstance(node, cst.Call) and terminal_name(node.func) == "ImageDataGenerator") or has_double_star(node):
        return False
    return all(arg.keyword is not None and arg.keyword.value in _DETERMINISTIC
               or arg.keyword is not None and arg.keyword.value == "preprocessing_function" and literal_value(arg.value) is None
               for arg in node.args)
