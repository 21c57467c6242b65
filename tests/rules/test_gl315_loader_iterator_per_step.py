"""GL315: `next(iter(loader))` in the training loop over a DataLoader with worker processes. Written
from the shape of blind44 fxia22/pointnet.pytorch utils/train_classification.py:120 (every 10
training steps `next(enumerate(testdataloader, 0))` over a loader with `num_workers=int(opt.workers)`,
`--workers` defaulting to 4)."""

from __future__ import annotations

import pytest
from rule_helpers import findings

POINTNET = """
    import argparse
    import torch

    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=WORKERS)
    opt = parser.parse_args()
    testdataloader = torch.utils.data.DataLoader(test_dataset, batch_size=32, shuffle=True, num_workers=int(opt.workers)EXTRA)
    for epoch in range(250):
        for i, data in enumerate(dataloader, 0):
            points, target = data
            optimizer.zero_grad()
            loss = classifier(points.cuda()).sum()
            loss.backward()
            optimizer.step()
            GUARD
                j, data = NEXT
"""


def _gl315(workers="4", extra="", guard="if i % 10 == 0:", next_call="next(enumerate(testdataloader, 0))"):
    return findings(POINTNET.replace("WORKERS", workers).replace("EXTRA", extra).replace("GUARD", guard)
                    .replace("NEXT", next_call), "GL315")


def test_gl315_reports_a_rebuilt_iterator_every_few_steps():
    [found] = _gl315()
    assert found.location.row == 16
    assert "every 10 steps" in found.message and "4 worker processes" in found.message and "`--workers` defaults to 4" in found.message


@pytest.mark.parametrize("next_call", ["next(iter(testdataloader))", "next(iter(enumerate(testdataloader)))"])
def test_gl315_every_spelling_of_a_new_iterator(next_call):
    assert len(_gl315(next_call=next_call)) == 1


@pytest.mark.parametrize("change", [
    {"workers": "0"},  # no workers: a new iterator costs microseconds
    {"extra": ", persistent_workers=True"},  # the workers stay up between iterators
    {"guard": "if i % 1000 == 0:"},  # rare
    {"guard": "if args.debug:"},  # not periodic: the user's choice
    {"next_call": "next(test_batches)"},  # an iterator kept from before the loop
], ids=["no-workers", "persistent", "rare", "flag", "kept-iterator"])
def test_gl315_silent_when_the_iterator_is_cheap_or_rare(change):
    assert _gl315(**change) == []
