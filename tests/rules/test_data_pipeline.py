"""GL302-GL311 (data pipeline): true positives in several spellings, realistic traps that stay
silent, and before/after tests for every fix."""

from __future__ import annotations

import textwrap

import pytest

from greenlint.engine import LintRequest, lint_source
from greenlint.fixer import fix_request
from greenlint.rules import ALL_CODES

ALL = frozenset(ALL_CODES)


def codes(source: str) -> list[str]:
    source = textwrap.dedent(source).lstrip("\n")
    result = [f.code for f in lint_source(source.encode(), "x.py", ALL)]
    assert "GL001" not in result and "GL000" not in result, result
    return result


def count(source: str, code: str) -> int:
    return codes(source).count(code)


def findings(source: str, code: str):
    source = textwrap.dedent(source).lstrip("\n")
    return [f for f in lint_source(source.encode(), "x.py", ALL) if f.code == code]


def fixed(source: str, code: str, unsafe: bool = True) -> str:
    """The source after applying `code`'s fixes only (other rules' fixes would blur the diff)."""
    source = textwrap.dedent(source).lstrip("\n")
    outcome = fix_request(LintRequest(None, "x.py", source.encode(), frozenset({code})), unsafe=unsafe)  # type: ignore[arg-type]
    return outcome.fixed_text if outcome.fixed_text is not None else source


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def join(*parts: str) -> str:
    """Snippets written at different indentations, each dedented, joined into one module."""
    return "\n".join(textwrap.dedent(part).strip("\n") for part in parts) + "\n"


# ---- GL302 per-example tokenization -----------------------------------------------------------------

HF_HEADER = """
    from datasets import load_dataset
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased")
    raw = load_dataset("imdb")
"""


@pytest.mark.parametrize(
    "body",
    [
        # a module function
        """
        def tokenize(example):
            return tokenizer(example["text"], truncation=True)

        train = raw.map(tokenize)
        """,
        # a lambda, with an explicit batched=False
        """
        train = raw["train"].map(lambda ex: tokenizer(ex["text"]), batched=False)
        """,
        # functools.partial of a function taking the tokenizer as a parameter
        """
        import functools

        def preprocess(example, tok):
            out = tok.encode_plus(example["question"], example["context"])
            out["label"] = example["label"]
            return out

        train = raw.map(functools.partial(preprocess, tok=tokenizer), remove_columns=["text"])
        """,
        # a method of a class, and a tokenizer attribute
        """
        class Prep:
            def __init__(self, name):
                self.tokenizer = AutoTokenizer.from_pretrained(name)

            def _encode(self, row):
                return self.tokenizer(row["sentence"], max_length=128, truncation=True)

            def run(self, ds):
                return ds.map(self._encode)
        """,
    ],
)
def test_gl302_fires_on_unbatched_tokenizing_maps(body):
    assert count(join(HF_HEADER, body), "GL302") == 1


@pytest.mark.parametrize(
    "body",
    [
        # already batched
        """
        train = raw.map(lambda b: tokenizer(b["text"]), batched=True)
        """,
        # the user's choice at run time
        """
        train = raw.map(lambda b: tokenizer(b["text"]), batched=args.batched)
        """,
        # the map does not tokenize
        """
        train = raw.map(lambda ex: {"n_chars": len(ex["text"])})
        """,
        # chat template rendered to text only
        """
        train = raw.map(lambda ex: {"prompt": tokenizer.apply_chat_template(ex["messages"], tokenize=False)})
        """,
        # pandas, not a datasets map
        """
        import pandas as pd

        frame = pd.read_csv("train.csv")
        frame["ids"] = frame["text"].map(lambda text: tokenizer(text)["input_ids"])
        """,
        # options passed through **kwargs
        """
        train = raw.map(lambda b: tokenizer(b["text"]), **map_kwargs)
        """,
    ],
)
def test_gl302_traps_stay_silent(body):
    assert count(join(HF_HEADER, body), "GL302") == 0


def test_gl302_silent_without_the_datasets_library():
    assert count("""
        from torchvision import datasets
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased")
        out = records.map(lambda r: tokenizer(r["text"]))
    """, "GL302") == 0


def test_gl302_fix_adds_batched_when_columns_go_straight_to_the_tokenizer():
    before = join(HF_HEADER, """
        def tokenize(example):
            \"\"\"Tokenize one row.\"\"\"
            return tokenizer(example["text"], truncation=True, max_length=256)

        train = raw.map(tokenize, remove_columns=["text"])
    """)
    after = fixed(before, "GL302")
    assert 'train = raw.map(tokenize, remove_columns=["text"], batched=True)' in after
    assert count(after, "GL302") == 0


def test_gl302_fix_on_a_lambda_replaces_batched_false():
    after = fixed(join(HF_HEADER, """
        train = raw.map(lambda ex: tokenizer(ex["a"], ex["b"], truncation=True), batched=False)
    """), "GL302")
    assert 'raw.map(lambda ex: tokenizer(ex["a"], ex["b"], truncation=True), batched=True)' in after


@pytest.mark.parametrize(
    "body",
    [
        # post-processing after the tokenizer: batched semantics differ
        """
        def tokenize(example):
            out = tokenizer(example["text"])
            out["labels"] = out["input_ids"].copy()
            return out

        train = raw.map(tokenize)
        """,
        # return_tensors changes shapes between one example and a batch
        """
        train = raw.map(lambda ex: tokenizer(ex["text"], return_tensors="pt"))
        """,
        # the text is built from the example first
        """
        train = raw.map(lambda ex: tokenizer("Question: " + ex["q"]))
        """,
    ],
)
def test_gl302_no_fix_when_batched_would_change_the_result(body):
    source = join(HF_HEADER, body)
    found = findings(source, "GL302")
    assert len(found) == 1 and found[0].fix is None


