"""Is the module's training workload tiny (launch-bound)? Read from the data and the layers it builds.

Mixed precision, like any change that makes the GPU's arithmetic faster, saves energy only where
the arithmetic dominates the step. A 3-layer MLP on 28x28 MNIST or a small LSTM on IMDb spends
its step launching kernels and moving small tensors: autocast saves about nothing there and can
even be slower (rules/evidence.py `AMP_SMALL_MODELS`). Rules use this to lower a finding's
estimated impact (`Scale`), never to drop it.

The answer is "tiny" only when the module shows all of:
- small data: a known small dataset (MNIST-like at 28x28, CIFAR/SVHN at 32x32, a few-label text
  set such as IMDb, TREC or AG News, a scikit-learn toy table, or such a dataset named in the path
  a reader opens: `read_csv("ag_news_csv/train.csv")`, a clone of `mnist-pngs`), and no resize
  above 64 pixels;
- the model is built here, from layers whose widths are known and small: at least two widths
  resolve (literals, module constants, argparse defaults), none above `MAX_WIDTH`, conv channels
  at most `MAX_CONV_CHANNELS`, at most `MAX_CONV_LAYERS` convolution call sites, and no width-like
  setting (`hidden_dim`, `--embed-dim`) above `MAX_WIDTH`;
- nothing large: no pretrained or zoo model (torchvision/timm/hub/transformers, any
  `from_pretrained`), no attention or Transformer layers, no class named after a deep
  architecture (ResNet, VGG, UNet, ...), whose blocks a call-site count would undercount.
Without known small data, an MLP built here whose every `Linear` width is known, with nothing but
`Linear` layers and under `MAX_MLP_PARAMS` weights, is tiny on any data (a 10-layer MLP of 90 k
weights on a Kaggle table), and so is a model that is one Linear layer (a linear or logistic
regression built in a model class here). Both need the model classes to build no submodule from a
class defined elsewhere. Anything unknown keeps the answer "not tiny": the estimate must not
call a real workload small.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import libcst as cst

from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.facts import CallSite, ModuleFacts
from greenlint.rules.analysis.literals import NOT_LITERAL, argument, positional_args, resolved_value, string_value
from greenlint.rules.analysis.memo import once_per_module
from greenlint.rules.analysis.tree import visit

MAX_WIDTH = 1024
MAX_CONV_CHANNELS = 512
MAX_CONV_LAYERS = 8
MAX_IMAGE_SIDE = 64
# An MLP of known layers below ~1 M parameters is launch-bound on any data: the bound the project's
# design gives for downgrading mixed-precision advice (rule catalog, GL-P01 "FP risks").
MAX_MLP_PARAMS = 1_000_000

_TORCHVISION_SMALL = {
    "MNIST": "MNIST (28x28)", "FashionMNIST": "Fashion-MNIST (28x28)", "KMNIST": "KMNIST (28x28)",
    "EMNIST": "EMNIST (28x28)", "QMNIST": "QMNIST (28x28)", "USPS": "USPS (16x16)",
    "SVHN": "SVHN (32x32)", "CIFAR10": "CIFAR-10 (32x32)", "CIFAR100": "CIFAR-100 (32x32)",
}
_KERAS_SMALL = {"mnist": "MNIST (28x28)", "fashion_mnist": "Fashion-MNIST (28x28)",
                "cifar10": "CIFAR-10 (32x32)", "cifar100": "CIFAR-100 (32x32)"}
_HUB_SMALL = {
    "mnist": "MNIST (28x28)", "ylecun/mnist": "MNIST (28x28)", "fashion_mnist": "Fashion-MNIST (28x28)",
    "zalando-datasets/fashion_mnist": "Fashion-MNIST (28x28)", "cifar10": "CIFAR-10 (32x32)",
    "uoft-cs/cifar10": "CIFAR-10 (32x32)", "cifar100": "CIFAR-100 (32x32)", "svhn": "SVHN (32x32)",
    "imdb": "IMDb reviews", "stanfordnlp/imdb": "IMDb reviews", "trec": "TREC questions",
    "sst2": "SST-2", "stanfordnlp/sst2": "SST-2", "ag_news": "AG News", "rotten_tomatoes": "Rotten Tomatoes",
}
_TORCHTEXT_SMALL = {"IMDB": "IMDb reviews", "TREC": "TREC questions", "SST": "SST", "SST2": "SST-2",
                    "AG_NEWS": "AG News", "YelpReviewPolarity": "Yelp polarity"}
_SKLEARN_TOY = {"load_iris": "the Iris table", "load_wine": "the Wine table", "load_digits": "scikit-learn digits (8x8)",
                "load_breast_cancer": "the breast-cancer table", "load_diabetes": "the diabetes table"}

# readers whose path argument can name a known small dataset (a CSV export, a folder of PNGs)
_FILE_READERS = frozenset({"read_csv", "read_table", "loadtxt", "genfromtxt", "TabularDataset", "ImageFolder",
                           "clone_from", "load"})
_FILE_DATA = re.compile(r"(?:^|[/_.\-])(fashion[-_]?mnist|mnist|cifar[-_]?100|cifar[-_]?10|svhn|ag[-_]?news|imdb)"
                        r"(?:$|[/_.\-])", re.IGNORECASE)
_FILE_DATA_NAMES = {"fashionmnist": "Fashion-MNIST (28x28)", "mnist": "MNIST (28x28)", "cifar100": "CIFAR-100 (32x32)",
                    "cifar10": "CIFAR-10 (32x32)", "svhn": "SVHN (32x32)", "agnews": "AG News", "imdb": "IMDb reviews"}

_LARGE_PREFIXES = ("torchvision.models", "timm", "transformers", "peft", "sentence_transformers", "torch.hub",
                   "segmentation_models_pytorch", "keras.applications", "tensorflow.keras.applications")
_ATTENTION = re.compile(r"^torch\.nn\.(modules\.\w+\.)?(Transformer\w*|MultiheadAttention)$")
_DEEP_CLASS = re.compile(r"ResNet|ResNe[Xx]t|Bottleneck|BasicBlock|VGG|UNet|Unet|DenseNet|Inception|EfficientNet|"
                         r"MobileNet|Transformer|Attention|ViT|Swin|ConvNeXt|Residual", re.IGNORECASE)
# layer -> positions of its width arguments (in/out features, channels, hidden size)
_WIDTH_ARGS = {"Linear": (0, 1), "Bilinear": (0, 2), "LSTM": (0, 1), "GRU": (0, 1), "RNN": (0, 1),
               "LSTMCell": (0, 1), "GRUCell": (0, 1), "Embedding": (1,), "EmbeddingBag": (1,)}
_WIDTH_KEYWORDS = frozenset({"in_features", "out_features", "in1_features", "in_channels", "out_channels",
                             "input_size", "hidden_size", "embedding_dim"})
_CONV = re.compile(r"^(Lazy)?Conv(Transpose)?[123]d$")
_WIDTH_SETTING = re.compile(r"(^|_|-)(dim|dims|hidden|embed|embedding|channels|features|filters|width|d_model|units)"
                            r"(_|-|$)|hidden|embed_dim|d_model", re.IGNORECASE)
_UNITS_SETTING = re.compile(r"(^|_)units$", re.IGNORECASE)  # `HIDDEN_UNITS = (100, 50)`
_SIDE_SETTING = re.compile(r"(img|image|input|crop)_?(size|side|res|resolution)$", re.IGNORECASE)


@dataclass(frozen=True)
class SmallWorkload:
    data: str  # "MNIST (28x28)"
    widest: int  # the widest layer found (features or channels)
    model: str = ""  # what the model is, when it is named rather than measured by its widths

    @property
    def data_known(self) -> bool:
        """False when the model alone is known to be small ("any data"): the run's length is not."""
        return not self.data.startswith("any data")

    def reason(self) -> str:
        if self.model:
            return f"{self.model} on {self.data}"
        return f"a small model (no layer width or width setting above {self.widest}) on {self.data}"


