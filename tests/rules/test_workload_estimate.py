"""The shared small-workload estimate (rules/analysis/workload.py) and the three rules that use it:
GL101 and GL102 (mixed precision) and GL401 (per-step sync) keep their findings on a small,
launch-bound run but estimate them under the `medium` level; real large runs keep their level.
GL102 is silent on a deliberate CPU run (`device_map="cpu"`)."""

from __future__ import annotations

import textwrap

import libcst as cst
from rule_helpers import findings, silent

from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.workload import small_training_workload
from greenlint.rules.analysis.workload import SMALL_WORKLOAD_AMP_FACTOR as TINY_MODEL_FACTOR
from greenlint.rules.analysis.workload import SMALL_WORKLOAD_AMP_FACTOR as SMALL_WORKLOAD_FACTOR
from greenlint.rules.training_loop.gl401_host_device_sync_in_hot_loop import SMALL_RUN_FACTOR


def workload(source: str):
    return small_training_workload(ModuleAnalysis.of(cst.parse_module(textwrap.dedent(source).lstrip("\n"))))


def levels(source: str, code: str) -> list[str]:
    return [f.impact.level for f in findings(source, code)]


# ---- raw PyTorch loops: GL101 and GL401 ------------------------------------------------------------

# a text classifier whose data is a CSV export of AG News, in the shape of a tutorial notebook
AG_NEWS_LSTM = """
    import pandas as pd
    import torch
    import torch.nn as nn

    DEVICE = torch.device("cuda")
    EMBEDDING_DIM = 128
    HIDDEN_DIM = 256
    NUM_EPOCHS = 50

    frame = pd.read_csv("ag_news_csv/train.csv", header=None)

    class TextModel(nn.Module):
        def __init__(self, vocab, embedding_dim, hidden_dim, classes):
            super().__init__()
            self.embedding = nn.Embedding(vocab, embedding_dim)
            self.rnn = nn.LSTM(embedding_dim, hidden_dim, num_layers=2)
            self.fc = nn.Linear(hidden_dim, classes)

        def forward(self, text):
            out, _ = self.rnn(self.embedding(text))
            return self.fc(out[-1])

    model = TextModel(5000, EMBEDDING_DIM, HIDDEN_DIM, 4).to(DEVICE)
    optimizer = torch.optim.Adam(model.parameters())
    for epoch in range(NUM_EPOCHS):
        for text, labels in loader:
            text, labels = text.to(DEVICE), labels.to(DEVICE)
            loss = nn.functional.cross_entropy(model(text), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            print(loss.item())
"""


def test_small_dataset_named_in_a_csv_path_makes_a_small_workload():
    found = workload(AG_NEWS_LSTM)
    assert found is not None and "AG News" in found.reason
    [fp32] = findings(AG_NEWS_LSTM, "GL101")
    assert fp32.impact.level == "low"
    assert "AG News" in fp32.impact.basis and "15026" in fp32.impact.basis


def test_a_big_csv_is_not_small_but_not_shown_to_be_heavy_either():
    # the data is no longer known small, but a 256-wide LSTM is no evidence of a compute-heavy step:
    # GL101 keeps the finding under the default threshold, saying why (heavy_workload.py)
    big = AG_NEWS_LSTM.replace("ag_news_csv/train.csv", "reviews_2024/train.csv")
    assert workload(big) is None
    [fp32] = findings(big, "GL101")
    assert fp32.impact.level == "low" and "no sign in this module that the step is compute-heavy" in fp32.impact.basis


def test_the_same_model_with_a_wide_hidden_setting_is_not_small():
    wide = AG_NEWS_LSTM.replace("HIDDEN_DIM = 256", "HIDDEN_DIM = 4096")
    assert workload(wide) is None


# a graph-style net whose model is a single Linear layer, trained on MNIST
ONE_LAYER_MNIST = """
    import torch
    import torch.nn as nn
    from torchvision import datasets, transforms

    DEVICE = "cuda:0"
    train = datasets.MNIST(root="data", train=True, transform=transforms.ToTensor(), download=True)
    loader = torch.utils.data.DataLoader(train, batch_size=128)

    class GraphNet(nn.Module):
        def __init__(self, rows, classes):
            super().__init__()
            self.fc = nn.Linear(rows, classes, bias=False)

        def forward(self, x):
            return self.fc(x.flatten(1))

    model = GraphNet(28 * 28, 10).to(DEVICE)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    for epoch in range(20):
        for features, targets in loader:
            features, targets = features.to(DEVICE), targets.to(DEVICE)
            cost = nn.functional.cross_entropy(model(features), targets)
            optimizer.zero_grad()
            cost.backward()
            optimizer.step()
            if batch_idx % 50 == 0:
                pass
            running = cost.item()
"""


