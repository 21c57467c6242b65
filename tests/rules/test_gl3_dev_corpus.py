"""GL3xx fixes from the development corpus (issue 14): each test is written from scratch in the
shape of a miss or a false positive the judged corpus showed, plus the impact every GL3xx rule
declares."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import libcst as cst
import pytest

from greenlint.rules import ALL_RULES
from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.impact import RuleImpact
from rule_helpers import findings

ROOT = Path(__file__).resolve().parents[2]


def join(*parts: str) -> str:
    """Snippets written at different indentations, each dedented, joined into one module."""
    return "\n".join(textwrap.dedent(part).strip("\n") for part in parts) + "\n"


def reports(rule_module: str, source: str):
    """The rule's own reports (with the frequency a finding does not carry yet)."""
    module = __import__(f"greenlint.rules.data_pipeline.{rule_module}", fromlist=["RULE"])
    analysis = ModuleAnalysis.of(cst.parse_module(textwrap.dedent(source).lstrip("\n")))
    return list(module.RULE.check(analysis))


# ---- GL304: slow tokenizer classes --------------------------------------------------------------------

FINETUNE = """
    import transformers
    from transformers import {cls}, LlamaForCausalLM

    def train(base_model="some/llama"):
        model = LlamaForCausalLM.from_pretrained(base_model)
        tokenizer = {cls}.from_pretrained(base_model)
        trainer = transformers.Trainer(model=model, args=transformers.TrainingArguments("out"))
        trainer.train()
"""


@pytest.mark.parametrize("cls", ["LlamaTokenizer", "BertTokenizer", "GPT2Tokenizer", "T5Tokenizer"])
def test_gl304_reports_a_slow_class_that_has_a_fast_twin(cls):
    found = findings(FINETUNE.format(cls=cls), "GL304")
    assert len(found) == 1
    assert f"`{cls}Fast`" in found[0].message and "AutoTokenizer" in found[0].message


@pytest.mark.parametrize("cls", ["LlamaTokenizerFast", "AutoTokenizer", "MarianTokenizer", "CTRLTokenizer"])
def test_gl304_silent_for_fast_classes_and_classes_without_a_fast_twin(cls):
    assert findings(FINETUNE.format(cls=cls), "GL304") == []


def test_gl304_slow_class_silent_in_a_generation_script():
    # a few prompts through a slow tokenizer: nothing trains, tokenisation is negligible
    assert findings("""
        from transformers import LlamaTokenizer, LlamaForCausalLM

        tokenizer = LlamaTokenizer.from_pretrained("some/llama")
        model = LlamaForCausalLM.from_pretrained("some/llama")
        ids = tokenizer("Tell me about alpacas.", return_tensors="pt").input_ids
        print(tokenizer.decode(model.generate(ids)[0]))
    """, "GL304") == []


def test_gl304_use_fast_false_on_a_slow_class_is_one_finding():
    source = FINETUNE.format(cls="LlamaTokenizer").replace(".from_pretrained(base_model)\n        trainer",
                                                          ".from_pretrained(base_model, use_fast=False)\n        trainer")
    found = findings(source, "GL304")
    assert len(found) == 1 and "use_fast=False" in found[0].message


# ---- GL306: in-memory torchvision sets with a transform, random_split, evaluation loaders ------------

GPU_TRAINING = """
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = Net().to(device)
    for epoch in range(5):
        for images, labels in train_loader:
            loss = criterion(model(images.to(device)), labels.to(device))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
"""


def test_gl306_reports_a_to_tensor_only_cifar_loader():
    found = findings(join("""
        import torch
        import torchvision
        import torchvision.transforms as transforms
        from torch.utils.data import DataLoader

        to_tensor = transforms.ToTensor()
        train_set = torchvision.datasets.CIFAR10(root="./data", train=True, download=True, transform=to_tensor)
        train_loader = DataLoader(train_set, batch_size=128, shuffle=True)
    """, GPU_TRAINING), "GL306")
    assert len(found) == 1 and "`CIFAR10`" in found[0].message


