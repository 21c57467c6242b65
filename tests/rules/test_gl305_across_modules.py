"""GL305 where the padding and the training live in different places (session 8).

Two development-corpus misses (pad-to-max-length labels, blind2 and blind3):
- a data module pads to `max_length` and a script that imports it trains
  (yenhao-huang/sentiment-analysis utils/data_utils.py, imported by finetune.py as
  `from utils import data_utils`; jglo0708/CorruptionFlagger bert_classifier.py, imported by
  functions.py);
- the padding is in a Lightning module's file whose `training_step` a Trainer elsewhere runs.
Shapes written from the labelled code, not copied.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import write_project

from greenlint.config import Settings
from greenlint.runner import lint_files
from greenlint.selection import RuleSelection

DATA_UTILS = """
from transformers import AutoTokenizer

def data_preprocess(raw_data, model_name, text_col):
    tokenizer = AutoTokenizer.from_pretrained(model_name)

    def tokenize(batch):
        return tokenizer(batch[text_col], padding="max_length", truncation=True)

    return raw_data.map(tokenize, batched=True)
"""

FINETUNE = """
from transformers import Trainer, TrainingArguments
from utils import data_utils

def main(raw, model):
    data = data_utils.data_preprocess(raw, "bert-base-uncased", "text")
    Trainer(model=model, args=TrainingArguments("out"), train_dataset=data["train"]).train()
"""

EVALUATE = """
from utils import data_utils

def main(raw, model):
    data = data_utils.data_preprocess(raw, "bert-base-uncased", "text")
    return model(**data["test"][:8])
"""

LIGHTNING_MODULE = """
import pytorch_lightning as pl
from torch.utils.data import Dataset
from transformers import AutoTokenizer

class NoticeDataset(Dataset):
    def __init__(self, texts, max_len):
        self.texts, self.max_len = texts, max_len
        self.tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased")

    def __getitem__(self, i):
        return self.tokenizer.encode_plus(self.texts[i], max_length=self.max_len, padding="max_length", truncation=True)

class Tagger(pl.LightningModule):
    def training_step(self, batch, batch_idx):
        return self(**batch).loss
"""


def gl305(root: Path, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int, str]]:
    monkeypatch.chdir(root)
    settings = Settings(project_root=root, selection=RuleSelection(select=("GL305",), preview=True))
    findings = lint_files(sorted(root.rglob("*.py")), settings, use_cache=False, jobs=1).findings
    return [(f.filename, f.location.row, f.message) for f in findings if f.code == "GL305"]


def test_a_data_module_imported_by_a_training_script(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_project(tmp_path, {"utils/data_utils.py": DATA_UTILS, "finetune.py": FINETUNE})
    found = gl305(tmp_path, monkeypatch)
    assert [(name, row) for name, row, _ in found] == [("utils/data_utils.py", 7)]
    assert "`finetune.py` imports it and trains" in found[0][2]


def test_imported_as_a_plain_module_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_project(tmp_path, {"data_utils.py": DATA_UTILS, "finetune.py": FINETUNE.replace("from utils import data_utils",
                                                                                          "import data_utils")})
    assert [(name, row) for name, row, _ in gl305(tmp_path, monkeypatch)] == [("data_utils.py", 7)]


def test_silent_when_only_an_evaluation_script_imports_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_project(tmp_path, {"utils/data_utils.py": DATA_UTILS, "evaluate.py": EVALUATE})
    assert gl305(tmp_path, monkeypatch) == []


def test_silent_when_a_test_trains_with_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_project(tmp_path, {"utils/data_utils.py": DATA_UTILS, "tests/test_finetune.py": FINETUNE})
    assert gl305(tmp_path, monkeypatch) == []


def test_a_lightning_module_file_trains(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_project(tmp_path, {"bert_classifier.py": LIGHTNING_MODULE})
    assert [(name, row) for name, row, _ in gl305(tmp_path, monkeypatch)] == [("bert_classifier.py", 11)]


def test_silent_when_the_importer_trains_on_a_tpu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # sangHa0411/kor-pegasus (blind4): utils/encoder.py pads to 1024 for a Keras Pegasus on a TPU,
    # where XLA wants static shapes: the labeller judged the padding standard practice there
    tpu_script = FINETUNE.replace("def main(raw, model):", "import tensorflow as tf\n\ndef main(raw, model):")
    write_project(tmp_path, {"utils/data_utils.py": DATA_UTILS, "train.py": tpu_script})
    assert gl305(tmp_path, monkeypatch) == []


def test_a_word_that_contains_tpu_is_no_tpu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # afurkank/vecquery_tune (blind5): `item['output']` is not a TPU run
    script = FINETUNE.replace('data["train"]', 'data["train"].filter(lambda item: "output" in item)')
    write_project(tmp_path, {"utils/data_utils.py": DATA_UTILS, "finetune.py": script})
    assert [(name, row) for name, row, _ in gl305(tmp_path, monkeypatch)] == [("utils/data_utils.py", 7)]
