"""GL402 stays silent where the evaluation pass is not worth the change (session 6, dev corpora):
a CPU-only analysis notebook (christianmcb/Deep-Learning-Project@c1e2779
notebooks/modelTesting.ipynb, blind3) and a loop that breaks after one batch to draw it
(rasbt/deeplearning-models@18e0469 autoencoder notebooks, blind2). Shapes written, not copied."""

from __future__ import annotations

from rule_helpers import findings

EVALUATE = """
import torch

model = Net()
model.load_state_dict(torch.load("weights.pt", map_location=DEVICE))
model.eval()
for images, masks in loader:
    preds = model(images)
    scores.append(iou(preds, masks))
"""


def rows(source: str) -> list[int]:
    return [f.location.row for f in findings(source, "GL402")]


def test_gl402_reports_a_gpu_evaluation_pass():
    assert rows(EVALUATE.replace("DEVICE", '"cuda"')) == [7]  # at the forward pass, the line after the loop header


def test_gl402_silent_on_a_module_that_names_only_the_cpu():
    assert rows(EVALUATE.replace("DEVICE", '"cpu"')) == []


def test_gl402_silent_on_a_loop_that_stops_after_one_batch():
    source = EVALUATE.replace("DEVICE", '"cuda"') + "    break\n"
    assert rows(source) == []