def test_gl306_follows_datasets_unpacked_from_random_split():
    found = findings(join("""
        import torch
        from torch.utils.data import DataLoader, random_split
        from torchvision.datasets import MNIST
        import torchvision.transforms as T

        augment = T.Compose([T.RandomCrop(28, padding=2), T.ToTensor()])
        full = MNIST("./data", train=True, download=True, transform=augment)
        train_part, held_out = random_split(full, [55000, 5000])
        train_loader = DataLoader(train_part, 64, shuffle=True)
    """, GPU_TRAINING), "GL306")
    assert len(found) == 1 and "augmentation" in found[0].message


TWO_LOADERS = """
    import torch
    from torch.utils.data import DataLoader
    from torchvision.datasets import MNIST
    from torchvision.transforms import ToTensor

    train_set = MNIST("./data", train=True, transform=ToTensor())
    test_set = MNIST("./data", train=False, transform=ToTensor())
    {loaders}
"""


def test_gl306_reports_the_training_loader_and_not_its_evaluation_twin():
    source = join(TWO_LOADERS.format(loaders=(
        "train_loader = DataLoader(train_set, shuffle=True, batch_size=16)\n"
        "    test_loader = DataLoader(test_set, shuffle=False, batch_size=16)"
    )), GPU_TRAINING)
    found = findings(source, "GL306")
    assert [f.location.row for f in found] == [8]


def test_gl306_reports_an_evaluation_loader_alone_as_every_eval():
    source = join(
        TWO_LOADERS.format(loaders="valid_dl = DataLoader(test_set, batch_size=256)\n    train_loader = cached_loader()"),
        GPU_TRAINING,
    )
    found = reports("gl306_synchronous_dataloader", source)
    assert len(found) == 1
    assert found[0].frequency == "every-eval"
    assert "evaluation DataLoader" in found[0].message and "training process" not in found[0].message


def test_gl306_says_accelerator_on_an_xla_run():
    source = join(TWO_LOADERS.format(loaders="train_loader = DataLoader(train_set, batch_size=16)").replace(
        "import torch\n", "import torch\n    import torch_xla.core.xla_model as xm\n", 1
    ), GPU_TRAINING)
    found = findings(source, "GL306")
    assert len(found) == 1
    assert "the accelerator waits" in found[0].message and "GPU waits" not in found[0].message


# ---- GL302: Python tokenizers, per-string comprehensions ----------------------------------------------

def test_gl302_silent_for_a_torchtext_tokenizer_passed_through_fn_kwargs():
    assert findings("""
        import datasets
        import torchtext

        train_data = datasets.load_dataset("imdb", split="train")
        tokenizer = torchtext.data.utils.get_tokenizer("basic_english")

        def tokenize_example(example, tokenizer, max_length):
            return {"tokens": tokenizer(example["text"])[:max_length]}

        train_data = train_data.map(tokenize_example, fn_kwargs={"tokenizer": tokenizer, "max_length": 256})
    """, "GL302") == []


def test_gl302_still_reports_a_hf_tokenizer_passed_through_fn_kwargs():
    found = findings("""
        import datasets
        from transformers import AutoTokenizer

        train_data = datasets.load_dataset("imdb", split="train")
        tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased")

        def tokenize_example(example, tokenizer):
            return tokenizer(example["text"], truncation=True)

        train_data = train_data.map(tokenize_example, fn_kwargs={"tokenizer": tokenizer})
    """, "GL302")
    assert len(found) == 1


def test_gl302_reports_a_tokenizer_called_once_per_string_in_a_comprehension():
    found = findings("""
        import transformers

        def encode_all(texts, tokenizer: transformers.PreTrainedTokenizer):
            encoded = [
                tokenizer(
                    text,
                    return_tensors="pt",
                    truncation=True,
                )
                for text in texts
            ]
            return [item.input_ids[0] for item in encoded]
    """, "GL302")
    assert len(found) == 1
    assert found[0].location.row == 5 and "one call" in found[0].message


@pytest.mark.parametrize(
    "element",
    [
        "tokenizer.tokenize(text)",  # tokens, no batch form
        "scorer._tokenizer(text)",  # another library's helper object
        "tokenizer(prefix + text)",  # not the loop variable itself
        "tokenizer.apply_chat_template(text, tokenize=True)",  # a conversation per item
    ],
)
def test_gl302_comprehension_traps_stay_silent(element):
    assert findings(f"""
        def encode_all(texts, tokenizer, scorer, prefix):
            return [{element} for text in texts]
    """, "GL302") == []