# ---- GL303 tokenization in the training loop -----------------------------------------------------

TOK = """
    import torch
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased")
"""


def test_gl303_fires_in_a_step_loop_inside_an_epoch_loop():
    assert count(join(TOK, """
        for epoch in range(3):
            for batch in loader:
                enc = tokenizer(batch["text"], padding=True, return_tensors="pt").to("cuda")
                loss = model(**enc).loss
                loss.backward()
                optimizer.step()
    """), "GL303") == 1


def test_gl303_fires_in_a_train_epoch_function_called_per_epoch():
    assert count(join(TOK, """
        def train_epoch(model, loader, opt):
            for texts, labels in loader:
                ids = tokenizer.batch_encode_plus(texts, padding=True, return_tensors="pt")
                loss = model(**ids, labels=labels).loss
                loss.backward()
                opt.step()

        for epoch in range(10):
            train_epoch(model, loader, opt)
    """), "GL303") == 1


def test_gl303_fires_in_a_step_function_called_from_the_loops():
    assert count(join(TOK, """
        tok = AutoTokenizer.from_pretrained("gpt2")

        def train_step(batch):
            enc = tok(batch["text"], return_tensors="pt")
            loss = model(**enc).loss
            loss.backward()
            optimizer.step()

        for epoch in range(5):
            for batch in loader:
                train_step(batch)
    """), "GL303") == 1


def test_gl303_fires_in_getitem_of_a_dataset_trained_for_several_epochs():
    found = findings(join(TOK, """
        class TextDataset(torch.utils.data.Dataset):
            def __init__(self, texts, tokenizer):
                self.texts = texts
                self.tokenizer = tokenizer

            def __getitem__(self, i):
                return self.tokenizer(self.texts[i], truncation=True, max_length=128)

        for epoch in range(4):
            for batch in loader:
                loss = model(**batch).loss
                loss.backward()
                optimizer.step()
    """), "GL303")
    assert len(found) == 1 and "TextDataset.__getitem__" in found[0].message


@pytest.mark.parametrize(
    "body",
    [
        # periodic sampling under an `if`
        """
        for epoch in range(3):
            for step, batch in enumerate(loader):
                loss = model(**batch).loss
                loss.backward()
                optimizer.step()
                if step % 100 == 0:
                    probe = tokenizer("The capital of France is", return_tensors="pt")
        """,
        # RL from feedback: the loop generates new text and must tokenize it
        """
        for epoch in range(3):
            for batch in loader:
                out = model.generate(**batch)
                texts = tokenizer.batch_decode(out)
                scores = reward_model(**tokenizer(texts, return_tensors="pt", padding=True)).logits
                loss = -scores.mean()
                loss.backward()
                optimizer.step()
        """,
        # an inference loop: no training
        """
        for epoch in range(3):
            for batch in loader:
                with torch.no_grad():
                    logits = model(**tokenizer(batch["text"], return_tensors="pt")).logits
        """,
        # a single pass over the data
        """
        for batch in loader:
            enc = tokenizer(batch["text"], return_tensors="pt")
            loss = model(**enc).loss
            loss.backward()
            optimizer.step()
        """,
        # decoding is not tokenizing
        """
        for epoch in range(3):
            for batch in loader:
                loss = model(**batch).loss
                loss.backward()
                optimizer.step()
                print(tokenizer.decode(batch["input_ids"][0]))
        """,
    ],
)
def test_gl303_traps_in_loops_stay_silent(body):
    assert count(join(TOK, body), "GL303") == 0


@pytest.mark.parametrize(
    "getitem",
    [
        # on-the-fly augmentation: a random caption each time
        """
            def __getitem__(self, i):
                caption = random.choice(self.captions[i])
                return self.tokenizer(caption, truncation=True)
        """,
        # tokenized once and cached on the dataset
        """
            def __getitem__(self, i):
                if isinstance(self.items[i], str):
                    self.items[i] = self.tokenizer(self.items[i], truncation=True)
                return self.items[i]
        """,
    ],
)
def test_gl303_getitem_traps_stay_silent(getitem):
    source = join(TOK, "import random\n\nclass Captions(torch.utils.data.Dataset):\n" + textwrap.indent(dedent(getitem), "    "), """
        for epoch in range(4):
            for batch in loader:
                loss = model(**batch).loss
                loss.backward()
                optimizer.step()
    """)
    assert count(source, "GL303") == 0


def test_gl303_getitem_silent_when_the_module_does_not_train():
    assert count(join(TOK, """
        class TextDataset(torch.utils.data.Dataset):
            def __getitem__(self, i):
                return self.tokenizer(self.texts[i])
    """), "GL303") == 0