@once_per_module
def small_workload(analysis: ModuleAnalysis) -> SmallWorkload | None:
    """A SmallWorkload when the module visibly trains a tiny model on small data, else None."""
    facts = analysis.facts
    if any(_DEEP_CLASS.search(name) for name in facts.classes):
        return None
    data: str | None = None
    widths: list[int] = []
    convs = layers = unknown = 0
    dense_params = 0  # in x out of the Linear layers, when every width is known
    only_dense = True
    for site in facts.calls:
        qualname = site.qualname or ""
        if site.attr == "from_pretrained" or qualname.startswith(_LARGE_PREFIXES) or _ATTENTION.match(qualname):
            return None
        data = data or small_data(site, qualname)
        if _too_large_image(site, qualname):
            return None
        if qualname.startswith("torch.nn.") and qualname.count(".") <= 3:
            name = qualname.rsplit(".", 1)[-1]
            if _CONV.match(name):
                convs += 1
                layers += 1
                only_dense = False
                channels = _widths(site, (0, 1))
                if any(c > MAX_CONV_CHANNELS for c in channels):
                    return None
                widths.extend(channels)
            elif name in _WIDTH_ARGS:
                layers += 1
                found = _widths(site, _WIDTH_ARGS[name])
                if any(w > MAX_WIDTH for w in found):
                    return None
                widths.extend(found)
                if name == "Linear" and len(found) == 2:
                    dense_params += found[0] * found[1]
                else:
                    only_dense = only_dense and name == "Linear"
                    unknown += 1
        elif _argparse_width_too_large(site):
            return None
    constants = _width_constants(analysis)
    if constants is None:
        return None
    widths.extend(constants)
    # the model must be built here (a model imported from another module has unknown layers)
    if not layers or convs > MAX_CONV_LAYERS:
        return None
    if layers == 1 and only_dense and _whole_model_is_one_linear(facts):
        # the whole model is one Linear layer (a linear or logistic regression): a single matrix
        # product per step, launch-bound whatever its input width
        return SmallWorkload(data or "any data", max(widths, default=0), "a model of one Linear layer")
    if len(widths) < 2:
        return None
    if data is None and only_dense and not unknown and dense_params <= MAX_MLP_PARAMS and _model_classes_visible(facts):
        # an MLP whose every layer is known and tiny is launch-bound on any data
        return SmallWorkload(f"any data (an MLP of about {dense_params:,} weights)", max(widths))
    if data is None:
        return None
    return SmallWorkload(data, max(widths))