def test_gl302_comprehension_silent_for_a_spacy_tokenizer():
    assert findings("""
        import spacy

        tokenizer = spacy.load("en_core_web_sm").tokenizer
        docs = [tokenizer(text) for text in texts]
    """, "GL302") == []


# ---- GL310: once per run, per epoch, per step; Tensor(np.ones(...)) -----------------------------------

def test_gl310_silent_for_a_dummy_forward_before_the_epochs():
    assert findings("""
        import torch
        from config import DEVICE

        def train(model, loader, optimizer):
            model.to(DEVICE)
            probe = torch.randn((2, 3, 64, 64)).to(DEVICE)
            model(probe)
            for epoch in range(10):
                for x, y in loader:
                    loss = model(x.to(DEVICE)).sum()
                    loss.backward()
                    optimizer.step()
    """, "GL310") == []


@pytest.mark.parametrize(
    ("where", "frequency"),
    [
        ("epoch", None),  # once per epoch: one small copy, not reported (session 6)
        ("step", "every-step"),
    ],
)
def test_gl310_reports_how_often_the_tensor_is_built(where, frequency):
    epoch_line = "        weights = torch.ones(10).to(device)\n" if where == "epoch" else ""
    step_line = "            weights = torch.ones(10).to(device)\n" if where == "step" else ""
    source = (
        "import torch\n"
        "device = 'cuda'\n"
        "def train(model, loader, optimizer):\n"
        "    for epoch in range(10):\n"
        + epoch_line
        + "        for x, y in loader:\n"
        + step_line
        + "            loss = (model(x.to(device)) * weights).sum()\n"
        "            loss.backward()\n"
        "            optimizer.step()\n"
    )
    found = reports("gl310_tensor_created_on_cpu_then_moved", source)
    assert [r.frequency for r in found] == ([frequency] if frequency else [])


GAN_LOOP = """
    import numpy as np
    import torch
    from torch.autograd import Variable

    cuda = torch.cuda.is_available()
    Tensor = {tensor}

    for epoch in range(200):
        for i, batch in enumerate(dataloader):
            real = Variable(batch["A"].type(Tensor))
            valid = Variable(Tensor(np.ones((real.size(0), *D.output_shape))), requires_grad=False)
            optimizer_G.zero_grad()
            loss = criterion(D(G(real)), valid)
            loss.backward()
            optimizer_G.step()
"""


def test_gl310_reports_numpy_arrays_copied_by_a_cuda_tensor_type_every_step():
    found = findings(GAN_LOOP.format(tensor="torch.cuda.FloatTensor if cuda else torch.Tensor"), "GL310")
    assert len(found) == 1
    assert found[0].location.row == 11 and "np.ones" in found[0].message and "torch.ones(..., device=...)" in found[0].message


@pytest.mark.parametrize("tensor", ["torch.FloatTensor", "torch.Tensor"])
def test_gl310_silent_when_the_tensor_type_is_a_cpu_one(tensor):
    assert findings(GAN_LOOP.format(tensor=tensor), "GL310") == []


def test_gl310_numpy_constructor_outside_the_step_is_silent():
    source = GAN_LOOP.format(tensor="torch.cuda.FloatTensor").replace(
        "for epoch in range(200):", "ones = Variable(Tensor(np.ones((64, 1))))\n    for epoch in range(200):"
    )
    found = findings(source, "GL310")
    assert [f.location.row for f in found] == [12]


# ---- GL301, GL305: frequency and wording ---------------------------------------------------------------

def test_gl301_frequency_follows_the_innermost_loop():
    source = """
        import torch

        for epoch in range(10):
            for x, y in loader:
                table = torch.load("lookup.pt")
                loss = model(x, table).sum()
                loss.backward()
                optimizer.step()
    """
    module = __import__("greenlint.rules.data_pipeline.gl301_loop_invariant_loading", fromlist=["RULE"])
    found = list(module.RULE.check(ModuleAnalysis.of(cst.parse_module(textwrap.dedent(source)))))
    assert [r.frequency for r in found] == ["every-step"]


