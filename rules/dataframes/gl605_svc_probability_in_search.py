"""GL605: `SVC(probability=True)` cross-validated by a search whose scoring never reads probabilities."""

from __future__ import annotations

from collections.abc import Iterable

import libcst as cst

from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.experiment_facts import (
    follow,
    in_test_code,
    is_test_module,
)
from greenlint.rules.analysis.facts import ModuleFacts
from greenlint.rules.analysis.search_fits import CROSS_VALIDATIONS, GRID_SEARCHES, RANDOM_SEARCHES
from greenlint.rules.analysis.literals import argument, literal_value, string_value
from greenlint.rules.base import Report, Rule, RuleFix
from greenlint.rules.evidence import SVC_PROBABILITY_ARITHMETIC, SVC_PROBABILITY_CV
from greenlint.rules.fixes import set_keyword
from greenlint.rules.impact import RuleImpact, WasteSize

_SVCS = frozenset({"sklearn.svm.SVC", "sklearn.svm.NuSVC", "sklearn.svm._classes.SVC", "sklearn.svm._classes.NuSVC"})
# Scorers that call predict_proba; every other built-in scorer uses predict or decision_function
# (roc_auc and average_precision take SVC's decision_function).
_PROBA_SCORERS = ("neg_log_loss", "log_loss", "neg_brier_score", "brier", "roc_auc_ovr", "roc_auc_ovo", "d2_log_loss")
_MAX_DEPTH = 4
_HALVING = frozenset({"sklearn.model_selection.HalvingGridSearchCV", "sklearn.model_selection.HalvingRandomSearchCV"})
_SEARCHES = GRID_SEARCHES | RANDOM_SEARCHES | CROSS_VALIDATIONS | _HALVING


def _svc_calls(node: cst.BaseExpression | None, facts: ModuleFacts, depth: int = 0) -> list[cst.Call]:
    """The `SVC(...)` calls an estimator expression is, through names and pipelines (a pipeline's
    steps are the only containers followed: a soft-voting ensemble needs the probabilities)."""
    node = follow(node, facts)
    if node is None or depth > _MAX_DEPTH:
        return []
    if isinstance(node, cst.Call):
        qualname = facts.imports.resolve(node.func)
        if qualname in _SVCS:
            return [node]
        if qualname == "sklearn.pipeline.make_pipeline":
            return [svc for arg in node.args if not arg.keyword for svc in _svc_calls(arg.value, facts, depth + 1)]
        if qualname == "sklearn.pipeline.Pipeline":
            steps = follow(argument(node, "steps", 0), facts)
            if isinstance(steps, (cst.List, cst.Tuple)):
                return [
                    svc
                    for element in steps.elements
                    if isinstance(element.value, cst.Tuple) and len(element.value.elements) == 2
                    for svc in _svc_calls(element.value.elements[1].value, facts, depth + 1)
                ]
    return []


def _scoring_needs_probabilities(call: cst.Call, facts: ModuleFacts) -> bool | None:
    """False when the scoring is the default or named scorers that read no probabilities; True
    when one does; None when the scoring is computed (a callable, `make_scorer`): unknown."""
    scoring = follow(argument(call, "scoring"), facts)
    if scoring is None or literal_value(scoring) is None:
        return False
    value = literal_value(scoring)
    names = [value] if isinstance(value, str) else list(value) if isinstance(value, (list, tuple, set)) else None
    if names is None and isinstance(value, dict):
        return None  # {"name": scorer}: scorer objects
    if names is None or not all(isinstance(n, str) for n in names):
        return None
    return any(n.startswith(_PROBA_SCORERS) for n in names)


