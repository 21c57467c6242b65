"""GL202-GL206: true positives in several spellings, realistic traps that must stay silent, fixes."""

from __future__ import annotations

import textwrap

import pytest
from greenlint.engine import LintRequest, lint_source
from greenlint.fixer import fix_request
from greenlint.rules import ALL_CODES
from greenlint.rules.analysis.model_choice_facts import checkpoint_size

ALL = frozenset(ALL_CODES)


def src(*parts: str) -> str:
    """Snippets written at different indentations, each dedented, joined into one module."""
    return "\n".join(textwrap.dedent(part).strip("\n") for part in parts) + "\n"


def codes(source: str) -> list[str]:
    source = textwrap.dedent(source).lstrip("\n")
    result = [f.code for f in lint_source(source.encode(), "x.py", ALL)]
    assert "GL001" not in result and "GL000" not in result, result
    return result


def fixed(source: str) -> str:
    source = textwrap.dedent(source).lstrip("\n")
    outcome = fix_request(LintRequest(None, "x.py", source.encode(), ALL), unsafe=True)  # type: ignore[arg-type]
    return outcome.fixed_text if outcome.fixed_text is not None else source


@pytest.mark.parametrize(
    ("name", "size"),
    [
        ("distilbert-base-uncased", "small"), ("bert-base-cased", "small"), ("gpt2", "small"),
        ("sentence-transformers/all-MiniLM-L6-v2", "small"), ("t5-small", "small"),
        ("roberta-large", "large"), ("meta-llama/Llama-3.1-8B-Instruct", "large"), ("Qwen/Qwen2.5-0.5B", "large"),
        ("gpt2-medium", "large"), ("google/flan-t5-xl", "large"), ("my-org/my-model", None), ("gemini-ish", None),
    ],
)
def test_checkpoint_size(name, size):
    assert checkpoint_size(name) == size


# ---- GL202 generative-llm-for-closed-label-task ----------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        # pipeline with a closed-label prompt in an f-string
        """
        from transformers import pipeline

        llm = pipeline("text-generation", model="mistralai/Mistral-7B-Instruct-v0.3")
        for text in texts:
            out = llm(f"Classify the sentiment of: {text}. Answer with positive or negative.")
        """,
        # causal LM + generate, label list + short generation, checkpoint via a variable
        """
        from transformers import AutoModelForCausalLM, AutoTokenizer

        model_id = "meta-llama/Llama-3.1-8B-Instruct"
        model = AutoModelForCausalLM.from_pretrained(model_id)
        labels = ["sports", "politics", "business", "science"]
        for row in rows:
            ids = tok(row, return_tensors="pt")
            out = model.generate(**ids, max_new_tokens=5)
        """,
        # an unknown causal LM, yes/no question
        """
        import transformers

        model = transformers.AutoModelForCausalLM.from_pretrained(args.model)
        PROMPT = "Is this ticket about billing? Classify it and answer yes or no.\\n{ticket}"
        answers = [model.generate(**tok(PROMPT.format(ticket=t), return_tensors="pt")) for t in tickets]
        """,
        # vLLM
        """
        from vllm import LLM, SamplingParams

        llm = LLM(model="Qwen/Qwen2.5-7B-Instruct")
        prompts = [f"Which category fits this product: {p}? Respond with only the category name." for p in products]
        outputs = llm.generate(prompts, SamplingParams(max_tokens=4))
        """,
        # Ollama
        """
        import ollama

        for review in reviews:
            reply = ollama.chat(model="llama3", messages=[{"role": "user", "content": "Classify as positive, negative or neutral: " + review}])
        """,
    ],
)
def test_gl202_fires(source):
    assert codes(source).count("GL202") == 1