def test_gl305_message_does_not_call_every_pass_a_training_step():
    found = findings("""
        from transformers import AutoTokenizer
        tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased")
        for epoch in range(3):
            for texts, labels in loader:
                batch = tokenizer(texts, padding="max_length", max_length=512, return_tensors="pt")
                loss = model(**batch, labels=labels).loss
                loss.backward()
                optimizer.step()
    """, "GL305")
    assert len(found) == 1 and "every forward pass" in found[0].message


# ---- impact declarations ------------------------------------------------------------------------------

GL3_RULES = [rule for rule in ALL_RULES if rule.code.startswith("GL3")]
EVIDENCE_ANCHORS = set(re.findall(r'<a id="([a-z0-9-]+)"></a>', (ROOT / "docs" / "evidence.md").read_text(encoding="utf-8")))


def test_every_gl3_rule_declares_its_impact_in_the_impacts_module():
    from greenlint.rules.data_pipeline import impacts

    assert len(GL3_RULES) >= 11
    for rule in GL3_RULES:
        assert "impact" in type(rule).__dict__, f"{rule.code} does not declare `impact`"
        assert rule.impact is getattr(impacts, f"{rule.code}_IMPACT")


@pytest.mark.parametrize("rule", [r for r in GL3_RULES if r.impact is not None], ids=lambda r: r.code)
def test_declared_sizes_cite_an_existing_evidence_anchor(rule):
    impact = rule.impact
    assert isinstance(impact, RuleImpact)
    cited = re.findall(r"docs/evidence\.md#([a-z0-9-]+)", impact.size.basis)
    assert cited and set(cited) <= EVIDENCE_ANCHORS, impact.size.basis


def test_rules_without_a_quantified_source_declare_none():
    unquantified = {rule.code for rule in GL3_RULES if all(e.confidence == "unquantified" for e in rule.evidence)}
    for rule in GL3_RULES:
        if rule.code in unquantified:
            assert rule.impact is None, rule.code


# ---- GL307: training in another module, in-memory tensors ----------------------------------------------

DETR_LIKE_MAIN = """
    import argparse
    import torch
    from torch.utils.data import DataLoader
    from engine import train_one_epoch

    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--num_workers", default=2, type=int)
    args = parser.parse_args()
    device = torch.device(args.device)
    model.to(device)
    loader = DataLoader(train_set, batch_size=2, num_workers=args.num_workers)
    for epoch in range(300):
        train_one_epoch(model, criterion, loader, optimizer, device, epoch)
"""


def _lint_with_context(source: str, context):
    from greenlint.engine import lint_source
    from greenlint.rules import ALL_CODES

    text = textwrap.dedent(source).lstrip("\n").encode()
    return [f for f in lint_source(text, "main.py", frozenset(ALL_CODES), context) if f.code == "GL307"]


def test_gl307_reports_a_loader_handed_to_a_training_loop_of_another_module():
    from greenlint.rules.project_context import ProjectContext

    context = ProjectContext(
        local_modules=frozenset({"engine"}),
        loop_functions=frozenset({"engine.train_one_epoch"}),
        extra_words="backward( step(",  # what the project index adds for an imported training function
    )
    found = _lint_with_context(DETR_LIKE_MAIN, context)
    assert [f.location.row for f in found] == [12]


def test_gl307_silent_when_the_called_function_is_not_known_to_train():
    from greenlint.rules.project_context import ProjectContext

    # the same words reach the prefilter; only the fact that `train_one_epoch` trains is missing
    context = ProjectContext(local_modules=frozenset({"engine"}), extra_words="backward( step(")
    assert _lint_with_context(DETR_LIKE_MAIN, context) == []


def test_gl307_silent_for_in_memory_tensor_datasets():
    assert findings("""
        import torch
        from torch.utils.data import DataLoader, TensorDataset

        device = torch.device("cuda")
        features = torch.tensor(frame.values, dtype=torch.float32)
        train_loader = DataLoader(TensorDataset(features, targets), batch_size=64, shuffle=True, num_workers=4)
        for epoch in range(50):
            for x, y in train_loader:
                x, y = x.to(device), y.to(device)
                loss = criterion(model(x), y)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
    """, "GL307") == []


# ---- GL302: alternatives and one-off notebooks ----------------------------------------------------------