# ---- GL304 slow tokenizer ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        """
        from transformers import AutoTokenizer
        tok = AutoTokenizer.from_pretrained("t5-small", use_fast=False)
        """,
        """
        import transformers
        tok = transformers.AutoTokenizer.from_pretrained(path, subfolder="tokenizer", use_fast=False)
        """,
        """
        from transformers import AutoTokenizer as AT
        tok = AT.from_pretrained("bert-base-uncased", revision="main", use_fast=False)
        """,
        """
        from transformers import pipeline
        clf = pipeline("text-classification", model="distilbert-base-uncased", use_fast=False)
        """,
    ],
)
def test_gl304_fires_on_use_fast_false(source):
    assert count(source, "GL304") == 1


@pytest.mark.parametrize(
    "source",
    [
        """
        from transformers import AutoTokenizer
        tok = AutoTokenizer.from_pretrained("t5-small", use_fast=True)
        """,
        """
        from transformers import AutoTokenizer
        tok = AutoTokenizer.from_pretrained(name, use_fast=not args.use_slow_tokenizer)
        """,
        # image processors also take use_fast; not a tokenizer
        """
        from transformers import AutoImageProcessor
        proc = AutoImageProcessor.from_pretrained("google/vit-base-patch16-224", use_fast=False)
        """,
        # a class of the user's own, not transformers'
        """
        class AutoTokenizer:
            pass
        tok = AutoTokenizer.from_pretrained("x", use_fast=False)
        """,
    ],
)
def test_gl304_traps_stay_silent(source):
    assert count(source, "GL304") == 0


def test_gl304_fix_switches_to_the_fast_tokenizer():
    after = fixed("""
        from transformers import AutoTokenizer
        tok = AutoTokenizer.from_pretrained(
            "t5-small",
            use_fast=False,
        )
    """, "GL304")
    assert after == dedent("""
        from transformers import AutoTokenizer
        tok = AutoTokenizer.from_pretrained(
            "t5-small",
            use_fast=True,
        )
    """)
    assert fixed("""
        from transformers import AutoTokenizer
        tok = AutoTokenizer.from_pretrained("t5-small", use_fast=False)
    """, "GL304", unsafe=False).endswith('use_fast=False)\n')


# ---- GL305 static padding ---------------------------------------------------------------------------

TRAINER = """
    from transformers import AutoTokenizer, Trainer

    tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased")
"""


@pytest.mark.parametrize(
    "body",
    [
        """
        train = raw.map(lambda b: tokenizer(b["text"], padding="max_length", truncation=True), batched=True)
        Trainer(model=model, args=args, train_dataset=train).train()
        """,
        """
        def encode(batch):
            return tokenizer.batch_encode_plus(batch["text"], pad_to_max_length=True, max_length=512)

        trainer = Trainer(model=model, train_dataset=raw.map(encode, batched=True))
        """,
        """
        for epoch in range(3):
            for batch in loader:
                enc = tokenizer(batch["text"], padding='max_length', max_length=256, return_tensors="pt")
                loss = model(**enc).loss
                loss.backward()
                optimizer.step()
        """,
        # `output_dir` contains the letters "tpu": not a TPU signal
        """
        args = TrainingArguments(output_dir="out")
        train = raw.map(lambda b: tokenizer(b["text"], padding="max_length"), batched=True)
        Trainer(model=model, args=args, train_dataset=train).train()
        """,
    ],
)
def test_gl305_fires_on_static_padding_for_training(body):
    assert count(join(TRAINER, body), "GL305") == 1


@pytest.mark.parametrize(
    "source",
    [
        # TPU training wants static shapes
        join(TRAINER, """
        import torch_xla.core.xla_model as xm
        train = raw.map(lambda b: tokenizer(b["text"], padding="max_length"), batched=True)
        Trainer(model=model, args=args, train_dataset=train).train()
        """),
        # Stable Diffusion text encoders use a fixed 77-token context
        join(TRAINER, """
        from diffusers import UNet2DConditionModel
        ids = tokenizer(prompt, padding="max_length", max_length=tokenizer.model_max_length).input_ids
        Trainer(model=model, args=args, train_dataset=train).train()
        """),
        # no training in this module (inference / export)
        """
        from transformers import AutoTokenizer
        tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased")
        enc = tokenizer(texts, padding="max_length", return_tensors="pt")
        print(model(**enc))
        """,
        # dynamic padding already
        join(TRAINER, """
        train = raw.map(lambda b: tokenizer(b["text"], padding="longest"), batched=True)
        Trainer(model=model, args=args, train_dataset=train).train()
        """),
        # the user's choice
        join(TRAINER, """
        padding = "max_length" if args.pad_to_max_length else False
        train = raw.map(lambda b: tokenizer(b["text"], padding=padding), batched=True)
        Trainer(model=model, args=args, train_dataset=train).train()
        """),
    ],
)
def test_gl305_traps_stay_silent(source):
    assert count(source, "GL305") == 0


def test_gl305_fix_pads_batches_tokenized_in_the_loop():
    before = join(TRAINER, """
        for epoch in range(3):
            for batch in loader:
                enc = tokenizer(batch["text"], padding="max_length", truncation=True, return_tensors="pt")
                loss = model(**enc).loss
                loss.backward()
                optimizer.step()
    """)
    after = fixed(before, "GL305")
    assert 'tokenizer(batch["text"], padding=True, truncation=True, return_tensors="pt")' in after
    assert count(after, "GL305") == 0


def test_gl305_no_fix_when_padding_happens_in_preprocessing():
    found = findings(join(TRAINER, """
        train = raw.map(lambda b: tokenizer(b["text"], padding="max_length"), batched=True)
        Trainer(model=model, args=args, train_dataset=train).train()
    """), "GL305")
    assert len(found) == 1 and found[0].fix is None


# ---- GL306 synchronous DataLoader -------------------------------------------------------------------

GPU_LOOP = """
    model = model.cuda()
    for epoch in range(10):
        for x, y in loader:
            loss = criterion(model(x.cuda()), y.cuda())
            loss.backward()
            optimizer.step()
"""

IMAGE_DATASET = """
    import torch
    from PIL import Image
    from torch.utils.data import DataLoader, Dataset

    class Images(Dataset):
        def __init__(self, paths, transform):
            self.paths, self.transform = paths, transform
        def __len__(self):
            return len(self.paths)
        def __getitem__(self, i):
            return self.transform(Image.open(self.paths[i]))