def mlp_only_model(analysis: ModuleAnalysis) -> str | None:
    """"an MLP of ..." when every torch layer the module builds is a `Linear` of at most MAX_WIDTH
    (where the width is written out) and the model classes are all visible here: no convolution,
    recurrence, embedding or attention, nothing pretrained or from a zoo, no deep class. The layer
    sizes that come from an environment or a dataset (`nn.Linear(state_dim, 256)`) are not known,
    but a stack of Linear layers this narrow is launch-bound on a GPU whatever they are: the
    actor-critic MLPs of sweetice's SAC/TD3 scripts (blind36), 256-400 wide. Else None."""
    facts = analysis.facts
    if any(_DEEP_CLASS.search(name) for name in facts.classes) or not _model_classes_visible(facts, layers_only=True):
        return None
    linear_widths: list[int] = []
    linears = 0
    for site in facts.calls:
        qualname = site.qualname or ""
        if site.attr == "from_pretrained" or qualname.startswith(_LARGE_PREFIXES) or _ATTENTION.match(qualname):
            return None
        if qualname.startswith("torch.nn.") and qualname.count(".") <= 3:
            name = qualname.rsplit(".", 1)[-1]
            if _CONV.match(name) or (name in _WIDTH_ARGS and name != "Linear"):
                return None
            if name == "Linear":
                linears += 1
                linear_widths.extend(_widths(site, _WIDTH_ARGS[name]))
    if linears < 2 or not linear_widths or max(linear_widths) > MAX_WIDTH:
        return None
    return f"an MLP of {linears} `Linear` layers at most {max(linear_widths)} wide"


def _whole_model_is_one_linear(facts: ModuleFacts) -> bool:
    """The one `nn.Linear` is built inside a model class of this module (`self.fc = nn.Linear(n, k)`
    in a LogisticRegression class), not put as a head on a model from elsewhere
    (`model.fc = nn.Linear(2048, 10)`)."""
    linear = [site for site in facts.calls if (site.qualname or "").rsplit(".", 1)[-1] == "Linear"]
    return len(linear) == 1 and linear[0].class_name is not None and _model_classes_visible(facts)