BRANCHES = """
    from datasets import load_dataset
    from transformers import AutoTokenizer, Trainer

    tokenizer = AutoTokenizer.from_pretrained("some/llama")
    data = load_dataset("json", data_files="alpaca.json")

    def tokenize_prompt(point):
        return tokenizer(point["instruction"] + point["output"], truncation=True)

    if val_set_size > 0:
        split = data["train"].train_test_split(test_size=val_set_size)
        train_data = split["train"].shuffle().map(tokenize_prompt)
        val_data = split["test"].shuffle().map(tokenize_prompt)
    {other}:
        train_data = data["train"].shuffle().map(tokenize_prompt)
        val_data = None
    Trainer(model=model, train_dataset=train_data, eval_dataset=val_data).train()
"""


@pytest.mark.parametrize("other", ["else", "elif use_all"])
def test_gl302_reports_the_first_of_mutually_exclusive_branches_only(other):
    found = findings(BRANCHES.format(other=other), "GL302")
    assert [f.location.row for f in found] == [12, 13]


def test_gl302_reports_maps_in_separate_ifs():
    source = BRANCHES.format(other="if not val_set_size")
    assert [f.location.row for f in findings(source, "GL302")] == [12, 13, 15]


def _notebook(*cells: str) -> bytes:
    import json

    return json.dumps({
        "cells": [{"cell_type": "code", "metadata": {}, "source": textwrap.dedent(c).lstrip("\n"), "outputs": [], "execution_count": None} for c in cells],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5,
    }).encode()


LOOK_AT_LENGTHS = (
    """
    from datasets import load_dataset
    from transformers import AutoTokenizer
    tokenizer = AutoTokenizer.from_pretrained("some/llama")
    data = load_dataset("json", data_files="alpaca.json")
    """,
    """
    def tokenize(point):
        return tokenizer(point["instruction"] + point["output"])
    data = data.map(tokenize)
    """,
)


def _notebook_findings(*cells: str):
    from greenlint.engine import lint_notebook
    from greenlint.rules import ALL_CODES

    return [f for f in lint_notebook(_notebook(*cells), "lengths.ipynb", frozenset(ALL_CODES)) if f.code == "GL302"]


def test_gl302_silent_in_a_notebook_that_only_looks_at_the_tokenized_data():
    assert _notebook_findings(*LOOK_AT_LENGTHS, "lengths = [len(x['input_ids']) for x in data['train']]") == []


@pytest.mark.parametrize("keep", ["data.save_to_disk('tokenized')", "Trainer(model=model, train_dataset=data['train']).train()"])
def test_gl302_reports_in_a_notebook_that_keeps_or_trains_on_the_tokenized_data(keep):
    cells = list(LOOK_AT_LENGTHS)
    cells[0] = cells[0].replace("import AutoTokenizer", "import AutoTokenizer, Trainer")
    assert len(_notebook_findings(*cells, keep)) == 1


# ---- GL308: the epoch count scales the impact ------------------------------------------------------------

def _gl308(epochs_header: str):
    return reports("gl308_persistent_workers_missing", f"""
        from torch.utils.data import DataLoader
        loader = DataLoader(train_set, batch_size=64, shuffle=True, num_workers=4)
        for epoch in {epochs_header}:
            for x, y in loader:
                loss = model(x.cuda()).sum()
                loss.backward()
                optimizer.step()
    """)


def test_gl308_scales_a_short_run_by_the_avoidable_start_ups():
    found = _gl308("range(4)")
    assert len(found) == 1
    assert found[0].scale is not None and found[0].scale.factor == pytest.approx(0.75)
    assert "3 of the 4" in found[0].scale.reason


def test_gl308_silent_for_a_single_epoch_and_unscaled_for_an_unknown_count():
    assert _gl308("range(1)") == []
    found = _gl308("range(args.epochs)")
    assert len(found) == 1 and found[0].scale is None


def test_gl308_trainer_default_of_three_epochs_is_scaled():
    found = reports("gl308_persistent_workers_missing", """
        from transformers import TrainingArguments
        args = TrainingArguments("out", dataloader_num_workers=4)
    """)
    assert len(found) == 1 and found[0].scale.factor == pytest.approx(2 / 3)