"""


@pytest.mark.parametrize(
    "loader",
    [
        "loader = DataLoader(Images(paths, tf), batch_size=64, shuffle=True)",
        "train_set = Images(paths, tf)\nloader = DataLoader(train_set, batch_size=64, num_workers=0)",
        "import torchvision\nloader = torch.utils.data.DataLoader(torchvision.datasets.ImageFolder('train', transform=tf), 32)",
        (
            "from torchvision import datasets, transforms\n"
            "aug = transforms.Compose([transforms.RandomCrop(32, padding=4), transforms.ToTensor()])\n"
            "loader = DataLoader(datasets.CIFAR10('.', transform=aug), batch_size=128)"
        ),
    ],
)
def test_gl306_fires_on_heavy_datasets_without_workers(loader):
    source = dedent(IMAGE_DATASET) + loader + "\n" + dedent(GPU_LOOP)
    assert count(source, "GL306") == 1


@pytest.mark.parametrize(
    "loader",
    [
        "loader = DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=64)",
        "loader = DataLoader(Images(paths, tf), batch_size=64, num_workers=8)",
        "loader = DataLoader(Images(paths, tf), batch_size=64, num_workers=args.workers)",
        "loader = DataLoader(Images(paths, tf), **loader_kwargs)",
        # no transform at all: nothing is converted per item (a ToTensor-only MNIST is reported, see
        # tests/rules/test_gl3_dev_corpus.py)
        "from torchvision import datasets\nloader = DataLoader(datasets.MNIST('.', transform=None), batch_size=128)",
    ],
)
def test_gl306_traps_stay_silent(loader):
    source = dedent(IMAGE_DATASET) + loader + "\n" + dedent(GPU_LOOP)
    assert count(source, "GL306") == 0


def test_gl306_one_worker_for_the_training_loader():
    """`num_workers=1` (xuebinqin/U-2-Net u2net_train.py, blind33 post hoc): one worker prepares
    every decoded item on one core. Two workers, or one for an evaluation loader, stay silent."""
    one = dedent(IMAGE_DATASET) + "loader = DataLoader(Images(paths, tf), batch_size=12, num_workers=1)\n" + dedent(GPU_LOOP)
    assert count(one, "GL306") == 1
    assert "one worker process" in findings(one, "GL306")[0].message
    assert count(one.replace("num_workers=1", "num_workers=2"), "GL306") == 0
    evaluation = one.replace("loader = DataLoader(", "test_loader = DataLoader(")
    assert count(evaluation, "GL306") == 0


def test_gl306_silent_for_datasets_that_only_index_memory():
    assert count(join("""
        import torch
        from torch.utils.data import DataLoader, Dataset

        class Arrays(Dataset):
            def __init__(self, x):
                self.x = torch.as_tensor(x)
            def __getitem__(self, i):
                return self.x[i]

        loader = DataLoader(Arrays(data), batch_size=64)
    """, GPU_LOOP), "GL306") == 0


def test_gl306_silent_on_cpu_only_and_in_tests():
    cpu_only = dedent(IMAGE_DATASET) + "loader = DataLoader(Images(paths, tf), batch_size=64)\n" + dedent("""
        for epoch in range(10):
            for x, y in loader:
                loss = criterion(model(x), y)
                loss.backward()
                optimizer.step()
    """)
    assert count(cpu_only, "GL306") == 0
    in_test = "import pytest\n" + dedent(IMAGE_DATASET) + "loader = DataLoader(Images(paths, tf))\n" + dedent(GPU_LOOP)
    assert count(in_test, "GL306") == 0


def test_gl306_hf_training_arguments_with_a_heavy_dataset():
    base = dedent("""
        import torch
        from transformers import Trainer, TrainingArguments

        class Texts(torch.utils.data.Dataset):
            def __getitem__(self, i):
                return self.tokenizer(self.texts[i], truncation=True)

    """)
    assert count(base + 'args = TrainingArguments(output_dir="out", bf16=True)\n', "GL306") == 1
    assert count(base + 'args = TrainingArguments(output_dir="out", dataloader_num_workers=4)\n', "GL306") == 0


# ---- GL307 pin memory -----------------------------------------------------------------------------

LOADER_HEAD = """
    import torch
    from torch.utils.data import DataLoader
