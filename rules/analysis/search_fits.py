"""Static sizes of hyper-parameter searches (GL501, GL603): how many fits a search will run.

`search_size(site, facts)` reads a scikit-learn search call and counts, where the code spells it
out, the candidates (sum over grids of the product of the value-list lengths, or `n_iter`), the
cross-validation folds (`cv=k`, a `KFold(n_splits=k)`-style splitter, or the default 5) and the
final refit. Names are followed to their one assignment in the module (`param_grid = {...}`,
`C_range = np.logspace(-2, 10, 13)`), so the classic sklearn spellings are counted. Anything
that cannot be counted statically gives None: a rule then says nothing rather than guess.

Separate from experiment_facts.py, which holds the training-configuration facts of GL502-GL506
(epoch counts, callbacks, trainers, test code); the name following (`follow`) is shared from there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import libcst as cst
from greenlint.rules.analysis.experiment_facts import follow
from greenlint.rules.analysis.facts import CallSite, ModuleFacts
from greenlint.rules.analysis.literals import NOT_LITERAL, argument, has_double_star, literal_value

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