# ---- GL306/GL307: loaders built in one module, trained with in another -----------------------------------

CONFIG = 'import torch\nDEVICE = "cuda" if torch.cuda.is_available() else "cpu"\nNUM_WORKERS = 2\n'
LOADERS = """
    from torch.utils.data import DataLoader
    from data_pipeline.dataset import VolumeDataset
    import config

    train_loader = DataLoader(
        VolumeDataset(train_ids),
        batch_size=16,
        num_workers=config.NUM_WORKERS,
        pin_memory=False,
    )
    eval_loader = DataLoader(VolumeDataset(val_ids), batch_size=16)
"""
TRAIN = """
    import torch
    import config
    from data_pipeline.data_loader import train_loader{also}

    def train_one_epoch(model, loader, optimizer):
        for x, y in loader:
            x, y = x.to(config.DEVICE), y.to(config.DEVICE)
            loss = torch.nn.functional.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
"""


def _project(tmp_path, train: str, config: str = CONFIG):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (tmp_path / "data_pipeline").mkdir()
    (tmp_path / "data_pipeline" / "__init__.py").write_text("")
    (tmp_path / "data_pipeline" / "data_loader.py").write_text(textwrap.dedent(LOADERS).lstrip("\n"))
    (tmp_path / "config.py").write_text(config)
    (tmp_path / "train.py").write_text(textwrap.dedent(train).lstrip("\n"))
    return tmp_path / "data_pipeline" / "data_loader.py"


def _project_findings(path, codes=("GL306", "GL307")):
    from greenlint.engine import lint_source
    from greenlint.project_index import ProjectIndex
    from greenlint.rules import ALL_CODES

    text = path.read_text()
    context = ProjectIndex(path.parents[1]).context_for(path, text)
    return [f for f in lint_source(text.encode(), str(path), frozenset(ALL_CODES), context) if f.code in codes]


def test_gl307_reports_pin_memory_false_on_a_loader_another_module_trains_with_on_the_gpu(tmp_path):
    found = _project_findings(_project(tmp_path, TRAIN.format(also="")))
    assert [(f.code, f.location.row) for f in found] == [("GL307", 9)]
    assert "`train.py` trains with it on a CUDA device" in found[0].message


def test_gl307_silent_when_the_importing_module_names_no_cuda_device(tmp_path):
    path = _project(tmp_path, TRAIN.format(also=""), config='DEVICE = "cpu"\nNUM_WORKERS = 2\n')
    assert _project_findings(path) == []


def test_gl307_silent_when_the_importing_module_does_not_train(tmp_path):
    plot = "import config\nfrom data_pipeline.data_loader import train_loader\nprint(len(train_loader), config.DEVICE)\n"
    assert _project_findings(_project(tmp_path, plot)) == []


def test_gl306_reports_a_worker_less_loader_another_module_trains_with(tmp_path):
    dataset = (
        "import nibabel\nfrom torch.utils.data import Dataset\n\nclass VolumeDataset(Dataset):\n"
        "    def __init__(self, ids):\n        self.ids = ids\n"
        "    def __len__(self):\n        return len(self.ids)\n"
        "    def __getitem__(self, i):\n        return nibabel.load(self.ids[i]).get_fdata()\n"
    )
    path = _project(tmp_path, TRAIN.format(also=", eval_loader"))
    loaders = path.read_text().replace("from data_pipeline.dataset import VolumeDataset\n", "")
    path.write_text(dataset + loaders)
    found = _project_findings(path, ("GL306",))
    assert len(found) == 1 and "evaluation DataLoader" in found[0].message and "`train.py` trains with it" in found[0].message


def test_gl301_an_epoch_level_load_keeps_the_declared_frequency():
    source = """
        import torch

        for epoch in range(10):
            table = torch.load("lookup.pt")
            for x, y in loader:
                loss = model(x, table).sum()
                loss.backward()
                optimizer.step()
    """
    module = __import__("greenlint.rules.data_pipeline.gl301_loop_invariant_loading", fromlist=["RULE"])
    found = list(module.RULE.check(ModuleAnalysis.of(cst.parse_module(textwrap.dedent(source)))))
    assert len(found) == 1 and found[0].frequency is None and module.RULE.impact.frequency == "run-wide"
