"""GL301 and loops that do not repeat a training run (session 8): a Kaggle kernel kept `for ixi in [1]:` from a
cross-validation loop and read its CSV files inside it (venheads/catboost-67-th-place-on-private,
blind6 kernel collection: five false findings, judged "single-iteration loop, read once"). Shapes
written from the judged code, not copied."""

from __future__ import annotations

import textwrap

import pytest

from greenlint.engine import lint_source
from greenlint.rules import ALL_CODES

ALL = frozenset(ALL_CODES)


def gl301_rows(source: str) -> list[int]:
    text = textwrap.dedent(source).lstrip("\n")
    return [f.location.row for f in lint_source(text.encode(), "kernel.py", ALL) if f.code == "GL301"]


ONCE = """
import pandas as pd
from catboost import CatBoostRegressor

for ixi in {loop}:
    train = pd.read_csv("train.csv")
    model = CatBoostRegressor(iterations=1000)
    model.fit(train.drop(columns="y"), train["y"])
"""


@pytest.mark.parametrize("loop", ["[1]", "(0,)", "range(1)", "range(0, 1)", "{'fold'}"])
def test_a_loop_of_one_iteration_repeats_nothing(loop):
    assert gl301_rows(ONCE.format(loop=loop)) == []


@pytest.mark.parametrize("loop", ["[1, 2]", "range(2)", "range(n_folds)", "[*folds]"])
def test_a_loop_of_several_iterations_still_reloads(loop):
    assert gl301_rows(ONCE.format(loop=loop)) == [5]


EPOCHS = """
import torch
from torch.utils import data
from transformers import RobertaConfig

for epoch in range(13):
    loader = {loader}
    config = {config}
    for image, mask in loader:
        loss = model(image.cuda(), mask.cuda())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
"""


def test_a_loader_without_workers_and_a_config_cost_nothing_to_build_again():
    # zdhnarsil/untitiled and viswajithkn/tweet-sentiment-analysis (blind6 kernel collection)
    source = EPOCHS.format(loader="data.DataLoader(train_dataset, batch_size=30, shuffle=True)",
                           config='RobertaConfig.from_pretrained("roberta-base")')
    assert gl301_rows(source) == []


def test_pretrained_weights_are_reported_a_loader_with_workers_is_not():
    # a DataLoader's workers start at iter(loader) every epoch wherever it is built (blind52's
    # judge, Real-Time-Voice-Cloning's vocoder): hoisting the constructor saves nothing
    source = EPOCHS.format(loader="data.DataLoader(train_dataset, batch_size=30, num_workers=4)",
                           config='RobertaModel.from_pretrained("roberta-base")')
    assert gl301_rows(source) == [7]


FOLDS = """
import torch
from torch.utils.data import DataLoader

for fold, (tr_idx, va_idx) in enumerate(skf.split(train)):
    tr_ds = TabDataset(train.iloc[tr_idx])
    te_ds = TabDataset(test)
    model = Net().cuda()
    {optimizer}
    for epoch in range(20):
        for x, y in DataLoader(tr_ds, batch_size=512):
            loss = model(x.cuda()).sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
"""


def test_a_fold_loop_that_starts_a_new_training_run_is_not_a_repetition():
    # lionel509/s5e8-bank-classifier (blind8): the test set's dataset is rebuilt once per fold,
    # where each fold trains a new model with a new optimizer: once per training run
    optimizer = "optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)"
    assert gl301_rows(FOLDS.format(optimizer=optimizer).replace("TabDataset", "torch.load")) == []


def test_a_loop_that_keeps_its_optimizer_still_repeats_the_load():
    source = FOLDS.format(optimizer="pass").replace("TabDataset", "torch.load")
    assert gl301_rows(source) == [6]