@pytest.mark.parametrize(
    "source",
    [
        # open-ended generation
        """
        from transformers import pipeline

        llm = pipeline("text-generation", model="meta-llama/Llama-3.1-8B-Instruct")
        story = llm("Write a short story about a robot.", max_new_tokens=400)
        """,
        # already a classifier
        """
        from transformers import pipeline

        clf = pipeline("text-classification", model="distilbert-base-uncased-finetuned-sst-2-english")
        print(clf("I loved it. Classify: positive or negative"))
        """,
        # zero-shot NLI, the recommended alternative
        """
        from transformers import pipeline

        clf = pipeline("zero-shot-classification", model="facebook/bart-large-mnli")
        clf("one of the labels", candidate_labels=["positive", "negative"])
        """,
        # a small seq2seq model in T5 text-to-text style
        """
        from transformers import AutoModelForSeq2SeqLM

        model = AutoModelForSeq2SeqLM.from_pretrained("t5-small")
        classes = ["positive", "negative"]
        preds = model.generate(**batch, max_new_tokens=3)
        """,
        # a label list but long generation (a summariser that also has labels)
        """
        from transformers import AutoModelForCausalLM

        model = AutoModelForCausalLM.from_pretrained("meta-llama/Llama-3.1-8B")
        label_names = ["A", "B"]
        out = model.generate(**batch, max_new_tokens=256)
        """,
        # tiny known-small causal LM
        """
        from transformers import pipeline

        gen = pipeline("text-generation", model="gpt2")
        gen("Classify the sentiment, answer with one word: positive or negative. Text: great")
        """,
        # a test module
        """
        import pytest
        from transformers import AutoModelForCausalLM

        def test_prompt():
            model = AutoModelForCausalLM.from_pretrained(MODEL)
            model.generate(tok("classify into positive or negative", return_tensors="pt").input_ids)
        """,
    ],
)
def test_gl202_silent(source):
    assert "GL202" not in codes(source)


# ---- GL203 training-from-scratch-when-pretrained-exists --------------------------------------

VISION_LOOP = """
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for x, y in loader:
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
"""


@pytest.mark.parametrize(
    "source",
    [
        src("""
        import torch
        import torchvision

        data = torchvision.datasets.ImageFolder("data/train")
        model = torchvision.models.resnet50(weights=None)
        """, VISION_LOOP),
        src("""
        import torch
        from torchvision import models, transforms

        tf = transforms.Compose([transforms.Resize((256, 256)), transforms.ToTensor()])
        model = models.efficientnet_b0(pretrained=False, num_classes=12)
        """, VISION_LOOP),
        src("""
        import torch
        import timm
        from torchvision.datasets import Flowers102

        train = Flowers102("data", split="train")
        model = timm.create_model("convnext_tiny", num_classes=102)
        """, VISION_LOOP),
        """
        import tensorflow as tf

        train = tf.keras.utils.image_dataset_from_directory("photos", image_size=(224, 224))
        model = tf.keras.applications.MobileNetV2(weights=None, classes=5)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.fit(train, epochs=50)
        """,
        """
        from datasets import load_dataset
        from transformers import AutoConfig, AutoModelForSequenceClassification, Trainer

        raw = load_dataset("imdb")
        config = AutoConfig.from_pretrained("bert-base-uncased", num_labels=2)
        model = AutoModelForSequenceClassification.from_config(config)
        Trainer(model=model, args=args, train_dataset=raw["train"]).train()
        """,
    ],
)
def test_gl203_fires(source):
    assert codes(source).count("GL203") == 1