"""


@pytest.mark.parametrize(
    "loader",
    [
        "loader = DataLoader(train_set, batch_size=128, shuffle=True, num_workers=4)",
        "loader = torch.utils.data.DataLoader(train_set, batch_size=128, num_workers=args.workers, pin_memory=False)",
        "from torch.utils import data\nloader = data.DataLoader(train_set, 128, True, None, None, 8)",
    ],
)
def test_gl307_fires_on_worker_loaders_feeding_the_gpu(loader):
    assert count(dedent(LOADER_HEAD) + loader + "\n" + dedent(GPU_LOOP), "GL307") == 1


def test_gl307_fires_for_lightning_hooks():
    assert count("""
        import lightning as L
        from torch.utils.data import DataLoader

        class Model(L.LightningModule):
            def train_dataloader(self):
                return DataLoader(self.train_set, batch_size=64, num_workers=8)

        L.Trainer(accelerator="gpu", max_epochs=5).fit(Model())
    """, "GL307") == 1


@pytest.mark.parametrize(
    "loader",
    [
        "loader = DataLoader(train_set, batch_size=128, num_workers=4, pin_memory=True)",
        "loader = DataLoader(train_set, batch_size=128, num_workers=4, pin_memory=args.pin_memory)",
        # no workers: GL306's business
        "loader = DataLoader(train_set, batch_size=128)",
        # tensors already on the GPU: pinning would fail
        "loader = DataLoader(torch.utils.data.TensorDataset(X.cuda(), y.cuda()), batch_size=128, num_workers=2)",
        # a collate_fn that moves batches to the GPU
        "loader = DataLoader(train_set, num_workers=2, collate_fn=lambda b: [t.to('cuda') for t in default_collate(b)])",
        "loader = DataLoader(train_set, **loader_kwargs)",
    ],
)
def test_gl307_traps_stay_silent(loader):
    assert count(dedent(LOADER_HEAD) + loader + "\n" + dedent(GPU_LOOP), "GL307") == 0


def test_gl307_silent_when_batches_never_reach_a_gpu():
    assert count(dedent(LOADER_HEAD) + "loader = DataLoader(train_set, num_workers=4)\n" + dedent("""
        for epoch in range(10):
            for x, y in loader:
                loss = criterion(model(x), y)
                loss.backward()
                optimizer.step()
    """), "GL307") == 0


def test_gl307_safe_fix_adds_or_flips_pin_memory():
    after = fixed(dedent(LOADER_HEAD) + "loader = DataLoader(train_set, batch_size=128, num_workers=4)\n" + dedent(GPU_LOOP), "GL307", unsafe=False)
    assert "loader = DataLoader(train_set, batch_size=128, num_workers=4, pin_memory=True)" in after
    after = fixed(dedent(LOADER_HEAD) + "loader = DataLoader(\n    train_set,\n    num_workers=4,\n    pin_memory=False,\n)\n" + dedent(GPU_LOOP), "GL307", unsafe=False)
    assert "loader = DataLoader(\n    train_set,\n    num_workers=4,\n    pin_memory=True,\n)\n" in after
    assert count(after, "GL307") == 0


# ---- GL308 persistent workers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        """
        from torch.utils.data import DataLoader

        loader = DataLoader(train_set, batch_size=64, shuffle=True, num_workers=8)
        for epoch in range(90):
            for x, y in loader:
                loss = criterion(model(x.cuda()), y.cuda())
                loss.backward()
                optimizer.step()
        """,
        """
        import torch

        def make_loader(ds):
            return torch.utils.data.DataLoader(ds, batch_size=32, num_workers=4)

        train_loader = make_loader(train_set)
        for epoch in range(args.epochs):
            train_one_epoch(model, train_loader, optimizer)
        """,
        """
        from torch.utils.data import DataLoader
        import pytorch_lightning as pl

        class Data(pl.LightningDataModule):
            def val_dataloader(self):
                return DataLoader(self.val_set, batch_size=64, num_workers=4)
        """,
        """
        from transformers import TrainingArguments
        args = TrainingArguments(output_dir="out", dataloader_num_workers=4, num_train_epochs=3)
        """,
    ],
)
def test_gl308_fires_when_workers_restart_every_epoch(source):
    assert count(source, "GL308") == 1


@pytest.mark.parametrize(
    "source",
    [
        # already persistent
        """
        from torch.utils.data import DataLoader
        loader = DataLoader(train_set, num_workers=8, persistent_workers=True)
        for epoch in range(90):
            for x in loader:
                step(x)
        """,
        # no workers (persistent_workers=True would even raise)
        """
        from torch.utils.data import DataLoader
        loader = DataLoader(train_set, num_workers=0)
        for epoch in range(90):
            for x in loader:
                step(x)
        """,
        # iterated once
        """
        from torch.utils.data import DataLoader
        loader = DataLoader(test_set, num_workers=4)
        for x in loader:
            predict(x)
        """,
        # rebuilt every epoch anyway (GL301's business)
        """
        from torch.utils.data import DataLoader
        for epoch in range(90):
            loader = DataLoader(make_subset(epoch), num_workers=4)
            for x in loader:
                step(x)
        """,
        # the dataset changes between epochs: persistent workers would keep stale copies
        """
        from torch.utils.data import DataLoader
        loader = DataLoader(train_set, num_workers=4)
        for epoch in range(90):
            train_set.set_epoch(epoch)
            for x in loader:
                step(x)
        """,
        # one epoch only
        """
        from transformers import TrainingArguments
        args = TrainingArguments(output_dir="out", dataloader_num_workers=4, num_train_epochs=1)
        """,
    ],
)
def test_gl308_traps_stay_silent(source):
    assert count(source, "GL308") == 0


def test_gl308_sampler_set_epoch_still_fires():
    assert count("""
        from torch.utils.data import DataLoader
        loader = DataLoader(train_set, sampler=sampler, num_workers=4)
        for epoch in range(90):
            sampler.set_epoch(epoch)
            for x in loader:
                step(x)
    """, "GL308") == 1


def test_gl308_fix_is_unsafe_and_idempotent():
    before = """
        from torch.utils.data import DataLoader
        loader = DataLoader(train_set, batch_size=64, num_workers=8)
        for epoch in range(90):
            for x in loader:
                step(x)
    """
    assert fixed(before, "GL308", unsafe=False) == dedent(before)
    after = fixed(before, "GL308")
    assert "DataLoader(train_set, batch_size=64, num_workers=8, persistent_workers=True)" in after
    assert count(after, "GL308") == 0
    hf = fixed("""
        from transformers import TrainingArguments
        args = TrainingArguments(output_dir="out", dataloader_num_workers=4)
    """, "GL308")
    assert 'dataloader_num_workers=4, dataloader_persistent_workers=True)' in hf


# ---- GL309 loop-invariant host-to-device copy ---------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        """
        import torch
        X = torch.from_numpy(features)
        for epoch in range(500):
            out = model(X.to("cuda"))
            loss = out.sum()
            loss.backward()
            optimizer.step()
        """,
        """
        import torch
        device = torch.device("cuda")
        weights = torch.tensor(class_weights)
        for x, y in loader:
            w = weights.to(device, non_blocking=True)
            loss = torch.nn.functional.cross_entropy(model(x), y, weight=w)
            loss.backward()
            optimizer.step()
        """,
        """
        import torch
        mask = build_mask(seq_len)
        for epoch in range(3):
            for batch in loader:
                loss = model(batch, attn_mask=mask.cuda()).mean()
                loss.backward()
                opt.step()
        """,
    ],
)
def test_gl309_fires_on_invariant_copies(source):
    assert count(source, "GL309") == 1


@pytest.mark.parametrize(
    "source",
    [
        # the batch changes every step
        """
        for x, y in loader:
            x = x.to(device)
            loss = model(x).sum()
            loss.backward()
            optimizer.step()
        """,
        # a module, not a tensor
        """
        for epoch in range(10):
            model.to(device)
            loss = model(X).sum()
            loss.backward()
            optimizer.step()
        """,
        # already created on the GPU: the call copies nothing
        """
        import torch
        noise = torch.randn(64, 128, device="cuda")
        for epoch in range(10):
            loss = model(noise.to(device)).sum()
            loss.backward()
            optimizer.step()
        """,
        # a dtype conversion, not a copy to the GPU
        """
        import torch
        for epoch in range(10):
            loss = model(X.to(torch.float16)).sum()
            loss.backward()
            optimizer.step()
        """,
        # under an `if`: not every iteration
        """
        for step in range(1000):
            if step % 100 == 0:
                probe = X_val.to(device)
            loss = model(next(it)).sum()
            loss.backward()
            optimizer.step()
        """,
        # changed in place inside the loop
        """
        for epoch in range(10):
            X.mul_(0.99)
            loss = model(X.to(device)).sum()
            loss.backward()
            optimizer.step()
        """,
        # an evaluation loop: no training
        """
        for epoch in range(10):
            preds = model(X_test.to(device))
        """,
    ],
)
def test_gl309_traps_stay_silent(source):
    assert count(source, "GL309") == 0


def test_gl309_fix_hoists_the_copy_above_the_outermost_invariant_loop():
    after = fixed("""
        import torch
        device = torch.device("cuda")
        weights = torch.tensor(class_weights)
        for epoch in range(10):
            for x, y in loader:
                w = weights.to(device)
                loss = torch.nn.functional.cross_entropy(model(x), y, weight=w)
                loss.backward()
                optimizer.step()
    """, "GL309")
    assert after == dedent("""
        import torch
        device = torch.device("cuda")
        weights = torch.tensor(class_weights)
        w = weights.to(device)
        for epoch in range(10):
            for x, y in loader:
                loss = torch.nn.functional.cross_entropy(model(x), y, weight=w)
                loss.backward()
                optimizer.step()
    """)
    assert count(after, "GL309") == 0


@pytest.mark.parametrize(
    "source",
    [
        # inline copy: no statement to move
        """
        import torch
        X = torch.from_numpy(features)
        for epoch in range(500):
            loss = model(X.to("cuda")).sum()
            loss.backward()
            optimizer.step()
        """,
        # the GPU copy is changed in place in the loop: hoisting would accumulate the changes
        """
        import torch
        X = torch.from_numpy(features)
        for epoch in range(500):
            Xg = X.to("cuda")
            Xg.add_(torch.randn_like(Xg))
            loss = model(Xg).sum()
            loss.backward()
            optimizer.step()
        """,
    ],
)
def test_gl309_no_fix_when_hoisting_is_not_provably_the_same(source):
    found = findings(source, "GL309")
    assert len(found) == 1 and found[0].fix is None


# ---- GL310 tensor created on the CPU then moved ---------------------------------------------------------

# GL310 looks at training code only: these lines make a module train.
TRAINS = """for x, y in loader:
    loss = model(x).sum()
    loss.backward()
    opt.step()
