"""GL204: a deep neural network trained on small tabular data, where trees or linear models do."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.facts import CallSite
from greenlint.rules.analysis.literals import argument, resolved_value, string_value
from greenlint.rules.analysis.precision_facts import is_test_module, keras_root
from greenlint.rules.analysis.training_loop_facts import walk
from greenlint.rules.base import Evidence, Report, Rule

# Row counts of the toy tables (scikit-learn / Keras dataset documentation).
_TOY_TABLES = {
    "load_iris": ("the Iris table", 150),
    "load_wine": ("the Wine table", 178),
    "load_breast_cancer": ("the breast-cancer table", 569),
    "load_diabetes": ("the diabetes table", 442),
    "load_boston": ("the Boston housing table", 506),
    "load_linnerud": ("the Linnerud table", 20),
    "fetch_california_housing": ("the California housing table", 20_640),
    "make_classification": ("a synthetic `make_classification` table", None),
    "make_regression": ("a synthetic `make_regression` table", None),
}
# The cited basis (Grinsztajn et al., NeurIPS 2022) benchmarks tables of about 10,000 rows, and
# 50,000 in its "large" setting, where trees still win but the gap narrows. Beyond that the
# evidence says nothing, so a table is "small" only when its row count is known and at most this.
MAX_SMALL_ROWS = 50_000
_TABLE_READERS = frozenset({"pandas.read_csv", "pandas.read_excel", "pandas.read_parquet", "pandas.read_sql", "pandas.read_table"})
_TABULAR_PREPROCESSING = frozenset(
    {
        "sklearn.preprocessing.StandardScaler", "sklearn.preprocessing.MinMaxScaler", "sklearn.preprocessing.RobustScaler",
        "sklearn.preprocessing.MaxAbsScaler", "sklearn.preprocessing.OneHotEncoder", "sklearn.preprocessing.LabelEncoder",
        "sklearn.preprocessing.OrdinalEncoder", "sklearn.compose.ColumnTransformer", "sklearn.impute.SimpleImputer",
        "sklearn.impute.KNNImputer", "pandas.get_dummies",
    }
)
# Data a CSV may hold that is not tabular in the trees-win sense.
_NOT_TABULAR_FILE = re.compile(
    r"mnist|digit|fashion|pixel|image|img|photo|text|tweet|review|sentiment|news|spam|comment|sequence|"
    r"time_?series|stock|price_history|audio|signal|ecg|eeg",
    re.IGNORECASE,
)
_TORCH_DENSE = frozenset({"torch.nn.Linear", "torch.nn.modules.linear.Linear", "torch.nn.LazyLinear"})
_TORCH_NOT_MLP = re.compile(
    r"^torch\.nn\.(Conv|LazyConv|ConvTranspose|LSTM|GRU|RNN|Embedding|Transformer|MultiheadAttention)"
)
_KERAS_NOT_MLP = re.compile(
    r"\.layers\.(Conv|SeparableConv|DepthwiseConv|LSTM|GRU|SimpleRNN|Bidirectional|Embedding|MultiHeadAttention|TextVectorization)"
)
# The user already compares with (or uses) the usual tabular models.
_TABULAR_BASELINES = ("xgboost", "lightgbm", "catboost", "sklearn.ensemble", "sklearn.linear_model", "sklearn.tree")
_LIGHTNING = ("lightning.", "pytorch_lightning.")


@dataclass(frozen=True)
class TabularSignal:
    text: str  # "the Iris table (150 rows)"
    index: int  # position of the loading call among the module's calls (cell order in a notebook)


def _tabular_signal(analysis: ModuleAnalysis) -> TabularSignal | None:
    """Small tabular data whose size is known: a toy table, or a table read with a visible row
    limit (`nrows=` at most MAX_SMALL_ROWS) whose features are scaled or encoded. A table of
    unknown size is not called small (issue 14: a 900k-row table was)."""
    toy = reader = None
    preprocessing = False
    for index, site in enumerate(analysis.facts.calls):
        qualname = site.qualname or ""
        last = qualname.rsplit(".", 1)[-1]
        if qualname.startswith("sklearn.datasets.") and last in _TOY_TABLES:
            text = _toy_text(*_TOY_TABLES[last], site)
            if text and toy is None:
                toy = TabularSignal(text, index)
        elif qualname.endswith("boston_housing.load_data") and keras_root(qualname):
            toy = toy or TabularSignal("the Boston housing table (506 rows)", index)
        elif qualname in _TABLE_READERS:
            path = string_value(argument(site.node, "filepath_or_buffer", 0) or argument(site.node, "io", 0)) or ""
            if _NOT_TABULAR_FILE.search(path):
                return None
            rows = resolved_value(argument(site.node, "nrows"))
            if reader is None and isinstance(rows, int) and not isinstance(rows, bool) and 0 < rows <= MAX_SMALL_ROWS:
                name = f"the table `{path.rsplit('/', 1)[-1]}`" if path else "a CSV table"
                reader = TabularSignal(f"{name} (at most {rows:,} rows read)", index)
        elif qualname in _TABULAR_PREPROCESSING:
            preprocessing = True
    if toy:
        return toy
    if reader and preprocessing:
        return TabularSignal(f"{reader.text}, scaled/encoded features", reader.index)
    return None


def _toy_text(name: str, rows: int | None, site: CallSite) -> str:
    if rows is not None:
        return f"{name} ({rows:,} rows)"
    samples = resolved_value(argument(site.node, "n_samples", 0))
    if isinstance(samples, int) and not isinstance(samples, bool):
        return f"{name} ({samples:,} rows)" if samples <= MAX_SMALL_ROWS else ""
    return f"{name} (100 rows by default)" if argument(site.node, "n_samples", 0) is None else ""


def _deep_network(analysis: ModuleAnalysis, signal: TabularSignal) -> tuple[CallSite, int, str] | None:
    """(first dense layer, number of dense layers, framework) for an MLP trained in this module.
    In a notebook, whose cells run in order, only layers built after the table is loaded and
    before other data is loaded count: a model of another cell is trained on other data."""
    torch_dense: list[CallSite] = []
    keras_dense: list[CallSite] = []
    fits = lightning = False
    notebook = analysis.facts.context.notebook
    for index, site in enumerate(analysis.facts.calls):
        qualname = site.qualname or ""
        if notebook and index < signal.index:
            continue
        if notebook and index > signal.index and _other_data(qualname):
            break
        if qualname in _TORCH_DENSE:
            torch_dense.append(site)
        elif qualname.endswith(".layers.Dense") and keras_root(qualname):
            keras_dense.append(site)
        elif _TORCH_NOT_MLP.match(qualname) or (_KERAS_NOT_MLP.search(qualname) and keras_root(qualname)):
            return None  # convolutions, recurrence, embeddings: not a plain MLP on features
        elif site.attr in ("from_pretrained",) or qualname.startswith(_TABULAR_BASELINES):
            return None
        elif site.is_method_call and site.attr == "fit" and site.qualname is None:
            fits = True
        elif qualname.startswith(_LIGHTNING) and qualname.endswith("Trainer"):
            lightning = True
    if any(binding.startswith(_TABULAR_BASELINES) for binding in analysis.facts.imports.bindings.values()):
        return None
    if lightning or any(loop.does_training for loop in analysis.facts.loops):
        network = _largest_network(analysis, torch_dense)
        if network is not None:
            return network[0], network[1], "PyTorch"
    if fits:
        network = _largest_network(analysis, keras_dense)
        if network is not None:
            return network[0], network[1], "Keras"
    return None


def _other_data(qualname: str) -> bool:
    """A dataset load that is not the small table (Keras `imdb.load_data`, torchvision datasets)."""
    if qualname.endswith(".load_data") and keras_root(qualname):
        return not qualname.endswith("boston_housing.load_data")
    return qualname.startswith(("torchvision.datasets.", "tensorflow_datasets.")) or qualname == "datasets.load_dataset"


def _largest_network(analysis: ModuleAnalysis, dense: list[CallSite]) -> tuple[CallSite, int] | None:
    """(first dense layer, layer count) of the deepest network with at least three dense layers.
    Layers written inside one `Sequential(...)` form a network; the others (subclassed modules, the
    functional API) count together per function or class, and at the top level only in a module
    that builds no `Sequential` (else they are the cells' demos of single layers). A notebook that
    builds many small models is not one deep one."""
    if len(dense) < 3:
        return None
    by_id = {id(site.node): site for site in dense}
    groups: list[list[CallSite]] = []
    grouped: set[int] = set()
    for site in analysis.facts.calls:
        if (site.qualname or "").rsplit(".", 1)[-1] != "Sequential":
            continue
        members = [by_id[id(node)] for node in walk(site.node) if id(node) in by_id and id(node) not in grouped]
        grouped.update(id(member.node) for member in members)
        if members:
            groups.append(members)
    loose: dict[tuple[str | None, str | None], list[CallSite]] = {}
    for site in dense:
        if id(site.node) not in grouped:
            owner = (site.class_name, site.function.name if site.function is not None else None)
            loose.setdefault(owner, []).append(site)
    for owner, members in loose.items():
        if owner != (None, None) or not groups:
            groups.append(members)
    if not groups:
        return None
    deepest = max(groups, key=len)
    return (deepest[0], len(deepest)) if len(deepest) >= 3 else None


class DeepNetworkOnSmallTabularData(Rule):
    code = "GL204"
    name = "deep-network-on-small-tabular-data"
    summary = "A multi-layer neural network is trained on small tabular data, where boosted trees or linear models usually do better"
    detects = """
        Two signals in the same module. Small tabular data: a scikit-learn toy table (`load_iris`,
        `load_wine`, `load_breast_cancer`, `load_diabetes`, `fetch_california_housing`,
        `make_classification`, `make_regression`, with at most 50,000 `n_samples`), Keras
        `boston_housing`, or a table read with `pd.read_csv`/`read_excel`/`read_parquet` with a row
        limit of at most 50,000 (`nrows=`) whose features are scaled or encoded (`StandardScaler`,
        `MinMaxScaler`, `OneHotEncoder`, `LabelEncoder`, `ColumnTransformer`, `pd.get_dummies`,
        imputers). A table of unknown size is not called small: the cited benchmark covers tables of
        up to 50,000 rows, and a CSV may hold millions. A deep network trained on it: three or more `torch.nn.Linear`
        layers with a training loop (or a Lightning Trainer), or three or more Keras `Dense` layers with
        `fit` (counted per `Sequential(...)` network, so a notebook of many small models is not one
        deep network; in a notebook, only a network built after the table is loaded and before other
        data is loaded). Silent when the network has convolutions, recurrent layers, embeddings or attention,
        when a pretrained model is loaded, when the CSV's name suggests images, text, audio or time
        series, and when the module already uses XGBoost, LightGBM, CatBoost or scikit-learn
        ensembles/linear models/trees (the comparison is being made). Advice only.
    """
    why = """
        On small and medium tabular datasets (up to about 10,000 rows), gradient-boosted trees remain
        at least as accurate as deep networks and train in seconds on a CPU, without epochs of
        backpropagation on a GPU. Linear models are cheaper still and often enough. The network's
        training and, above all, its hyper-parameter search are the energy that a simpler model saves.
    """
    bad_example = """
        import torch
        from sklearn.datasets import load_breast_cancer

        X, y = load_breast_cancer(return_X_y=True)
        model = torch.nn.Sequential(
            torch.nn.Linear(30, 256), torch.nn.ReLU(),
            torch.nn.Linear(256, 256), torch.nn.ReLU(),
            torch.nn.Linear(256, 2),
        )
        opt = torch.optim.Adam(model.parameters())
        for epoch in range(500):
            loss = torch.nn.functional.cross_entropy(model(torch.tensor(X).float()), torch.tensor(y))
            loss.backward()
            opt.step()
            opt.zero_grad()
    """
    good_example = """
        from sklearn.datasets import load_breast_cancer
        from sklearn.ensemble import HistGradientBoostingClassifier
        from sklearn.model_selection import cross_val_score

        X, y = load_breast_cancer(return_X_y=True)
        print(cross_val_score(HistGradientBoostingClassifier(), X, y).mean())
    """
    fix = """
        Try a gradient-boosted tree model first (`sklearn.ensemble.HistGradientBoostingClassifier` /
        `Regressor`, XGBoost, LightGBM, CatBoost) and a regularised linear model
        (`LogisticRegression`, `Ridge`), with cross-validation. Keep the network only if it clearly
        wins on held-out data, and then prefer the smallest one that does.
    """
    fix_applicability = None
    evidence = (
        Evidence(
            "tree-based models remain state of the art against deep networks on medium-sized (~10K rows) tabular "
            "data, 'even without accounting for their superior speed' (45 datasets); in the benchmark's large "
            "setting (50,000 rows) trees still win but the gap narrows",
            "Grinsztajn, Oyallon, Varoquaux, 'Why do tree-based models still outperform deep learning on typical tabular data?', NeurIPS 2022 Datasets & Benchmarks",
            "paper",
        ),
        Evidence(
            "switching the learning algorithm alone changed energy use by up to two orders of magnitude (6 classic algorithms, 5,574-row dataset)",
            "Verdecchia et al., 'Data-Centric Green AI: An Exploratory Empirical Study', ICT4S 2022",
            "paper",
        ),
        Evidence(
            "'choose an energy-efficient / lightweight algorithm' and 'decrease model complexity' are green tactics for ML systems",
            "Järvenpää et al., 'A Synthesis of Green Architectural Tactics for ML-Enabled Systems', ICSE-SEIS 2024",
            "paper",
        ),
    )
    saving_scope = "the whole training run (and its hyper-parameter search): up to two orders of magnitude by algorithm choice (published)"
    # No quantified size: the cited energy figure is only an upper bound ("up to two orders of
    # magnitude"), so the impact is "unknown" and the finding is always shown.
    impact = None
    trigger = (
        ("Linear(", "Dense("),
        ("load_iris", "load_wine", "load_breast_cancer", "load_diabetes", "load_boston", "load_linnerud",
         "fetch_california_housing", "make_classification", "make_regression", "boston_housing", "read_csv",
         "read_excel", "read_parquet", "read_sql", "read_table"),
    )

    def check(self, analysis: ModuleAnalysis) -> Iterable[Report]:
        if is_test_module(analysis):
            return
        signal = _tabular_signal(analysis)
        if signal is None:
            return
        network = _deep_network(analysis, signal)
        if network is None:
            return
        site, layers, framework = network
        yield Report(
            site.node,
            # layers are counted by their calls in the source: a layer built in a loop or a
            # comprehension counts once, so the count is a lower bound
            f"a {framework} network with at least {layers} dense layers is trained on {signal.text}: on small tabular data, "
            "gradient-boosted trees or a linear model usually match or beat it at a fraction of the "
            "compute (Grinsztajn et al., NeurIPS 2022); try `HistGradientBoostingClassifier` or "
            "`LogisticRegression` first",
        )


RULE = DeepNetworkOnSmallTabularData()