@pytest.mark.parametrize(
    "source",
    [
        # CIFAR-10 baseline from scratch: 32x32 data is GL201's business, pretraining helps less
        src("""
        import torch
        import torchvision

        train = torchvision.datasets.CIFAR10("data", download=True)
        model = torchvision.models.resnet18(weights=None, num_classes=10)
        """, VISION_LOOP),
        # ImageNet training from scratch produces the pretrained weights
        src("""
        import torch
        import torchvision

        train = torchvision.datasets.ImageFolder("/datasets/imagenet/train")
        model = torchvision.models.resnet50()
        """, VISION_LOOP),
        # self-supervised pre-training (SimCLR)
        src("""
        import torch
        import torchvision

        # SimCLR: contrastive pre-training on unlabeled images
        train = torchvision.datasets.ImageFolder("unlabeled")
        model = torchvision.models.resnet18(weights=None)
        """, VISION_LOOP),
        # a --pretrained switch
        src("""
        import torch
        import torchvision

        train = torchvision.datasets.ImageFolder("data")
        if args.pretrained:
            model = torchvision.models.resnet50(weights="DEFAULT")
        else:
            model = torchvision.models.resnet50(weights=None)
        """, VISION_LOOP),
        # weights loaded from a checkpoint afterwards
        src("""
        import torch
        import torchvision

        train = torchvision.datasets.ImageFolder("data")
        model = torchvision.models.resnet50(weights=None)
        model.load_state_dict(torch.load("ckpt.pt"))
        """, VISION_LOOP),
        # from_config as the fallback of from_pretrained (run_glue style)
        """
        from datasets import load_dataset
        from transformers import AutoModelForSequenceClassification, Trainer

        raw = load_dataset("glue", "sst2")
        if args.model_name_or_path:
            model = AutoModelForSequenceClassification.from_pretrained(args.model_name_or_path)
        else:
            model = AutoModelForSequenceClassification.from_config(config)
        Trainer(model=model, train_dataset=raw["train"]).train()
        """,
        # pretraining a causal LM from scratch is not a downstream task
        """
        from datasets import load_dataset
        from transformers import AutoConfig, AutoModelForCausalLM, Trainer

        raw = load_dataset("imdb")
        model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained("gpt2"))
        Trainer(model=model, train_dataset=raw["train"]).train()
        """,
        # built but not trained here
        """
        import torchvision

        data = torchvision.datasets.ImageFolder("data")
        model = torchvision.models.resnet50(weights=None)
        print(sum(p.numel() for p in model.parameters()))
        """,
    ],
)
def test_gl203_silent(source):
    assert "GL203" not in codes(source)


def test_gl203_fix_loads_default_weights():
    after = fixed(src("""
        import torch
        import torchvision

        data = torchvision.datasets.ImageFolder("data/train")
        model = torchvision.models.resnet50(weights=None)
        model.fc = torch.nn.Linear(2048, 3)
    """, VISION_LOOP))
    assert 'model = torchvision.models.resnet50(weights="DEFAULT")\n' in after
    assert "GL203" not in codes(after)


def test_gl203_fix_replaces_pretrained_false():
    after = fixed(src("""
        import torch
        from torchvision import models

        data = ImageFolder_like = None
        tf = __import__("torchvision").transforms
        from torchvision.transforms import RandomResizedCrop
        crop = RandomResizedCrop(224)
        model = models.vgg16(pretrained=False)
    """, VISION_LOOP))
    assert 'model = models.vgg16(weights="DEFAULT")\n' in after


def test_gl203_no_fix_when_the_head_changes():
    source = src("""
        import torch
        import torchvision

        data = torchvision.datasets.ImageFolder("data/train")
        model = torchvision.models.resnet50(weights=None, num_classes=3)
    """, VISION_LOOP)
    (finding,) = [f for f in lint_source(textwrap.dedent(source).encode(), "x.py", ALL) if f.code == "GL203"]
    assert finding.fix is None


def test_gl203_timm_fix():
    after = fixed(src("""
        import torch
        import timm
        from torchvision.datasets import Food101

        data = Food101("data")
        model = timm.create_model("resnet50", num_classes=101)
    """, VISION_LOOP))
    assert 'timm.create_model("resnet50", num_classes=101, pretrained=True)' in after


# ---- GL204 deep-network-on-small-tabular-data ------------------------------------------------

TORCH_MLP = """
    model = nn.Sequential(nn.Linear(30, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2))
    opt = torch.optim.Adam(model.parameters())
    for epoch in range(200):
        loss = nn.functional.cross_entropy(model(X), y)
        loss.backward()
        opt.step()
"""