"""


@pytest.mark.parametrize(
    "line",
    [
        "mask = torch.ones(4, 4).cuda()",
        "buf = torch.zeros(n, dtype=torch.long).to(device)",
        "idx = torch.arange(10).to(self.device, non_blocking=True)",
        "noise = torch.randn(8, 3).to(device=x.device)",
        "eye = torch.eye(3).cuda(0)",
    ],
)
def test_gl310_fires_on_factories_moved_to_the_gpu(line):
    assert count(in_step(line), "GL310") == 1


def in_step(line: str) -> str:
    """`line` on every step of a training loop (GL310 reports only what is built per step)."""
    return "import torch\nfor x, y in loader:\n    " + line + "\n" + "".join(row + "\n" for row in TRAINS.splitlines()[1:])


def forward_of(body: str) -> str:
    """`body` (lines at the left margin) as a model's `forward`, which runs on every step."""
    rows = dedent(body).strip("\n").splitlines()
    return "import torch\nclass M(torch.nn.Module):\n    def forward(self, x):\n" + "".join(
        "        " + row + "\n" for row in rows
    )


@pytest.mark.parametrize(
    "line",
    [
        "half = torch.zeros(4).to(torch.float16)",
        "back = torch.zeros(4).to('cpu')",
        "same = torch.zeros(4).to(other_tensor)",
        "ok = torch.zeros(4, device='cuda')",
        "cpu_first = torch.randn(4, generator=gen).to(device)",
        "pinned = torch.randn(4, device='cpu').to(device)",
        "like = torch.zeros_like(x).cuda()",
        "fmt = torch.empty(2, 3, 4, 4).to(memory_format=torch.channels_last)",
    ],
)
def test_gl310_traps_stay_silent(line):
    assert count(in_step(line), "GL310") == 0


def test_gl310_silent_in_test_modules():
    assert count("import unittest\n" + in_step("mask = torch.ones(4).cuda()"), "GL310") == 0


