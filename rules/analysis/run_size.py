"""Is the module's whole training run small (minutes)? For GL502 and GL503 (issue 14).

Stopping early and checkpointing pay off on long runs. A small model on a small, well-known data
set (a LeNet or a few-layer MLP on MNIST/CIFAR, a small table) trains in minutes: the saved outputs
of rasbt/deeplearning-models show 20 epochs of small CNNs in 1.7-2.7 minutes on MNIST and 3.9 minutes on
CIFAR-10, and a 5-epoch MLP autoencoder on MNIST in 0.5 minutes (evidence.SMALL_RUN_MINUTES). The epochs
after the best one, or a run repeated after an interruption, cost little there.

The answer reuses `model_size.small_workload` (small data and a small model built in the module,
nothing pretrained, no deep architecture; its "tiny MLP on any data" does not count: the data
decides how long the run is), and adds one shape it does not resolve: an MLP whose
`Linear` widths come from a written-out tuple (`hidden_units=(32, 16)` passed or as a default, then
`for width in hidden_units: nn.Linear(size, width)`) on a known small data set. Anything it cannot
see keeps the answer "not small", so a real long run is never scaled down.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.model_size import (
    _ATTENTION,
    _DEEP_CLASS,
    _LARGE_PREFIXES,
    _WIDTH_SETTING,
    MAX_WIDTH,
    small_data,
    _too_large_image,
    _width_constants,
    _widths,
    small_workload,
)
from greenlint.rules.analysis.literals import argument, string_value
from greenlint.rules.analysis.tree import walk
from greenlint.rules.evidence import SMALL_RUN_MINUTES
from greenlint.rules.impact import Scale
from greenlint.rules.analysis.memo import once_per_module

# Stands for "a run of minutes": it puts GL502's estimate (midpoint 28 % x 0.05 = 1.4 %) under the
# 2 % "medium" level. It is not a measurement; the minutes it stands for are
# (evidence.SMALL_RUN_MINUTES).
SMALL_RUN_FACTOR = 0.05
EVIDENCE = SMALL_RUN_MINUTES


@dataclass(frozen=True)
class SmallRun:
    what: str  # "a small model (no layer width ... above 128) on MNIST (28x28)"

    def reason(self) -> str:
        return (f"{self.what}: such runs take minutes (20 epochs of small CNNs took 1.7-3.9 min on MNIST and "
                "CIFAR-10 in rasbt/deeplearning-models' saved outputs, docs/evidence.md#wlb-small-runs), so the "
                "epochs it could save cost little")

    def scale(self) -> Scale:
        return Scale(SMALL_RUN_FACTOR, self.reason())


@once_per_module
def small_run(analysis: ModuleAnalysis) -> SmallRun | None:
    """A SmallRun when the module visibly trains a small model on small data, else None."""
    workload = small_workload(analysis)
    # small_workload also calls a tiny MLP "small on any data" (launch-bound): the run's length
    # still depends on the data, so only a known small data set counts here
    if workload is not None and not workload.data.startswith("any data"):
        return SmallRun(workload.reason())
    return _tuple_width_mlp(analysis)


# layers that carry no width of their own; anything else of torch.nn with a width (Conv, LSTM,
# Embedding, attention) makes the model something other than a plain MLP
_WIDTHLESS = {"ReLU", "LeakyReLU", "GELU", "Tanh", "Sigmoid", "Softmax", "LogSoftmax", "Dropout", "Flatten",
              "Sequential", "ModuleList", "BatchNorm1d", "LayerNorm", "Identity", "CrossEntropyLoss", "MSELoss",
              "NLLLoss", "BCELoss", "BCEWithLogitsLoss", "Module", "Parameter"}
# torch.nn namespaces of functions, not layers
_NOT_LAYERS = ("torch.nn.functional.", "torch.nn.init.", "torch.nn.utils.")


def _tuple_width_mlp(analysis: ModuleAnalysis) -> SmallRun | None:
    """An MLP of `Linear` layers whose widths are written out as a tuple, on known small data."""
    facts = analysis.facts
    if any(_DEEP_CLASS.search(name) for name in facts.classes):
        return None
    data = None
    table = False  # the data is a known small table (not images)
    linears = 0
    for site in facts.calls:
        qualname = site.qualname or ""
        if site.attr == "from_pretrained" or qualname.startswith(_LARGE_PREFIXES) or _ATTENTION.match(qualname):
            return None
        if data is None:
            data = small_data(site, qualname)
            if data is None:
                data = _small_table(site, qualname)
                table = data is not None
        if _too_large_image(site, qualname):
            return None
        if qualname.startswith("torch.nn.") and qualname.count(".") <= 3:
            name = qualname.rsplit(".", 1)[-1]
            if name == "Linear":
                if any(width > MAX_WIDTH for width in _widths(site, (0, 1))):
                    return None
                linears += 1
            elif name not in _WIDTHLESS and not qualname.startswith(_NOT_LAYERS):
                return None
    constants = _width_constants(analysis)
    if data is None or not linears or constants is None:
        return None
    if table:
        # a plain MLP (every width that resolves at most MAX_WIDTH) on a table of about a thousand
        # rows runs a handful of steps per epoch, whatever its widths: rasbt's cement notebooks
        # (300-wide hidden layers as parameter defaults) print 7 batches per epoch, 350 steps in 50 epochs
        return SmallRun(f"an MLP on {data}")
    tuples = _width_tuples(analysis.module)
    if not tuples or any(width > MAX_WIDTH for widths in tuples for width in widths):
        return None
    widest = max(max(widths) for widths in tuples)
    return SmallRun(f"an MLP (hidden widths up to {widest}) on {data}")


# Public tables known to be small, by file name (the row counts are the files', not estimates):
# cement_strength.csv of gagolews/ordinal_regression_data has 998 rows (printed by the rasbt
# notebooks that read it), scikit-learn documents the Iris table's 150 samples.
_SMALL_TABLES = {"cement_strength": "the cement-strength table (998 rows)", "iris": "the Iris table (150 rows)"}
_TABLE_READERS = ("pandas.read_csv", "pandas.read_table", "pandas.read_excel", "pandas.read_parquet")


def _small_table(site, qualname: str) -> str | None:
    """`pd.read_csv(".../cement_strength.csv")`: a known small public table, by its file name."""
    if qualname not in _TABLE_READERS:
        return None
    path = string_value(argument(site.node, "filepath_or_buffer", 0)) or ""
    stem = path.replace("\\", "/").rsplit("/", 1)[-1].split(".", 1)[0].lower()
    return _SMALL_TABLES.get(stem)


def _width_tuples(module: cst.Module) -> list[list[int]]:
    """Tuples or lists of integers bound to a width-like name: a keyword argument, a parameter's
    default or an assignment (`hidden_units=(32, 16)`)."""
    found = []
    for node in walk(module):
        if isinstance(node, cst.Param) and node.default is not None:
            name, value = node.name.value, node.default
        elif isinstance(node, cst.Arg) and node.keyword is not None:
            name, value = node.keyword.value, node.value
        elif isinstance(node, cst.Assign) and len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
            name, value = node.targets[0].target.value, node.value
        else:
            continue
        if not _WIDTH_SETTING.search(name) or not isinstance(value, (cst.Tuple, cst.List)) or not value.elements:
            continue
        if all(isinstance(e, cst.Element) and isinstance(e.value, cst.Integer) for e in value.elements):
            found.append([int(e.value.value.replace("_", ""), 0) for e in value.elements])  # type: ignore[attr-defined]
    return found