def _model_classes_visible(facts: ModuleFacts, layers_only: bool = False) -> bool:
    """No class that builds torch layers here also builds a submodule from a class defined
    elsewhere (`self.encoder = Encoder()` from another module): its layers would be unknown. With
    `layers_only`, a class counts as a model only where it builds a layer (`nn.Linear(...)`), not
    where it calls `F.mse_loss` or builds `nn.MSELoss()` (the SAC and TD3 agent classes, which also
    build a SummaryWriter)."""
    owners = {site.class_name for site in facts.calls
              if site.class_name is not None and (site.qualname or "").startswith("torch.nn.")
              and (not layers_only or _builds_layer(site.qualname or ""))}
    for site in facts.calls:
        if site.class_name not in owners:
            continue
        qualname = site.qualname or ""
        name = (qualname or site.attr or "").rsplit(".", 1)[-1]
        if name[:1].isupper() and not qualname.startswith("torch.") and name not in facts.classes:
            return False
    return True


def _builds_layer(qualname: str) -> bool:
    """`nn.Linear(...)`, `nn.Conv2d(...)`: a layer, not a function (`F.relu`) or a loss (`nn.MSELoss`)."""
    name = qualname.rsplit(".", 1)[-1]
    return name[:1].isupper() and not name.endswith("Loss")


def small_data(site: CallSite, qualname: str) -> str | None:
    last = qualname.rsplit(".", 1)[-1]
    if qualname.startswith("torchvision.datasets.") and last in _TORCHVISION_SMALL:
        return _TORCHVISION_SMALL[last]
    if qualname.startswith("torchtext."):
        for part in qualname.split("."):
            if part in _TORCHTEXT_SMALL:
                return _TORCHTEXT_SMALL[part]
    if qualname.startswith(("keras.", "tensorflow.keras.")) and last == "load_data":
        return _KERAS_SMALL.get(qualname.rsplit(".", 2)[-2])
    if qualname.startswith("sklearn.datasets.") and last in _SKLEARN_TOY:
        return _SKLEARN_TOY[last]
    if last in _FILE_READERS:
        return _small_data_file(site)
    if qualname in ("datasets.load_dataset", "tensorflow_datasets.load"):
        name = string_value(argument(site.node, "path", 0) or argument(site.node, "name", 0)) or ""
        return _HUB_SMALL.get(name.lower())
    named = _NAMED_DATASET.search(last) if last[:1].isupper() and not qualname.startswith("torchvision.") else None
    if named:
        # the project's own dataset class named after one (explainingai-code/DDPM-Pytorch's
        # `MnistDataset`, which reads MNIST's 28x28 PNGs from disk; blind40)
        return f"`{last}` ({'MNIST (28x28)' if named.group(1).lower() == 'mnist' else 'CIFAR (32x32)'})"
    return None


_DATASET_SETTING = re.compile(r"(^|_)(dataset|data_set|data_name|dataset_name)$", re.IGNORECASE)
_TINY_DATASET_NAMES = {"mnist": "MNIST (28x28)", "fashionmnist": "Fashion-MNIST (28x28)", "fashion_mnist":
                       "Fashion-MNIST (28x28)", "kmnist": "KMNIST (28x28)", "emnist": "EMNIST (28x28)",
                       "qmnist": "QMNIST (28x28)", "usps": "USPS (16x16)"}


def dataset_setting(analysis: ModuleAnalysis) -> str | None:
    """A dataset chosen by name in a setting the module defines, when that name is an MNIST-family
    set: `DATASET = 'FashionMNIST'` then `eval('datasets.' + DATASET)(...)` (ritheshkumar95/
    pytorch-vqvae vae.py, blind43), or an option `--dataset` whose configured value is `mnist`."""
    facts = analysis.facts
    for name, value in facts.assignments:
        if _DATASET_SETTING.search(name):
            chosen = _TINY_DATASET_NAMES.get(str(resolved_value(value)).lower())
            if chosen:
                return f"{chosen}, chosen by `{name}`"
    for site in facts.calls:
        if site.attr == "add_argument" and site.node.args:
            flag = (string_value(site.node.args[0].value) or "").lstrip("-").replace("-", "_")
            if _DATASET_SETTING.search(flag):
                chosen = _TINY_DATASET_NAMES.get(str(resolved_value(argument(site.node, "default"))).lower())
                if chosen:
                    return f"{chosen}, chosen by `--{flag}`"
    return None


_NAMED_DATASET = re.compile(r"(mnist|cifar)\w*(dataset|data|loader)$", re.IGNORECASE)