@pytest.mark.parametrize(
    "source",
    [
        src("""
        import torch
        from torch import nn
        from sklearn.datasets import load_breast_cancer

        X, y = load_breast_cancer(return_X_y=True)
        """, TORCH_MLP),
        src("""
        import torch
        import torch.nn as nn
        import pandas as pd
        from sklearn.preprocessing import StandardScaler

        df = pd.read_csv("churn.csv", nrows=7_043)
        X = StandardScaler().fit_transform(pd.get_dummies(df.drop(columns="churn")))
        """, TORCH_MLP),
        """
        import tensorflow as tf
        from sklearn import datasets

        X, y = datasets.load_iris(return_X_y=True)
        model = tf.keras.Sequential([
            tf.keras.layers.Dense(64, activation="relu"),
            tf.keras.layers.Dense(64, activation="relu"),
            tf.keras.layers.Dense(3, activation="softmax"),
        ])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.fit(X, y, epochs=100)
        """,
        """
        from keras.datasets import boston_housing
        from keras.models import Sequential
        from keras.layers import Dense

        (x_train, y_train), _ = boston_housing.load_data()
        model = Sequential([Dense(128), Dense(64), Dense(1)])
        model.compile(optimizer="rmsprop", loss="mse")
        model.fit(x_train, y_train)
        """,
    ],
)
def test_gl204_fires(source):
    assert codes(source).count("GL204") == 1


@pytest.mark.parametrize(
    "source",
    [
        # a single linear layer is a linear model
        """
        import torch
        from torch import nn
        from sklearn.datasets import load_iris

        X, y = load_iris(return_X_y=True)
        model = nn.Linear(4, 3)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for epoch in range(100):
            nn.functional.cross_entropy(model(X), y).backward()
            opt.step()
        """,
        # a CSV of pixels (Kaggle digit recognizer)
        src("""
        import torch
        from torch import nn
        import pandas as pd
        from sklearn.preprocessing import StandardScaler

        df = pd.read_csv("digit-recognizer/train.csv")
        X = StandardScaler().fit_transform(df.values)
        """, TORCH_MLP),
        # text in a CSV, with embeddings
        src("""
        import torch
        from torch import nn
        import pandas as pd
        from sklearn.preprocessing import LabelEncoder

        df = pd.read_csv("data.csv")
        y = LabelEncoder().fit_transform(df.label)
        emb = nn.Embedding(30000, 64)
        """, TORCH_MLP),
        # already compared with gradient boosting
        src("""
        import torch
        from torch import nn
        from sklearn.datasets import load_wine
        from sklearn.ensemble import HistGradientBoostingClassifier

        X, y = load_wine(return_X_y=True)
        baseline = HistGradientBoostingClassifier().fit(X, y)
        """, TORCH_MLP),
        # a CSV without tabular preprocessing (could be anything)
        src("""
        import torch
        from torch import nn
        import pandas as pd

        df = pd.read_csv("index.csv")
        """, TORCH_MLP),
        # tabular data but no network training in this module
        """
        from torch import nn
        from sklearn.datasets import load_iris

        X, y = load_iris(return_X_y=True)
        model = nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 8), nn.Linear(8, 3))
        """,
    ],
)
def test_gl204_silent(source):
    assert "GL204" not in codes(source)