def test_gl310_silent_outside_training_code():
    # the shape of an inference pipeline's prompt encoding (diffusers `encode_prompt`) and of an
    # ONNX export script's dummy inputs: nothing in the module trains
    assert count("""
        import torch

        class FluxLikePipeline(DiffusionPipeline):
            def encode_prompt(self, prompt, device, dtype):
                prompt_embeds = self.text_encoder(prompt)
                text_ids = torch.zeros(prompt_embeds.shape[1], 3).to(device=device, dtype=dtype)
                return prompt_embeds, text_ids

        def export(unet, device):
            torch.onnx.export(unet, (torch.randn(2, 4, 64, 64).to(device=device),), "unet.onnx")
    """, "GL310") == 0


def test_gl310_fires_in_forward_even_where_the_module_does_not_train():
    # a model file: its forward runs on every step of the script that trains it
    found = findings("""
        import torch

        class PrefixModel(torch.nn.Module):
            def forward(self, input_ids, attention_mask):
                prefix = torch.ones(input_ids.shape[0], self.num_virtual_tokens).to(self.device)
                return self.base(input_ids, torch.cat((prefix, attention_mask), dim=1))
    """, "GL310")
    assert len(found) == 1


def test_gl310_safe_fix_passes_the_device():
    after = fixed(forward_of("""
        a = torch.zeros(3, 4).cuda()
        b = torch.ones(n).to(device, non_blocking=True).float()
        c = torch.full((2,), 7).to(dev, torch.float16)
    """), "GL310", unsafe=False)
    assert after == forward_of("""
        a = torch.zeros(3, 4, device="cuda")
        b = torch.ones(n, device=device).float()
        c = torch.full((2,), 7, device=dev, dtype=torch.float16)
    """)
    assert count(after, "GL310") == 0


def test_gl310_random_and_range_factories_get_unsafe_fixes():
    before = forward_of("""
        r = torch.randn(8).cuda()
        s = torch.arange(0, 1, 0.1).to(device)
        t = torch.zeros(3, requires_grad=True).cuda()
    """)
    assert fixed(before, "GL310", unsafe=False) == dedent(before)
    after = fixed(before, "GL310")
    assert 'r = torch.randn(8, device="cuda")' in after
    assert "s = torch.arange(0, 1, 0.1, device=device)" in after
    assert 't = torch.zeros(3, requires_grad=True, device="cuda")' in after


def test_gl310_no_fix_when_the_factory_sets_a_dtype_and_the_move_converts():
    found = findings(in_step("x = torch.zeros(3, dtype=torch.long).to(device, torch.float32)"), "GL310")
    assert len(found) == 1 and found[0].fix is None


# ---- GL311 tf.data -------------------------------------------------------------------------------------

TF = """
    import tensorflow as tf
"""


@pytest.mark.parametrize(
    "body",
    [
        """
        def load(path, label):
            return tf.numpy_function(read, [path], tf.uint8), label

        ds = tf.data.Dataset.from_tensor_slices((paths, labels)).map(load).batch(32)
        model.fit(ds, epochs=5)
        """,
        """
        ds = tf.data.TFRecordDataset(files)
        ds = ds.map(lambda x: tf.image.random_flip_left_right(parse(x)), num_parallel_calls=None)
        model.fit(ds.batch(64), epochs=5)
        """,
        """
        options = tf.data.Options()
        options.experimental_optimization.map_parallelization = False
        ds = tf.keras.utils.image_dataset_from_directory("train").map(normalize)
        model.fit(ds, epochs=5)
        """,
    ],
)
def test_gl311_fires_on_serial_maps(body):
    assert count(join(TF, body), "GL311") == 1


def test_gl311_fires_on_a_missing_prefetch_when_injection_is_off():
    source = join(TF, """
        options = tf.data.Options()
        options.experimental_optimization.inject_prefetch = False
        ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(1000).batch(64).with_options(options)
        model.fit(ds, epochs=5)
    """)
    assert count(source, "GL311") == 1
    after = fixed(source, "GL311", unsafe=False)
    assert "model.fit(ds.prefetch(tf.data.AUTOTUNE), epochs=5)" in after
    assert count(after, "GL311") == 0


@pytest.mark.parametrize(
    "body",
    [
        # stateless: tf.data parallelises it by itself
        """
        def decode(path):
            return tf.image.resize(tf.io.decode_jpeg(tf.io.read_file(path)), (224, 224))

        ds = tf.data.Dataset.from_tensor_slices(paths).map(decode).batch(32)
        model.fit(ds, epochs=5)
        """,
        # already parallel
        """
        ds = tf.data.Dataset.from_tensor_slices(paths).map(lambda p: tf.py_function(read, [p], tf.uint8), num_parallel_calls=tf.data.AUTOTUNE)
        model.fit(ds, epochs=5)
        """,
        # the user's choice
        """
        ds = tf.data.Dataset.from_tensor_slices(paths).map(lambda p: tf.py_function(read, [p], tf.uint8), num_parallel_calls=cfg.workers)
        model.fit(ds, epochs=5)
        """,
        # no prefetch, but tf.data injects one by default
        """
        ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(1000).batch(64)
        model.fit(ds, epochs=5)
        """,
        # no training in the module
        """
        ds = tf.data.Dataset.from_tensor_slices(paths).map(lambda p: tf.py_function(read, [p], tf.uint8))
        for item in ds:
            print(item)
        """,
        # not tf.data
        """
        import pandas as pd
        frame = pd.read_csv("x.csv")
        frame["y"] = frame["x"].map(lambda v: tf.random.uniform(()))
        model.fit(frame.values, epochs=5)
        """,
    ],
)
def test_gl311_traps_stay_silent(body):
    assert count(join(TF, body), "GL311") == 0


