"""The rule catalog: every rule greenlint knows, by code.

Each rule lives in its own module `rules/<family>/glNNN_<name>.py` that defines `RULE`; the
catalog imports every such module of the family packages, so adding a rule is adding a module.

The rule modules (and libcst with them) are imported only when `ALL_RULES`, `RULES_BY_CODE` or
`get_rule` is first used: codes, preview flags and trigger words come from the generated
`catalog` without them, so a command that needs no rule does not pay for importing them.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING

from greenlint.rules.base import FAMILIES, Evidence, Report, Rule
from greenlint.rules.catalog import CATALOG

FAMILY_PACKAGES = ("precision", "model_choice", "data_pipeline", "training_loop", "experiment", "dataframes")

ALL_CODES: tuple[str, ...] = tuple(entry.code for entry in CATALOG)
PREVIEW_CODES: frozenset[str] = frozenset(entry.code for entry in CATALOG if entry.preview)
# Preview rules whose findings no judge found worth acting on in any blind corpus, long runs
# included (`python bench/verdict_table.py`): `long-runs` does not enable them (advisor/long_runs.py).
NEVER_WORTH: frozenset[str] = frozenset({
    "GL405",  # fused Adam: 0 of 154 findings with a verdict (the default foreach kernels are close)
    "GL308",  # persistent workers: 0 of 54 (worker start-up is seconds per epoch)
    "GL412",  # conv bias before BatchNorm: 0 of 13 (a few FLOPs per channel)
    # pin_memory missing: 18 of 97 overall and 0 of 5 in the files blind9-11 name as long runs
    # (session 10, before the default began to detect long runs): the copy it speeds up is a small
    # share of a step unless batches are large images, which the rule cannot see
    "GL307",
    # session 12, every blind verdict so far (blind2-17, `python bench/verdict_table.py`): n_jobs in a
    # search 0 of 10 worth acting on (XGBoost/LightGBM thread by default; small grids), `range(len(a))`
    # loops 0 of 6 (small arrays, run once)
    "GL603",
    "GL604",
})
# The run-length rules: preview rules whose worth depends on how long the run is. They report as
# default rules in a file the user names in `long-runs` or whose code shows a long run
# (advisor/long_runs.py, rules/analysis/long_run_evidence.py).
RUN_LENGTH_CODES: frozenset[str] = PREVIEW_CODES - NEVER_WORTH
# Run-length rules whose waste sits outside the training loop: an inference loop (per-sample
# `predict`, per-example model calls) or data preparation (row-wise pandas, appending to a frame in
# a loop). How long the file's *training* runs says nothing about how long those loops run, so the
# long-run detection (a training length) does not report them; naming the file in `long-runs` does.
# Session 13: 0 of 7 worth acting on in blind20's default findings, all beside a tutorial's `fit`;
# over every blind verdict GL601 2 of 35, GL602 11 of 81 (`python3 bench/verdict_table.py`).
OUTSIDE_TRAINING_CODES: frozenset[str] = frozenset({"GL409", "GL417", "GL601", "GL602"})
# Run-length rules the judges rarely found worth acting on where the detection (not the user)
# said the run is long: blind12-20 verdicts on default-run findings (judged ones only; labelled
# findings are decided by the labels), session 13: GL503 no checkpoint 2 of 23 (plus 0 of 2 by
# blind20's labels: a crash's expected loss, not waste), GL414 `losses.append(loss)` 0 of 12 (memory
# held, not energy). Naming the file in `long-runs` still shows them. Session 15: GL311 (a serial
# tf.data `map`) 0 of 11 over every blind verdict, 0 of 4 in blind30's default run (maps after
# `.cache()`, a few ms per step).
RARELY_WORTH_WHEN_DETECTED: frozenset[str] = frozenset({"GL503", "GL414", "GL311"})
# Run-length rules whose saving is a share of ONE training (early stopping cuts one fit short): in a
# notebook whose saved output shows every training under an hour (long_run_evidence.
# each_training_short), a detected long run made of many short fits does not show them. Session 16:
# blind30's course notebook of eight 8-16 minute fits (1.2 h in all), 0 of 5 GL502 findings worth it.
PER_FIT_CODES: frozenset[str] = frozenset({"GL502"})
# Run-length rules whose waste needs several GPUs in one process (DataParallel): a detected long run
# shows them only where the module shows the run uses two or more (rules/analysis/multi_gpu.py).
# Session 16: GL408 24 of 83 over every blind verdict, right where the README or configs run on
# 2-8 GPUs and wrong on one GPU (blind32's AudioSet and blind35's Person_reID on their defaults).
MULTI_GPU_CODES: frozenset[str] = frozenset({"GL408"})
# Run-length rules whose saving needs a compute-bound step (mixed precision speeds up the arithmetic
# only where the arithmetic dominates): a detected long run shows them only with evidence of a
# compute-heavy step or a run spread over several GPUs, never for a known small workload, a model of
# narrow Linear layers only, or where the project names a GPU without tensor cores. A long run of a
# launch-bound step saves about nothing. Session 17: GL101 on blind36's SAC and TD3 scripts (100,000
# steps of 256-400-wide MLPs, 0 of 5 worth it); session 18: 6 of 26 right on blind38-51 without the
# compute-heavy condition. A named long run still shows them at their estimate.
COMPUTE_BOUND_CODES: frozenset[str] = frozenset({"GL101"})
# Run-length rules about host syncs on every step: on a detected long run whose step is
# compute-heavy they show only where the module syncs several times (detection_scope.py).
STEP_SYNC_CODES: frozenset[str] = frozenset({"GL401"})
# The run-length rules a detected long run (rules/analysis/long_run_evidence.py) shows.
DETECTION_CODES: frozenset[str] = RUN_LENGTH_CODES - OUTSIDE_TRAINING_CODES - RARELY_WORTH_WHEN_DETECTED

if TYPE_CHECKING:
    ALL_RULES: tuple[Rule, ...]
    RULES_BY_CODE: dict[str, Rule]


def _discover() -> tuple[Rule, ...]:
    from greenlint.rules.file_problems import RULES as FILE_PROBLEM_RULES

    found: list[Rule] = list(FILE_PROBLEM_RULES)
    for family in FAMILY_PACKAGES:
        package = importlib.import_module(f"{__name__}.{family}")
        for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
            if info.name.startswith("gl"):
                module = importlib.import_module(f"{package.__name__}.{info.name}")
                found.append(module.RULE)
    codes = [rule.code for rule in found]
    duplicates = {code for code in codes if codes.count(code) > 1}
    if duplicates:
        raise RuntimeError(f"duplicate rule codes: {sorted(duplicates)}")
    return tuple(sorted(found, key=lambda rule: rule.code))


def __getattr__(name: str):  # noqa: ANN202 - PEP 562: the rules load on first use
    if name in ("ALL_RULES", "RULES_BY_CODE"):
        rules = _discover()
        globals().update(ALL_RULES=rules, RULES_BY_CODE={rule.code: rule for rule in rules})
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def rules_for(codes: list[str]) -> list[Rule]:
    """The rules with these codes, importing only the modules that define them (the catalog says
    which): a file that only a few rules' trigger words match does not pay for the others."""
    loaded = globals().get("RULES_BY_CODE")
    if loaded is not None:
        return [loaded[code] for code in codes if code in loaded]
    by_module = {entry.code: entry.module for entry in CATALOG}
    found = []
    for code in codes:
        module_name = by_module.get(code)
        if not module_name:  # not in the catalog (it is stale; tests/test_startup.py says so): load all
            return [rule for rule in __getattr__("ALL_RULES") if rule.code in codes]
        module = importlib.import_module(module_name)
        found += [rule for rule in getattr(module, "RULES", (getattr(module, "RULE", None),)) if rule and rule.code == code]
    return found


def get_rule(code: str) -> Rule | None:
    by_code = globals().get("RULES_BY_CODE") or __getattr__("RULES_BY_CODE")
    return by_code.get(code.upper())


__all__ = ["ALL_RULES", "ALL_CODES", "PREVIEW_CODES", "NEVER_WORTH", "RUN_LENGTH_CODES", "DETECTION_CODES", "RULES_BY_CODE", "FAMILIES", "Evidence", "Report", "Rule", "get_rule", "rules_for"]
