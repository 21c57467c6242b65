"""GL305's Keras case: `pad_sequences` padding every text to the longest of the corpus. Written from
the shape of blind37 dipanjanS/practical-machine-learning-with-python (notebooks/Ch07..., Sentiment
Analysis - Advanced Deep Learning.ipynb cell 9: `max_len = np.max([len(review) for review in
tokenized_train])`, 1,442 tokens, then `sequence.pad_sequences(train_X, maxlen=max_len)` for an
Embedding + LSTM model)."""

from __future__ import annotations

import pytest
from rule_helpers import findings

IMDB_LSTM = """
    import numpy as np
    from keras.preprocessing import sequence
    from keras.models import Sequential
    from keras.layers import Dense, Embedding, LSTM

    MAXLEN
    train_X = sequence.pad_sequences(train_X, PADDING)
    test_X = sequence.pad_sequences(test_X, PADDING)
    model = Sequential([Embedding(vocab_size, 128), LSTM(64), Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer="adam")
    model.fit(train_X, train_y, epochs=5, validation_split=0.1)
"""


@pytest.mark.parametrize(("maxlen", "padding", "phrase"), [
    ("max_len = np.max([len(review) for review in tokenized_train])", "maxlen=max_len", "the longest text"),
    ("max_len = max(map(len, tokenized_train))", "maxlen=max_len", "the longest text"),
    ("max_len = frame.text.str.len().max()", "max_len", "the longest text"),
    ("", "padding='post'", "no `maxlen`"),
], ids=["np-max", "max-map-len", "pandas-str-len", "no-maxlen"])
def test_gl305_reports_padding_to_the_corpus_maximum_once(maxlen, padding, phrase):
    found = findings(IMDB_LSTM.replace("MAXLEN", maxlen).replace("PADDING", padding), "GL305")
    assert len(found) == 1 and phrase in found[0].message and found[0].location.row == 7  # the training set's call


@pytest.mark.parametrize(("maxlen", "padding"), [
    ("", "maxlen=200"),  # a chosen length
    ("max_len = int(np.percentile([len(r) for r in tokenized_train], 95))", "maxlen=max_len"),
    ("max_len = max(len(label) for label in class_names)", "maxlen=max_len"),  # a label list
])
def test_gl305_silent_for_a_chosen_or_percentile_length(maxlen, padding):
    assert findings(IMDB_LSTM.replace("MAXLEN", maxlen).replace("PADDING", padding), "GL305") == []


def test_gl305_silent_when_the_module_trains_nothing():
    source = IMDB_LSTM.replace("MAXLEN", "").replace("PADDING", "padding='post'").replace(
        'model.fit(train_X, train_y, epochs=5, validation_split=0.1)', "preds = model.predict(test_X)")
    assert findings(source, "GL305") == []