def test_gl311_parallel_calls_fix_is_unsafe():
    before = join(TF, """
        ds = tf.data.Dataset.from_tensor_slices(paths).map(lambda p: tf.py_function(read, [p], tf.uint8))
        model.fit(ds, epochs=5)
    """)
    assert fixed(before, "GL311", unsafe=False) == dedent(before)
    after = fixed(before, "GL311")
    assert "tf.uint8), num_parallel_calls=tf.data.AUTOTUNE)" in after
    assert count(after, "GL311") == 0


def test_gl305_silent_for_short_literal_max_length():
    assert count(join(TRAINER, """
        def encode(batch):
            out = tokenizer(batch["text"], truncation=True)
            out["labels"] = tokenizer(batch["label_text"], max_length=3, padding="max_length")["input_ids"]
            return out

        Trainer(model=model, args=args, train_dataset=raw.map(encode, batched=True)).train()
    """), "GL305") == 0


def test_gl310_silent_in_test_helpers_without_a_test_framework_import():
    assert count(dedent("""
        import torch

        class TransformerTesterConfig:
            def get_dummy_inputs(self):
                return {"mask": torch.ones(2, 8).to(torch_device)}
    """) + TRAINS, "GL310") == 0


def test_gl310_fix_keeps_a_one_argument_per_line_layout():
    after = fixed(forward_of("""
        emb = torch.zeros(
            n_tokens,
            hidden_size,
        ).to(device=self.device)
    """), "GL310")
    assert after == forward_of("""
        emb = torch.zeros(
            n_tokens,
            hidden_size,
            device=self.device,
        )
    """)


# ---- regressions from the whole-repository precision run (docs/precision.md) -------------------------


def test_gl301_silent_when_each_iteration_trains_a_fresh_model():
    # k-fold cross-validation: the pretrained weights are loaded again so that every fold starts
    # from them (the shape of Accelerate's `by_feature/cross_validation.py`)
    assert count("""
        import torch
        from transformers import AutoModelForSequenceClassification

        for fold, (train_idx, valid_idx) in enumerate(folds):
            model = AutoModelForSequenceClassification.from_pretrained("bert-base-cased")
            optimizer = torch.optim.AdamW(params=model.parameters(), lr=lr)
            for epoch in range(3):
                for batch in loaders[fold]:
                    loss = model(**batch).loss
                    loss.backward()
                    optimizer.step()
    """, "GL301") == 0


def test_gl301_still_fires_on_a_frozen_model_reloaded_every_epoch():
    assert count("""
        import torch
        from diffusers import AutoencoderKL

        optimizer = torch.optim.AdamW(unet.parameters())
        for epoch in range(10):
            vae = AutoencoderKL.from_pretrained("sd-vae")
            for batch in loader:
                loss = unet(vae.encode(batch).latent_dist.sample()).mean()
                loss.backward()
                optimizer.step()
    """, "GL301") == 1


def test_gl305_silent_on_labels_padded_to_the_longest_class_label():
    # PEFT seq2seq examples: targets padded to the token length of the longest class name
    assert count("""
        from transformers import AutoTokenizer, Trainer

        classes = [k.replace("_", " ") for k in dataset["train"].features["label"].names]
        target_max_length = max(len(tokenizer(class_label)["input_ids"]) for class_label in classes)

        def preprocess(examples):
            model_inputs = tokenizer(examples["text"], truncation=True)
            labels = tokenizer(examples["text_label"], max_length=target_max_length, padding="max_length", truncation=True)
            model_inputs["labels"] = labels["input_ids"]
            return model_inputs

        Trainer(model=model, args=args, train_dataset=dataset.map(preprocess, batched=True)).train()
    """, "GL305") == 0


def test_gl305_still_fires_on_inputs_padded_to_a_computed_dataset_length():
    assert count("""
        from transformers import Trainer

        max_len = max(len(tokenizer(t)["input_ids"]) for t in dataset["train"]["text"])

        def preprocess(examples):
            return tokenizer(examples["text"], max_length=max_len, padding="max_length", truncation=True)

        Trainer(model=model, args=args, train_dataset=dataset.map(preprocess, batched=True)).train()
    """, "GL305") == 1


def test_gl306_silent_on_intel_cpu_training_with_ipex():
    source = """
        import intel_extension_for_pytorch as ipex
        import torch
        from accelerate import Accelerator
        from PIL import Image

        class TextualInversionDataset(torch.utils.data.Dataset):
            def __getitem__(self, i):
                return Image.open(self.paths[i])

        accelerator = Accelerator()
        loader = torch.utils.data.DataLoader(TextualInversionDataset(), batch_size=4, shuffle=True)
        text_encoder, optimizer = ipex.optimize(text_encoder, optimizer=optimizer, dtype=torch.bfloat16)
        for batch in loader:
            loss = text_encoder(batch).mean()
            accelerator.backward(loss)
            optimizer.step()
    """
    assert count(source, "GL306") == 0
    assert count(source.replace("accelerator = Accelerator()", 'text_encoder.to("cuda")'), "GL306") == 1


def test_gl301_message_names_the_loop_the_load_runs_in_not_the_hoist_target():
    # The load is invariant in both loops, so the fix hoists it before the epoch loop, but it runs
    # on every training step: the message must say so (an earlier version said "every epoch").
    [finding] = findings(
        """
        import torch
        model = torch.nn.Linear(2, 2)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for epoch in range(10):
            for x in range(100):
                table = torch.load("table.pt")
                loss = model(table).sum()
                loss.backward()
                opt.step()
        """,
        "GL301",
    )
    assert "on every training step of `for x in range(100)`" in finding.message
    assert "load it once before `for epoch in range(10)`" in finding.message
