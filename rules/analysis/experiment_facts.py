"""Static sizes of hyper-parameter searches (GL501, GL603): how many fits a search will run.

`search_size(site, facts)` reads a scikit-learn search call and counts, where the code spells it
out, the candidates (sum over grids of the product of the value-list lengths, or `n_iter`), the
cross-validation folds (`cv=k`, a `KFold(n_splits=k)`-style splitter, or the default 5) and the
final refit. Names are followed to their one assignment in the module (`param_grid = {...}`,
`C_range = np.logspace(-2, 10, 13)`), so the classic sklearn spellings are counted. Anything
that cannot be counted statically gives None: a rule then says nothing rather than guess.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import libcst as cst
from greenlint.rules.analysis.facts import CallSite, ModuleFacts
from greenlint.rules.analysis.literals import (
    NOT_LITERAL,
    argument,
    has_double_star,
    literal_value,
    resolved_value,
    value_source,
)
from greenlint.rules.analysis.scope_facts import imports_test_code

# scikit-learn's default number of folds since 0.22
DEFAULT_FOLDS = 5
# Random search with 60 candidates finds one of the grid's best 5 % with probability
# 1 - 0.95**60 = 0.954 (sampling without replacement does at least as well).
RANDOM_BUDGET = 60
# A search of this many fits or more is "large" (GL501, GL603); an expensive estimator fires earlier.
LARGE_SEARCH_FITS = 200
EXPENSIVE_SEARCH_FITS = 50

GRID_SEARCHES = frozenset(
    {
        "sklearn.model_selection.GridSearchCV",
        "sklearn.model_selection._search.GridSearchCV",
        "sklearn.grid_search.GridSearchCV",
    }
)
RANDOM_SEARCHES = frozenset(
    {
        "sklearn.model_selection.RandomizedSearchCV",
        "sklearn.model_selection._search.RandomizedSearchCV",
        "sklearn.grid_search.RandomizedSearchCV",
    }
)
CROSS_VALIDATIONS = frozenset(
    {
        "sklearn.model_selection.cross_val_score",
        "sklearn.model_selection.cross_validate",
        "sklearn.model_selection.cross_val_predict",
        "sklearn.model_selection._validation.cross_val_score",
        "sklearn.model_selection._validation.cross_validate",
        "sklearn.cross_validation.cross_val_score",
    }
)
# Splitters whose number of fits is `n_splits` (first positional parameter) and its default.
_SPLITTERS = {
    "KFold": 5, "StratifiedKFold": 5, "GroupKFold": 5, "StratifiedGroupKFold": 5,
    "TimeSeriesSplit": 5, "ShuffleSplit": 10, "StratifiedShuffleSplit": 10, "GroupShuffleSplit": 5,
}
_REPEATED_SPLITTERS = {"RepeatedKFold", "RepeatedStratifiedKFold"}  # n_splits=5 x n_repeats=10
# One fit per sample (or per group): far more fits than any grid, count unknown statically.
PER_SAMPLE_SPLITTERS = frozenset({"LeaveOneOut", "LeavePOut", "LeaveOneGroupOut", "LeavePGroupsOut"})

# Estimators whose single fit is costly: kernel SVMs, ensembles, boosting, neural networks.
_EXPENSIVE_PREFIXES = (
    "sklearn.svm.SVC", "sklearn.svm.SVR", "sklearn.svm.NuSVC", "sklearn.svm.NuSVR",
    "sklearn.ensemble.", "sklearn.neural_network.", "sklearn.gaussian_process.",
    "xgboost.", "lightgbm.", "catboost.", "scikeras.", "skorch.",
    "keras.wrappers.", "tensorflow.keras.wrappers.", "keras.src.wrappers.",
)
_MAX_NAME_DEPTH = 3


@dataclass(frozen=True)
class SearchSize:
    kind: str  # "grid", "random" or "cross-validation"
    candidates: int
    folds: int | None  # None: the splitter is not a literal (the count is then a lower bound)
    refit: bool

    @property
    def fits(self) -> int:
        """Fits the search runs; with unknown folds, the least it can be (sklearn needs 2)."""
        return self.candidates * (self.folds or 2) + int(self.refit)

    @property
    def exact(self) -> bool:
        return self.folds is not None

    def fits_phrase(self) -> str:
        folds = f"{self.folds} folds" if self.folds is not None else "at least 2 folds (cv is not a literal)"
        refit = " + 1 refit" if self.refit else ""
        prefix = "" if self.exact else "at least "
        return f"{prefix}{self.fits:,} fits ({self.candidates:,} candidates x {folds}{refit})"


def assigned_value(name: str, facts: ModuleFacts) -> cst.BaseExpression | None:
    """The value of `name` when the module assigns it exactly once (`name = value`)."""
    values = [value for target, value in facts.assignments if target == name]
    return values[0] if len(values) == 1 else None


def follow(node: cst.BaseExpression | None, facts: ModuleFacts, depth: int = 0) -> cst.BaseExpression | None:
    while isinstance(node, cst.Name) and depth < _MAX_NAME_DEPTH:
        if node.value in facts.imports.bindings:
            return node
        node = assigned_value(node.value, facts)
        depth += 1
    return node


def sequence_length(node: cst.BaseExpression | None, facts: ModuleFacts, depth: int = 0) -> int | None:
    """How many values a literal sequence expression holds: `[1, 10, 100]`, `range(1, 10)`,
    `np.logspace(-3, 3, 7)`, `list(range(5))`, or a name assigned once to one of those."""
    node = follow(node, facts, depth)
    if isinstance(node, (cst.List, cst.Tuple, cst.Set)):
        if any(not isinstance(e, cst.Element) for e in node.elements):
            return None  # a starred element: unknown length
        return len(node.elements)
    if not isinstance(node, cst.Call) or has_double_star(node) or any(a.star for a in node.args):
        return None
    qualname = facts.imports.resolve(node.func)
    if isinstance(node.func, cst.Name) and node.func.value in ("list", "tuple") and node.func.value not in facts.imports.bindings:
        return sequence_length(node.args[0].value, facts, depth + 1) if len(node.args) == 1 else None
    if isinstance(node.func, cst.Name) and node.func.value == "range" and "range" not in facts.imports.bindings:
        values = [literal_value(a.value) for a in node.args]
        if not values or len(values) > 3 or any(type(v) is not int for v in values):
            return None
        try:
            return len(range(*values))
        except ValueError:
            return None
    if qualname in ("numpy.linspace", "numpy.logspace", "numpy.geomspace"):
        num = argument(node, "num", 2)
        value = 50 if num is None else literal_value(num)
        return value if type(value) is int and value >= 0 else None
    if qualname == "numpy.arange":
        values = [literal_value(a.value) for a in node.args if a.keyword is None]
        if not values or len(values) > 3 or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in values):
            return None
        start, stop, step = (0, values[0], 1) if len(values) == 1 else (values[0], values[1], values[2] if len(values) == 3 else 1)
        if step == 0:
            return None
        return max(0, math.ceil((stop - start) / step))
    return None


def grid_candidates(node: cst.BaseExpression | None, facts: ModuleFacts) -> int | None:
    """Candidates of a `param_grid`: a dict (product of value-list lengths), `dict(a=[...])`, or a
    list of those (sum over the grids)."""
    node = follow(node, facts)
    if isinstance(node, cst.Dict):
        total = 1
        for element in node.elements:
            if not isinstance(element, cst.DictElement):
                return None  # `**other`
            length = sequence_length(element.value, facts)
            if length is None:
                return None
            total *= length
        return total
    if (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Name)
        and node.func.value == "dict"
        and "dict" not in facts.imports.bindings
        and all(a.keyword is not None for a in node.args)
    ):
        total = 1
        for arg in node.args:
            length = sequence_length(arg.value, facts)
            if length is None:
                return None
            total *= length
        return total
    if isinstance(node, (cst.List, cst.Tuple)):
        if not node.elements or any(not isinstance(e, cst.Element) for e in node.elements):
            return None
        total = 0
        for element in node.elements:
            count = grid_candidates(element.value, facts)
            if count is None:
                return None
            total += count
        return total
    return None


def _splitter_name(qualname: str | None) -> str | None:
    if qualname is None or not qualname.startswith("sklearn."):
        return None
    return qualname.rsplit(".", 1)[-1]


def cv_folds(call: cst.Call, facts: ModuleFacts, position: int | None) -> int | None | str:
    """Folds of a search or cross-validation call: an int, None when not a literal, or
    "per-sample" for leave-one-out splitters."""
    node = argument(call, "cv", position)
    if node is None:
        return DEFAULT_FOLDS
    node = follow(node, facts)
    value = literal_value(node)
    if value is None:
        return DEFAULT_FOLDS  # cv=None is the default
    if type(value) is int:
        return value if value >= 2 else None
    if isinstance(node, cst.Call):
        name = _splitter_name(facts.imports.resolve(node.func))
        if name in PER_SAMPLE_SPLITTERS:
            return "per-sample"
        if name in _SPLITTERS:
            n = argument(node, "n_splits", 0)
            n_value = _SPLITTERS[name] if n is None else literal_value(n)
            return n_value if type(n_value) is int and n_value >= 1 else None
        if name in _REPEATED_SPLITTERS:
            n, r = argument(node, "n_splits", None), argument(node, "n_repeats", None)
            n_value = 5 if n is None else literal_value(n)
            r_value = 10 if r is None else literal_value(r)
            if type(n_value) is int and type(r_value) is int:
                return n_value * r_value
    return None


def search_size(site: CallSite, facts: ModuleFacts) -> SearchSize | None:
    """The size of a GridSearchCV / RandomizedSearchCV call, or None if it is not one or cannot
    be counted (a grid or `n_iter` that is not written out, `**kwargs`, leave-one-out)."""
    qualname = site.qualname
    call = site.node
    if has_double_star(call):
        return None
    if qualname in GRID_SEARCHES:
        kind = "grid"
        candidates = grid_candidates(argument(call, "param_grid", 1), facts)
    elif qualname in RANDOM_SEARCHES:
        kind = "random"
        n_iter = argument(call, "n_iter", 2)
        value = 10 if n_iter is None else literal_value(follow(n_iter, facts))
        candidates = value if type(value) is int and value > 0 else None
    else:
        return None
    if candidates is None:
        return None
    folds = cv_folds(call, facts, None)
    if folds == "per-sample":
        return None
    refit = literal_value(argument(call, "refit")) is not False
    return SearchSize(kind, candidates, folds, refit)  # type: ignore[arg-type]


def estimator_qualname(call: cst.Call, facts: ModuleFacts) -> str | None:
    """The qualified name of a search's estimator: `SVC()` or a name assigned from it; for a
    Pipeline, its last step."""
    node = follow(argument(call, "estimator", 0), facts)
    if not isinstance(node, cst.Call):
        return None
    qualname = facts.imports.resolve(node.func)
    if qualname in ("sklearn.pipeline.Pipeline", "sklearn.pipeline.make_pipeline"):
        if qualname.endswith("make_pipeline"):
            steps = [a.value for a in node.args if a.keyword is None and not a.star]
            last = steps[-1] if steps else None
        else:
            steps_node = follow(argument(node, "steps", 0), facts)
            last = None
            if isinstance(steps_node, (cst.List, cst.Tuple)) and steps_node.elements:
                pair = steps_node.elements[-1].value
                if isinstance(pair, cst.Tuple) and len(pair.elements) == 2:
                    last = pair.elements[1].value
        last = follow(last, facts) if last is not None else None
        if isinstance(last, cst.Call):
            return facts.imports.resolve(last.func)
        return None
    return qualname


def is_expensive_estimator(qualname: str | None) -> bool:
    return qualname is not None and qualname.startswith(_EXPENSIVE_PREFIXES)


def is_large(size: SearchSize, estimator: str | None) -> bool:
    return size.fits >= LARGE_SEARCH_FITS or (is_expensive_estimator(estimator) and size.fits >= EXPENSIVE_SEARCH_FITS)


def random_budget_saving(size: SearchSize) -> tuple[int, float] | None:
    """(fits with RandomizedSearchCV(n_iter=60), share of fits saved), for grids above 60 candidates."""
    if size.kind != "grid" or size.candidates <= RANDOM_BUDGET:
        return None
    folds = size.folds or 2
    budget_fits = RANDOM_BUDGET * folds + int(size.refit)
    return budget_fits, 1 - budget_fits / size.fits


def literal_int(node: cst.BaseExpression | None, facts: ModuleFacts) -> int | None:
    value = literal_value(follow(node, facts)) if node is not None else NOT_LITERAL
    return value if type(value) is int else None


# ---- training configuration facts shared by GL502-GL504 -------------------------------------------

KERAS_ROOTS = ("keras", "tensorflow", "tf_keras")
HF_TRAINING_ARGS = frozenset(
    {
        "transformers.TrainingArguments", "transformers.Seq2SeqTrainingArguments",
        "transformers.training_args.TrainingArguments", "transformers.training_args_seq2seq.Seq2SeqTrainingArguments",
        "trl.SFTConfig", "trl.DPOConfig", "trl.RewardConfig", "trl.ORPOConfig", "trl.KTOConfig", "trl.CPOConfig",
        "sentence_transformers.SentenceTransformerTrainingArguments",
        "sentence_transformers.training_args.SentenceTransformerTrainingArguments",
        "setfit.TrainingArguments",
    }
)
LIGHTNING_TRAINERS = frozenset(
    {
        "lightning.Trainer", "lightning.pytorch.Trainer", "pytorch_lightning.Trainer",
        "lightning.pytorch.trainer.Trainer", "pytorch_lightning.trainer.Trainer",
        "lightning.pytorch.trainer.trainer.Trainer", "pytorch_lightning.trainer.trainer.Trainer",
    }
)


def imports_any(facts: ModuleFacts, roots: tuple[str, ...]) -> bool:
    return any(value.split(".", 1)[0] in roots for value in facts.imports.bindings.values())


def is_keras_fit(site: CallSite, facts: ModuleFacts) -> bool:
    """`model.fit(...)` in a module that imports Keras/TensorFlow, with an `epochs=` argument."""
    return site.attr == "fit" and site.is_method_call and argument(site.node, "epochs") is not None and imports_any(facts, KERAS_ROOTS)


def is_hf_trainer(qualname: str | None) -> bool:
    if qualname is None:
        return False
    root, _, name = qualname.partition(".")
    return root in ("transformers", "trl", "sentence_transformers", "setfit") and name.rsplit(".", 1)[-1].endswith("Trainer")


def call_names_lower(facts: ModuleFacts) -> set[str]:
    """The called names of the module (`save_checkpoint`, `EarlyStopping` ...), lower-cased."""
    names = set()
    for site in facts.calls:
        attr = site.attr
        if attr is not None:
            names.add(attr.lower())
    return names


def mentions(facts: ModuleFacts, words: tuple[str, ...]) -> bool:
    """Whether a called name, a defined class or function, or an assigned attribute contains one of
    `words` (lower-case, underscores ignored)."""
    def norm(text: str) -> str:
        return text.lower().replace("_", "")

    candidates = {norm(n) for n in call_names_lower(facts)}
    candidates |= {norm(n) for n in facts.classes}
    candidates |= {norm(n) for n in facts.functions}
    candidates |= {norm(n) for n, _ in facts.assignments}
    return any(word in c for c in candidates for word in words)


def int_value(node: cst.BaseExpression | None, facts: ModuleFacts, depth: int = 0) -> int | None:
    """An integer written out in the module: a literal, a name assigned once to one, or + - * of those."""
    if node is None or depth > _MAX_NAME_DEPTH:
        return None
    if isinstance(node, cst.Name):
        if node.value in facts.imports.bindings:
            # `from constants import NUM_EPOCHS`: the project-wide configuration knows its value
            value = resolved_value(node)
            return value if type(value) is int else None
        assigned = assigned_value(node.value, facts)
        if assigned is not None:
            return int_value(assigned, facts, depth + 1)
        # a parameter: the value every caller passes, in the module or from the script that
        # calls it with its parsed options (`train(model, args.epochs)`; config_values)
        value = resolved_value(node)
        return value if type(value) is int else None
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, (cst.Add, cst.Subtract, cst.Multiply)):
        left, right = int_value(node.left, facts, depth + 1), int_value(node.right, facts, depth + 1)
        if left is None or right is None:
            return None
        if isinstance(node.operator, cst.Add):
            return left + right
        if isinstance(node.operator, cst.Subtract):
            return left - right
        return left * right
    # a configured default (`args.epochs`, `cfg["epochs"]`): the run's length unless overridden
    value = resolved_value(node)
    return value if type(value) is int else None


def configured_source(node: cst.BaseExpression | None, facts: ModuleFacts, depth: int = 0) -> str | None:
    """Where the configured value that `int_value` read comes from (`--epochs` defaults to 100
    (train.py:9)), following the same names and `range(...)` arguments; None for literals."""
    if node is None or depth > _MAX_NAME_DEPTH:
        return None
    if isinstance(node, cst.Name) and node.value not in facts.imports.bindings:
        followed = assigned_value(node.value, facts)
        if followed is not None:
            return configured_source(followed, facts, depth + 1)
    if isinstance(node, cst.BinaryOperation):
        return configured_source(node.left, facts, depth + 1) or configured_source(node.right, facts, depth + 1)
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "range":
        # the stop argument sets the length (`range(opt.epoch, opt.n_epochs)`): name it first
        ordered = list(node.args[1:2]) + list(node.args[:1]) + list(node.args[2:])
        found = [f for f in (configured_source(arg.value, facts, depth + 1) for arg in ordered) if f]
        return "; ".join(found) if found else None
    return value_source(node)


def range_length(node: cst.BaseExpression, facts: ModuleFacts) -> int | None:
    """The number of iterations of `range(N)` / `range(a, N)` / `range(a, N, s)` written out in the module."""
    if not (isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "range"):
        return None
    if "range" in facts.imports.bindings or not 1 <= len(node.args) <= 3 or any(a.keyword or a.star for a in node.args):
        return None
    values = [int_value(a.value, facts) for a in node.args]
    if any(v is None for v in values):
        return None
    try:
        return len(range(*values))  # type: ignore[arg-type]
    except ValueError:
        return None


def list_elements(node: cst.BaseExpression | None, facts: ModuleFacts) -> list[cst.BaseExpression] | None:
    """The elements of a literal list/tuple (followed through one assignment), [] when absent,
    None when unknown (a call, a parameter, a starred element)."""
    if node is None:
        return []
    node = follow(node, facts)
    if isinstance(node, (cst.List, cst.Tuple)):
        if any(not isinstance(e, cst.Element) for e in node.elements):
            return None
        return [e.value for e in node.elements]
    if literal_value(node) is None:
        return []
    return None


def known_callback(node: cst.BaseExpression, facts: ModuleFacts) -> str | None:
    """The qualified name of a callback built from a library class (`ModelCheckpoint(...)`, or a
    name assigned once from one); None when it comes from anything the module does not show."""
    node = follow(node, facts)
    if isinstance(node, cst.Call):
        return facts.imports.resolve(node.func)
    return None


def in_test_code(site: CallSite | None = None, function=None) -> bool:
    """Inside a pytest-style test (`def test_...`, `class Test...`): tests run tiny, deliberate
    configurations, not training jobs."""
    if function is None and site is not None:
        function = site.function
    class_name = site.class_name if site is not None else (function.class_name if function is not None else None)
    if function is not None and function.name.startswith("test"):
        return True
    return class_name is not None and class_name.startswith("Test")


def is_test_module(facts: ModuleFacts) -> bool:
    """A module that imports a test framework or test helpers: a test suite, whose training runs are
    tiny on purpose."""
    return imports_test_code(facts.imports)


def shrinks_dataset(facts: ModuleFacts, limit: int = 1000) -> bool:
    """`dataset.select(range(20))`, `.take(100)`: the module cuts its data to a demo-sized sample."""
    for site in facts.calls:
        if site.attr in ("select", "take") and site.is_method_call and len(site.node.args) == 1:
            value = site.node.args[0].value
            length = range_length(value, facts) if isinstance(value, cst.Call) else int_value(value, facts)
            if length is not None and 0 < length <= limit:
                return True
    return False