def test_a_single_linear_layer_is_small_and_scales_gl101_and_gl401():
    found = workload(ONE_LAYER_MNIST)
    assert found is not None and "one Linear layer" in found.reason and "MNIST" in found.reason
    [fp32] = findings(ONE_LAYER_MNIST, "GL101")
    assert fp32.impact.level == "low" and f"x{TINY_MODEL_FACTOR:g}" in fp32.impact.basis
    syncs = findings(ONE_LAYER_MNIST, "GL401")
    assert syncs, "the finding stays, only its estimated impact drops"
    for sync in syncs:
        assert sync.impact.level == "low"
        assert f"x{SMALL_RUN_FACTOR:g}" in sync.impact.basis and "LANfactory" in sync.impact.basis


def test_a_large_run_keeps_its_per_step_sync_at_medium():
    # the same loop around an ImageNet ResNet-50: nothing says small, the sync keeps its level
    large = ONE_LAYER_MNIST.replace(
        'train = datasets.MNIST(root="data", train=True, transform=transforms.ToTensor(), download=True)',
        'train = datasets.ImageFolder("imagenet/train", transform=transforms.ToTensor())',
    ).replace("model = GraphNet(28 * 28, 10).to(DEVICE)", "import torchvision\n    model = torchvision.models.resnet50().to(DEVICE)")
    assert workload(large) is None
    assert levels(large, "GL401") and set(levels(large, "GL401")) == {"medium"}
    assert levels(large, "GL101") == ["high"]


def test_many_wide_convolutions_on_cifar_are_not_small():
    # a Network-in-Network-sized model: nine convolutions of 192 channels on CIFAR-10 runs for
    # tens of minutes, and autocast pays there
    convs = "\n".join(f"            nn.Conv2d({3 if i == 0 else 192}, 192, 3, padding=1)," for i in range(9))
    source = f"""
import torch
import torch.nn as nn
from torchvision import datasets

data = datasets.CIFAR10("data", download=True)
model = nn.Sequential(
{convs}
).cuda()
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for x, y in loader:
    loss = model(x.cuda()).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
"""
    assert workload(source) is None
    [fp32] = findings(source, "GL101")
    assert fp32.impact.level == "high" and "a deep convolutional stack (9 convolutions" in fp32.message


# ---- Lightning: GL102 ------------------------------------------------------------------------------

LIGHTNING_MLP = """
    import lightning as L
    import torch
    from torchvision import datasets

    HIDDEN_UNITS = (32, 16)

    class MLP(L.LightningModule):
        def __init__(self, input_size, hidden_units, classes):
            super().__init__()
            layers = [torch.nn.Flatten()]
            for width in hidden_units:
                layers += [torch.nn.Linear(input_size, width), torch.nn.ReLU()]
                input_size = width
            layers.append(torch.nn.Linear(hidden_units[-1], classes))
            self.model = torch.nn.Sequential(*layers)

        def training_step(self, batch, batch_idx):
            x, y = batch
            return torch.nn.functional.cross_entropy(self.model(x), y)

    train = datasets.MNIST("data", train=True, download=True)
    trainer = L.Trainer(max_epochs=10, accelerator="auto")
    trainer.fit(MLP(28 * 28, HIDDEN_UNITS, 10), torch.utils.data.DataLoader(train))
"""


def test_lightning_mlp_on_mnist_is_scaled():
    found = workload(LIGHTNING_MLP)
    assert found is not None and "MNIST" in found.reason
    [report] = findings(LIGHTNING_MLP, "GL102")
    assert report.impact.level == "low" and f"x{SMALL_WORKLOAD_FACTOR:g}" in report.impact.basis


def test_hidden_units_in_a_parameter_default_count_as_widths():
    source = LIGHTNING_MLP.replace("HIDDEN_UNITS = (32, 16)", "HIDDEN_UNITS = None").replace(
        "def __init__(self, input_size, hidden_units, classes):",
        "def __init__(self, input_size, hidden_units=(2048, 2048), classes=10):",
    )
    assert workload(source) is None  # a width above the limit, in the default the class is built with
    assert levels(source, "GL102") == ["high"]