def _small_data_file(site: CallSite) -> str | None:
    """`pd.read_csv("ag_news_csv/train.csv")`, `Repo.clone_from(".../mnist-pngs", ...)`: a known small
    dataset named in the path it is read from."""
    for arg in site.node.args:
        path = string_value(arg.value)
        if path:
            match = _FILE_DATA.search(path)
            if match:
                return _FILE_DATA_NAMES[match.group(1).lower().replace("-", "").replace("_", "")]
    return None


def _too_large_image(site: CallSite, qualname: str) -> bool:
    """`transforms.Resize(224)`, `F.interpolate(size=...)`: small images upsampled for a big model."""
    last = qualname.rsplit(".", 1)[-1]
    if last in ("Resize", "RandomResizedCrop", "CenterCrop", "RandomCrop") and qualname.startswith("torchvision."):
        return _side_above(resolved_value(argument(site.node, "size", 0)))
    if last in ("interpolate", "Upsample"):
        return _side_above(resolved_value(argument(site.node, "size", 1 if last == "interpolate" else 0)))
    return False


def _side_above(value: object) -> bool:
    if isinstance(value, int) and not isinstance(value, bool):
        return value > MAX_IMAGE_SIDE
    if isinstance(value, (list, tuple)):
        return any(isinstance(v, int) and v > MAX_IMAGE_SIDE for v in value)
    return False  # not known: the width checks decide


def _widths(site: CallSite, positions: tuple[int, ...]) -> list[int]:
    """The width arguments that resolve to integers (literal, constant or configured default),
    passed by position or by their keyword names."""
    nodes = [arg.value for index, arg in enumerate(positional_args(site.node)) if index in positions]
    nodes += [arg.value for arg in site.node.args if arg.keyword is not None and arg.keyword.value in _WIDTH_KEYWORDS]
    found = []
    for node in nodes:
        value = resolved_value(node)
        if isinstance(value, int) and not isinstance(value, bool):
            found.append(value)
    return found


def _argparse_width_too_large(site: CallSite) -> bool:
    """`parser.add_argument("--hidden-dim", default=4096)` or `--img_size` default 256."""
    if site.attr != "add_argument" or not site.node.args:
        return False
    flag = string_value(site.node.args[0].value) or ""
    default = argument(site.node, "default")
    value = resolved_value(default) if default is not None else NOT_LITERAL
    if not isinstance(value, int) or isinstance(value, bool):
        return False
    name = flag.lstrip("-")
    if _SIDE_SETTING.search(name.replace("-", "_")):
        return value > MAX_IMAGE_SIDE
    return bool(_WIDTH_SETTING.search(name)) and value > MAX_WIDTH


@once_per_module
def _width_constants(analysis: ModuleAnalysis) -> list[int] | None:
    """The values of width-like constants (`HIDDEN_DIM = 256`, `embedding_dim = 300`: notebooks pass
    them to the model class), or None when one of them, or an image side (`IMG_SIZE = 224`), is
    above the limits."""
    found = []
    settings = list(analysis.facts.assignments) + _parameter_defaults(analysis.module)
    for name, value in settings:
        for number in _integers(value):
            if _SIDE_SETTING.search(name) and number > MAX_IMAGE_SIDE:
                return None
            if _WIDTH_SETTING.search(name) or _UNITS_SETTING.search(name):
                if number > MAX_WIDTH:
                    return None
                found.append(number)
    return found


def _integers(value: cst.BaseExpression) -> list[int]:
    """`256` -> [256]; `(100, 50)` or `[32, 16]` (a list of hidden widths) -> [100, 50]; else []."""
    if isinstance(value, cst.Integer):
        return [int(value.value.replace("_", ""), 0)]
    if isinstance(value, (cst.Tuple, cst.List)) and value.elements:
        items = [element.value for element in value.elements]
        if all(isinstance(item, cst.Integer) for item in items):
            return [int(item.value.replace("_", ""), 0) for item in items]  # type: ignore[union-attr]
    return []


def _parameter_defaults(module: cst.Module) -> list[tuple[str, cst.BaseExpression]]:
    """`def __init__(self, hidden_units=(32, 16))`: the defaults a model class builds its layers from."""
    found: list[tuple[str, cst.BaseExpression]] = []

    class Defaults(cst.CSTVisitor):
        def visit_Param(self, node: cst.Param) -> None:
            if node.default is not None:
                found.append((node.name.value, node.default))

    visit(module, Defaults())
    return found