class SvcProbabilityInSearch(Rule):
    code = "GL605"
    name = "svc-probability-in-search"
    summary = "`SVC(probability=True)` in a search or cross-validation whose scoring reads no probabilities: an internal 5-fold CV per fit"
    detects = """
        `SVC(probability=True)` or `NuSVC(probability=True)` passed to `GridSearchCV`, `RandomizedSearchCV`,
        the halving searches, `cross_val_score`, `cross_validate` or `cross_val_predict` (directly, through a
        name, or as a step of `Pipeline` / `make_pipeline`), when the scoring is the default or built-in
        scorers that use `predict` or `decision_function` (accuracy, F1, ROC AUC ...). Silent when the
        scoring needs probabilities (`neg_log_loss`, `neg_brier_score`, one-vs-rest/one-vs-one ROC AUC),
        when it is computed (a callable, `make_scorer`), when `cross_val_predict` asks for
        `method="predict_proba"`, and in tests.
    """
    why = """
        With `probability=True`, every `fit` also runs libsvm's 5-fold cross-validation to calibrate the
        probabilities (Platt scaling): five more SVM fits on 4/5 of the data. In a search, that happens for
        every candidate and every fold, yet the scores are computed from `predict` or `decision_function`,
        so the calibration is thrown away.
    """
    bad_example = """
        from sklearn.model_selection import GridSearchCV
        from sklearn.svm import SVC

        search = GridSearchCV(SVC(probability=True), {"C": [0.1, 1, 10]}, cv=5, scoring="f1")
        search.fit(X, y)
    """
    good_example = """
        from sklearn.model_selection import GridSearchCV
        from sklearn.svm import SVC

        search = GridSearchCV(SVC(), {"C": [0.1, 1, 10]}, cv=5, scoring="f1")
        search.fit(X, y)
        final = SVC(probability=True, **search.best_params_).fit(X, y)  # only if probabilities are needed
    """
    fix = """
        Search with `probability=False` (the default) and, if probabilities are needed afterwards, refit the
        best parameters once with `probability=True` (or wrap the best model in `CalibratedClassifierCV`).
        The unsafe autofix sets `probability=False` when nothing in the module calls `predict_proba`:
        search scores do not change, but code elsewhere that reads the fitted model's probabilities would fail.
    """
    fix_applicability = "unsafe"
    evidence = (SVC_PROBABILITY_CV, SVC_PROBABILITY_ARITHMETIC)
    saving_scope = "the SVM fits of the search or cross-validation"
    impact = RuleImpact(
        size=WasteSize(0.72, 0.80, "5-fold Platt calibration inside every fit: 72-80 % of each fit (arithmetic on the documented 5-fold CV)"),
        frequency="run-wide",
    )
    # the keyword alone: `probability= True` and `probability = True` are spelled too (LuisMoraiis/
    # RecPadSinfromeGripal@eac9004 models/SVM.py, blind2); the check reads the parsed call
    trigger = (("probability",), ("SearchCV", "cross_val", "cross_validate"))

    def check(self, analysis: ModuleAnalysis) -> Iterable[Report]:
        facts = analysis.facts
        if is_test_module(facts):
            return
        reads_proba = any(site.attr in ("predict_proba", "predict_log_proba") for site in facts.calls)
        reported: set[int] = set()
        for site in facts.calls:
            qualname = site.qualname
            if qualname not in _SEARCHES or in_test_code(site):
                continue
            if _scoring_needs_probabilities(site.node, facts) is not False:
                continue
            if string_value(argument(site.node, "method")) in ("predict_proba", "predict_log_proba"):
                continue
            for svc in _svc_calls(argument(site.node, "estimator", 0), facts):
                if literal_value(argument(svc, "probability")) is not True or id(svc) in reported:
                    continue
                reported.add(id(svc))
                where = qualname.rsplit(".", 1)[-1]  # type: ignore[union-attr]
                fix = None
                if not reads_proba:
                    fix = RuleFix("search without probability calibration", "unsafe", set_keyword(svc, "probability", cst.Name("False")))
                yield Report(
                    svc,
                    f"`probability=True` makes every fit in this `{where}` run an extra 5-fold cross-validation "
                    "(Platt scaling), and its scoring never reads probabilities: search with `probability=False` "
                    "and refit the best parameters with probabilities once if you need them",
                    fix=fix,
                )


RULE = SvcProbabilityInSearch()