MOBILENET_CIFAR = """
    import lightning as L
    import torch
    from torchvision import datasets, transforms

    backbone = torch.hub.load("pytorch/vision:v0.11.0", "mobilenet_v3_small", pretrained=False)
    backbone.classifier[-1] = torch.nn.Linear(in_features=1024, out_features=10)
    augment = transforms.Compose([transforms.Resize((70, 70)), transforms.RandomCrop((64, 64)), transforms.ToTensor()])
    train = datasets.CIFAR10("data", train=True, transform=augment, download=True)
    trainer = L.Trainer(max_epochs=150, accelerator="gpu", devices=1)
    trainer.fit(model, torch.utils.data.DataLoader(train, batch_size=256))
"""


def test_mobile_architecture_at_64_pixels_is_small():
    found = workload(MOBILENET_CIFAR)
    assert found is not None and "mobilenet_v3_small" in found.reason and "64-pixel" in found.reason
    assert levels(MOBILENET_CIFAR, "GL102") == ["low"]


def test_mobile_architecture_upsampled_or_a_bigger_zoo_model_is_not_small():
    upsampled = MOBILENET_CIFAR.replace("RandomCrop((64, 64))", "RandomCrop((224, 224))")
    assert workload(upsampled) is None
    resnet = MOBILENET_CIFAR.replace('"mobilenet_v3_small"', '"resnet50"')
    assert workload(resnet) is None
    unknown_data = MOBILENET_CIFAR.replace('datasets.CIFAR10("data", train=True,', 'datasets.ImageFolder("photos",')
    assert workload(unknown_data) is None
    assert levels(upsampled, "GL102") == ["high"]


def test_the_estimate_is_computed_once_per_module():
    analysis = ModuleAnalysis.of(cst.parse_module(textwrap.dedent(MOBILENET_CIFAR)))
    assert small_training_workload(analysis) is small_training_workload(analysis)


# ---- GL102 on a deliberate CPU run ---------------------------------------------------------------

CPU_LORA = """
    import torch
    from transformers import AutoModelForCausalLM
    from trl import SFTConfig, SFTTrainer

    model = AutoModelForCausalLM.from_pretrained("google/gemma-3-1b-it", dtype=torch.float32, device_map="cpu")
    config = SFTConfig(output_dir="out", num_train_epochs=1, bf16=False)
    SFTTrainer(model=model, args=config, train_dataset=data).train()
"""


def test_gl102_is_silent_when_the_model_is_loaded_on_the_cpu():
    silent("GL102", CPU_LORA)


def test_gl102_still_fires_when_the_cpu_load_sits_next_to_a_gpu():
    assert findings(CPU_LORA.replace('device_map="cpu"', 'device_map="auto"'), "GL102")
    assert findings(CPU_LORA.replace('device_map="cpu"', 'device_map={"": "cpu"}') + "    model.to('cuda')\n", "GL102")
    two_models = CPU_LORA.replace(
        "config = ", 'reference = AutoModelForCausalLM.from_pretrained("google/gemma-3-1b-it", device_map=0)\n    config = '
    )
    assert findings(two_models, "GL102")


def test_a_linear_head_on_a_model_from_elsewhere_is_not_a_one_layer_model():
    head_on_import = """
        import torch
        from mymodels import Backbone

        model = Backbone()
        model.fc = torch.nn.Linear(2048, 10)
        model.cuda()
    """
    assert workload(head_on_import) is None
    wrapper = """
        import torch
        from mymodels import Encoder

        class Classifier(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.encoder = Encoder()
                self.fc = torch.nn.Linear(768, 2)
    """
    assert workload(wrapper) is None
    alone = wrapper.replace("from mymodels import Encoder\n", "").replace("self.encoder = Encoder()", "pass")
    found = workload(alone)
    assert found is not None and "one Linear layer" in found.reason


def test_a_small_model_on_data_of_unknown_size_scales_gl101_but_not_gl401():
    # an MLP whose every layer is known: launch-bound per step, but the table may be huge, so the
    # run's length (what a per-step sync's share depends on) is not known
    source = """
        import pandas as pd
        import torch
        import torch.nn as nn

        frame = pd.read_csv("transactions.csv")

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.layers = nn.Sequential(nn.Linear(12, 64), nn.ReLU(), nn.Linear(64, 2))

            def forward(self, x):
                return self.layers(x)

        model = Net().cuda()
        optimizer = torch.optim.Adam(model.parameters())
        for epoch in range(100):
            for x, y in loader:
                loss = nn.functional.cross_entropy(model(x.cuda()), y.cuda())
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                history.append(loss.item())
    """
    found = workload(source)
    assert found is not None and not found.data_known
    assert levels(source, "GL101") == ["low"]
    assert levels(source, "GL401") == ["medium"]