# ---- GL205 unneeded-gradient-checkpointing ---------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        """
        from transformers import AutoModelForSequenceClassification, TrainingArguments

        model = AutoModelForSequenceClassification.from_pretrained("distilbert-base-uncased")
        args = TrainingArguments("out", gradient_checkpointing=True)
        """,
        """
        import transformers

        model = transformers.AutoModelForCausalLM.from_pretrained("gpt2")
        model.gradient_checkpointing_enable()
        """,
        """
        from sentence_transformers import SentenceTransformer, SentenceTransformerTrainingArguments

        model = SentenceTransformer("sentence-transformers/all-MiniLM-L6-v2")
        args = SentenceTransformerTrainingArguments(output_dir="o", per_device_train_batch_size=32, gradient_checkpointing=True)
        """,
        """
        from transformers import AutoModelForTokenClassification
        from trl import SFTConfig

        name = "bert-base-cased"
        model = AutoModelForTokenClassification.from_pretrained(name)
        cfg = SFTConfig(output_dir="o", gradient_checkpointing=True)
        """,
    ],
)
def test_gl205_fires(source):
    assert codes(source).count("GL205") == 1


@pytest.mark.parametrize(
    "source",
    [
        # a 7B model: checkpointing is what makes it fit
        """
        from transformers import AutoModelForCausalLM, TrainingArguments

        model = AutoModelForCausalLM.from_pretrained("meta-llama/Llama-2-7b-hf")
        args = TrainingArguments("out", gradient_checkpointing=True)
        """,
        # model chosen on the command line
        """
        from transformers import AutoModelForCausalLM, TrainingArguments

        model = AutoModelForCausalLM.from_pretrained(args.model)
        targs = TrainingArguments("out", gradient_checkpointing=True)
        """,
        # long sequences
        """
        from transformers import AutoModelForCausalLM, TrainingArguments

        model = AutoModelForCausalLM.from_pretrained("gpt2")
        tokens = tok(texts, max_length=4096, truncation=True)
        targs = TrainingArguments("out", gradient_checkpointing=True)
        """,
        # quantised loading
        """
        from transformers import AutoModelForCausalLM, TrainingArguments

        model = AutoModelForCausalLM.from_pretrained("distilgpt2", load_in_4bit=True)
        targs = TrainingArguments("out", gradient_checkpointing=True)
        """,
        # a flag
        """
        from transformers import AutoModelForCausalLM, TrainingArguments

        model = AutoModelForCausalLM.from_pretrained("gpt2")
        targs = TrainingArguments("out", gradient_checkpointing=args.gc)
        """,
        # off
        """
        from transformers import AutoModelForCausalLM, TrainingArguments

        model = AutoModelForCausalLM.from_pretrained("gpt2")
        targs = TrainingArguments("out", gradient_checkpointing=False)
        """,
    ],
)
def test_gl205_silent(source):
    assert "GL205" not in codes(source)


def test_gl205_fix_turns_it_off():
    after = fixed("""
        from transformers import AutoModelForSequenceClassification, TrainingArguments

        model = AutoModelForSequenceClassification.from_pretrained("distilbert-base-uncased")
        args = TrainingArguments(
            "out",
            gradient_checkpointing=True,
            bf16=True,
        )
    """)
    assert "    gradient_checkpointing=False,\n" in after
    assert "GL205" not in codes(after)


# ---- GL206 gradient-accumulation-misuse ------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        # micro-batches of one on a small model
        """
        from transformers import AutoModelForSequenceClassification, TrainingArguments

        model = AutoModelForSequenceClassification.from_pretrained("roberta-base")
        args = TrainingArguments("out", per_device_train_batch_size=1, gradient_accumulation_steps=32)
        """,
        # DDP, step every k micro-batches, no no_sync
        """
        import torch
        from torch.nn.parallel import DistributedDataParallel as DDP

        model = DDP(net.cuda(), device_ids=[rank])
        optimizer = torch.optim.AdamW(model.parameters())
        for i, (x, y) in enumerate(loader):
            loss = criterion(model(x), y) / accum_steps
            loss.backward()
            if (i + 1) % accum_steps == 0:
                optimizer.step()
                optimizer.zero_grad()
        """,
        # DDP, guard by an accumulation counter name, torch.nn.parallel spelled out
        """
        import torch

        model = torch.nn.parallel.DistributedDataParallel(net)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for step, batch in enumerate(loader):
            model(batch).mean().backward()
            if step_in_accumulation == grad_accum - 1:
                opt.step()
        """,
        # DDP, inner micro-step loop
        """
        import torch
        from torch.nn.parallel import DistributedDataParallel

        model = DistributedDataParallel(net)
        optimizer = torch.optim.AdamW(model.parameters())
        while True:
            for micro in range(8):
                loss = model(next(batches)).mean()
                loss.backward()
            optimizer.step()
            optimizer.zero_grad()
        """,
    ],
)
def test_gl206_fires(source):
    assert codes(source).count("GL206") == 1


@pytest.mark.parametrize(
    "source",
    [
        # DDP with no_sync
        """
        import torch
        from torch.nn.parallel import DistributedDataParallel as DDP
        import contextlib

        model = DDP(net)
        optimizer = torch.optim.AdamW(model.parameters())
        for i, batch in enumerate(loader):
            ctx = model.no_sync() if (i + 1) % accum != 0 else contextlib.nullcontext()
            with ctx:
                model(batch).mean().backward()
            if (i + 1) % accum == 0:
                optimizer.step()
        """,
        # nanoGPT: require_backward_grad_sync
        """
        import torch
        from torch.nn.parallel import DistributedDataParallel as DDP

        model = DDP(model, device_ids=[0])
        optimizer = torch.optim.AdamW(model.parameters())
        while True:
            for micro_step in range(gradient_accumulation_steps):
                model.require_backward_grad_sync = micro_step == gradient_accumulation_steps - 1
                loss = model(X).mean()
                loss.backward()
            optimizer.step()
        """,
        # accumulation without DDP: nothing to all-reduce
        """
        import torch

        optimizer = torch.optim.AdamW(model.parameters())
        for i, batch in enumerate(loader):
            model(batch).mean().backward()
            if (i + 1) % accum == 0:
                optimizer.step()
        """,
        # DDP stepping every batch
        """
        import torch
        from torch.nn.parallel import DistributedDataParallel as DDP

        model = DDP(net)
        optimizer = torch.optim.AdamW(model.parameters())
        for batch in loader:
            model(batch).mean().backward()
            optimizer.step()
        """,
        # batch 1 with accumulation on a 7B model (memory-bound)
        """
        from transformers import AutoModelForCausalLM, TrainingArguments

        model = AutoModelForCausalLM.from_pretrained("mistralai/Mistral-7B-v0.1")
        args = TrainingArguments("out", per_device_train_batch_size=1, gradient_accumulation_steps=16)
        """,
        # batch 1 with accumulation and gradient checkpointing: memory is short
        """
        from transformers import AutoModelForCausalLM, TrainingArguments

        model = AutoModelForCausalLM.from_pretrained("gpt2")
        args = TrainingArguments("out", per_device_train_batch_size=1, gradient_accumulation_steps=16, gradient_checkpointing=True)
        """,
        # Accelerate's accumulate() handles the sync
        """
        import torch
        from torch.nn.parallel import DistributedDataParallel as DDP

        model = DDP(net)
        optimizer = torch.optim.AdamW(model.parameters())
        for i, batch in enumerate(loader):
            with accelerator.accumulate(model):
                model(batch).mean().backward()
                if (i + 1) % 4 == 0:
                    optimizer.step()
        """,
    ],
)
def test_gl206_silent(source):
    assert "GL206" not in codes(source)


def test_gl206_fix_moves_accumulation_into_the_batch():
    after = fixed("""
        from transformers import AutoModelForSequenceClassification, TrainingArguments

        model = AutoModelForSequenceClassification.from_pretrained("bert-base-uncased")
        args = TrainingArguments("out", per_device_train_batch_size=1, gradient_accumulation_steps=8, bf16=True)
    """)
    assert 'TrainingArguments("out", per_device_train_batch_size=8, gradient_accumulation_steps=1, bf16=True)' in after
    assert "GL206" not in codes(after)


def test_gl203_silent_in_a_scratch_versus_pretrained_comparison():
    source = src("""
        import torch
        import torchvision

        data = torchvision.datasets.ImageFolder("hotdog/train")
        finetune_net = torchvision.models.resnet18(pretrained=True)
        model = torchvision.models.resnet18()
    """, VISION_LOOP)
    assert "GL203" not in codes(source)


# ---- regressions from the whole-repository precision run (docs/precision.md) -------------------------


def test_gl201_silent_when_nothing_is_trained():
    # a tutorial that loads VGG-16, swaps the head for CIFAR-10 and prints it, training nothing
    assert "GL201" not in codes("""
        import torchvision
        from torch import nn

        vgg16_true = torchvision.models.vgg16(pretrained=True)
        vgg16_true.classifier.add_module("add_linear", nn.Linear(1000, 10))
        print(vgg16_true)
        train_data = torchvision.datasets.CIFAR10("./dataset", train=True, download=True)
    """)


def test_gl201_fires_when_the_module_trains_the_model():
    assert "GL201" in codes("""
        import torch
        import torchvision

        train_data = torchvision.datasets.CIFAR10("./dataset", train=True, download=True)
        model = torchvision.models.vgg16(pretrained=True).cuda()
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        for x, y in torch.utils.data.DataLoader(train_data, batch_size=64):
            loss = torch.nn.functional.cross_entropy(model(x.cuda()), y.cuda())
            loss.backward()
            opt.step()
    """)


def test_gl201_silent_on_a_keras_imagenet_classifier_used_as_it_is():
    # the Keras functional-API guide extracts VGG19 features; the MNIST model it fits is another one
    assert "GL201" not in codes("""
        from tensorflow import keras

        (x_train, y_train), _ = keras.datasets.mnist.load_data()
        small = keras.Sequential([keras.layers.Dense(10)])
        small.compile(loss="sparse_categorical_crossentropy")
        small.fit(x_train, y_train)
        vgg19 = keras.applications.VGG19()
        features = keras.Model(inputs=vgg19.input, outputs=[layer.output for layer in vgg19.layers])
    """)


def test_gl204_counts_layers_per_network_not_per_module():
    # a notebook that fits several two-layer models on one table is not one deep network
    source = """
        import pandas as pd
        from sklearn.preprocessing import StandardScaler
        from tensorflow import keras

        X = StandardScaler().fit_transform(pd.read_csv("housing.csv", nrows=20_000))
        for units in (30, 60):
            model = keras.models.Sequential([keras.layers.Dense(units, activation="relu"), keras.layers.Dense(1)])
            model.compile(loss="mse")
            model.fit(X, y, epochs=10)
        model = keras.models.Sequential([keras.layers.Dense(30), keras.layers.Dense(1)])
        model.compile(loss="mse")
        model.fit(X, y, epochs=10)
    """
    assert "GL204" not in codes(source)
    deep = source + """
        deep = keras.models.Sequential([keras.layers.Dense(64), keras.layers.Dense(64), keras.layers.Dense(64), keras.layers.Dense(1)])
        deep.compile(loss="mse")
        deep.fit(X, y, epochs=10)
    """
    found = [f for f in lint_source(textwrap.dedent(deep).lstrip("\n").encode(), "x.py", ALL) if f.code == "GL204"]
    assert len(found) == 1 and found[0].message.startswith("a Keras network with at least 4 dense layers")


def test_gl204_top_level_single_layers_next_to_sequential_models_are_not_one_network():
    # handson-ml2 ch. 12 builds custom layers one at a time at the top level next to 2-layer models
    assert "GL204" not in codes("""
        from sklearn.datasets import fetch_california_housing
        from tensorflow import keras

        housing = fetch_california_housing()
        model = keras.models.Sequential([keras.layers.Dense(30), keras.layers.Dense(1)])
        layer = keras.layers.Dense(1, activation="softplus")
        other = keras.layers.Dense(30, kernel_initializer="lecun_normal")
        third = keras.layers.Dense(30, kernel_regularizer="l1")
        model.compile(loss="mse")
        model.fit(housing.data, housing.target, epochs=2)
    """)
    # a functional-API network in one function is still one network
    assert "GL204" in codes("""
        from sklearn.datasets import fetch_california_housing
        from tensorflow import keras

        def build():
            inputs = keras.Input(shape=(8,))
            x = keras.layers.Dense(64)(inputs)
            x = keras.layers.Dense(64)(x)
            return keras.Model(inputs, keras.layers.Dense(1)(x))

        housing = fetch_california_housing()
        model = build()
        model.compile(loss="mse")
        model.fit(housing.data, housing.target, epochs=2)
    """)
