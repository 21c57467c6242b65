"""GL2xx fixes for the causes found on the development corpus (issue 14): a checkpoint named by a
module constant or an argparse default; GL204 calls a table small only when its size is known and
within the cited benchmark's range, and in a notebook only for a network built after the table."""

from __future__ import annotations

import json

from rule_helpers import ALL, findings, silent

from greenlint.engine import lint_notebook

BERT_LARGE_ON_SST2 = """
    from datasets import load_dataset
    from transformers import AutoModelForSequenceClassification

    CHECKPOINT = "bert-large-uncased"
    raw = load_dataset("glue", "sst2")
    model = AutoModelForSequenceClassification.from_pretrained(CHECKPOINT, num_labels=2)
"""


def test_gl201_reads_the_checkpoint_from_a_module_constant():
    [finding] = findings(BERT_LARGE_ON_SST2, "GL201")
    assert "`bert-large-uncased` (BERT-large" in finding.message
    silent("GL201", BERT_LARGE_ON_SST2.replace('"bert-large-uncased"', '"distilbert-base-uncased"'))


def test_gl201_reads_the_checkpoint_from_an_argparse_default():
    source = """
        import argparse
        from datasets import load_dataset
        from transformers import AutoModelForSequenceClassification

        parser = argparse.ArgumentParser()
        parser.add_argument("--model", default="roberta-large")
        args = parser.parse_args()
        raw = load_dataset("imdb")
        model = AutoModelForSequenceClassification.from_pretrained(args.model, num_labels=2)
    """
    [finding] = findings(source, "GL201")
    assert "`roberta-large`" in finding.message


def test_gl201_a_name_bound_to_two_checkpoints_stays_unknown():
    source = BERT_LARGE_ON_SST2.replace(
        'CHECKPOINT = "bert-large-uncased"', 'CHECKPOINT = "bert-large-uncased"\n    CHECKPOINT = "distilbert-base-uncased"'
    )
    silent("GL201", source)


TORCH_MLP = """
    import torch

    model = torch.nn.Sequential(
        torch.nn.Linear(20, 256), torch.nn.ReLU(),
        torch.nn.Linear(256, 256), torch.nn.ReLU(),
        torch.nn.Linear(256, 1),
    )
    opt = torch.optim.Adam(model.parameters())
    for epoch in range(100):
        loss = model(torch.tensor(X).float()).square().mean()
        loss.backward()
        opt.step()
        opt.zero_grad()
"""


def _csv(read: str) -> str:
    return f"""
    import pandas as pd
    from sklearn.preprocessing import StandardScaler

    df = {read}
    X = StandardScaler().fit_transform(df.drop(columns="label"))
""" + TORCH_MLP


def test_gl204_a_table_of_unknown_size_is_not_called_small():
    silent("GL204", _csv('pd.read_csv("transactions.csv")'))
    silent("GL204", _csv('pd.read_csv("transactions.csv", nrows=900_000)'))
    [finding] = findings(_csv('pd.read_csv("transactions.csv", nrows=5000)'), "GL204")
    assert "`transactions.csv` (at most 5,000 rows read)" in finding.message


def test_gl204_synthetic_tables_use_their_sample_count():
    source = """
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples={n})
"""
    [finding] = findings(source.format(n=2000) + TORCH_MLP, "GL204")
    assert "(2,000 rows)" in finding.message
    silent("GL204", source.format(n=1_000_000) + TORCH_MLP)
    [finding] = findings(source.replace("n_samples={n}", "") + TORCH_MLP, "GL204")
    assert "100 rows by default" in finding.message


def _notebook(*cells: str) -> bytes:
    return json.dumps({
        "cells": [{"cell_type": "code", "source": cell, "metadata": {}, "outputs": [], "execution_count": None}
                  for cell in cells],
        "metadata": {"language_info": {"name": "python"}}, "nbformat": 4, "nbformat_minor": 5,
    }).encode()


def test_gl204_in_a_notebook_the_network_must_come_after_the_table():
    imdb_model = (
        "from tensorflow import keras\n"
        "(x, y), _ = keras.datasets.imdb.load_data(num_words=10000)\n"
        "model = keras.Sequential([keras.layers.Dense(16), keras.layers.Dense(16), keras.layers.Dense(1)])\n"
        "model.compile(loss='binary_crossentropy')\n"
        "model.fit(x, y, epochs=4)\n"
    )
    boston = "(tx, ty), _ = keras.datasets.boston_housing.load_data()\n"
    small_model = (
        "reg = keras.Sequential([keras.layers.Dense(64), keras.layers.Dense(1)])\n"
        "reg.compile(loss='mse')\n"
        "reg.fit(tx, ty, epochs=80)\n"
    )
    # the 3-layer network of an earlier cell is trained on IMDb, not on the Boston table
    assert not [f for f in lint_notebook(_notebook(imdb_model, boston, small_model), "ch04.ipynb", ALL) if f.code == "GL204"]
    deep_model = small_model.replace("[keras.layers.Dense(64), ", "[keras.layers.Dense(64), keras.layers.Dense(64), ")
    found = [f for f in lint_notebook(_notebook(imdb_model, boston, deep_model), "ch04.ipynb", ALL) if f.code == "GL204"]
    assert len(found) == 1 and found[0].extra["cell"] == 3  # cells count from 1 in findings
