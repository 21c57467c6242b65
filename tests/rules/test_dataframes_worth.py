"""GL601-GL604 findings worth acting on (issue 14): searches whose fits already use every core,
row loops that run once over a small frame, and the Python loops over array elements GL604 now
recognises."""

from __future__ import annotations

import libcst as cst
import pytest
from rule_helpers import findings, fires, silent

# ==== GL603: the fits are already parallel ===========================================================

SEARCH_HEADER = """
    from sklearn.model_selection import GridSearchCV, cross_val_score, LeaveOneOut
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.ensemble import RandomForestClassifier
    from xgboost import XGBClassifier
    import lightgbm as lgb
    from catboost import CatBoostClassifier

    grid = {"max_depth": [3, 5, 7, 9], "learning_rate": [0.01, 0.05, 0.1, 0.3], "subsample": [0.6, 0.8, 1.0]}
"""


@pytest.mark.parametrize("body", [
    # boosting libraries thread by default
    "GridSearchCV(XGBClassifier(), grid, cv=5).fit(X, y)",
    "GridSearchCV(lgb.LGBMClassifier(), grid, cv=5).fit(X, y)",
    "model = CatBoostClassifier(verbose=0)\nsearch = GridSearchCV(model, grid, cv=5)",
    # as the last step of a pipeline, through names
    "clf = XGBClassifier()\npipe = Pipeline([('scale', StandardScaler()), ('clf', clf)])\nGridSearchCV(pipe, grid, cv=5)",
    # the estimator sets its own thread count
    "GridSearchCV(RandomForestClassifier(n_jobs=-1), grid, cv=5)",
    # the grid searches over n_jobs (a pipeline parameter too)
    "GridSearchCV(RandomForestClassifier(), {'max_depth': [3, 5, 7, 9], 'min_samples_leaf': [1, 2, 4, 8], 'max_features': [0.3, 0.6, 1.0], 'n_jobs': [-1]}, cv=5)",
    "GridSearchCV(RandomForestClassifier(), [{'clf__n_jobs': [-1], 'clf__max_depth': [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41]}], cv=5)",
    # leave-one-out over a threaded booster
    "cross_val_score(XGBClassifier(), X, y, cv=LeaveOneOut())",
])
def test_gl603_silent_when_the_fits_already_use_every_core(body):
    silent("GL603", SEARCH_HEADER + "\n" + "\n".join("    " + line for line in body.splitlines()) + "\n")


def test_gl603_still_fires_for_a_single_threaded_estimator():
    [finding] = findings(SEARCH_HEADER + """
    GridSearchCV(RandomForestClassifier(max_features="sqrt"), grid, cv=5).fit(X, y)
    """, "GL603")
    assert "241 fits" in finding.message


# ==== GL601: where the row loop runs (impact frequency) ================================================

def _reports(code: str, source: str) -> list:
    import textwrap

    import libcst as cst
    from greenlint.rules import RULES_BY_CODE
    from greenlint.rules.analysis import ModuleAnalysis

    module = cst.parse_module(textwrap.dedent(source).lstrip("\n"))
    return list(RULES_BY_CODE[code].check(ModuleAnalysis.of(module)))


TITANIC = """
    import pandas as pd
    from sklearn.ensemble import RandomForestClassifier

    df = pd.read_csv("train.csv")
    titles = []
    for _, row in df.iterrows():
        titles.append(row["Name"].split(",")[1].strip())
    df["Family"] = df.apply(lambda r: r["SibSp"] + r["Parch"] + 1, axis=1)
    lengths = [len(row["Name"]) for _, row in df.iterrows()]
    RandomForestClassifier().fit(df[["Family"]], df["Survived"])
"""


def test_gl601_preprocessing_next_to_training_runs_once():
    reports = _reports("GL601", TITANIC)
    assert len(reports) == 3
    assert {r.frequency for r in reports} == {"once"}


def test_gl601_pure_data_job_keeps_an_unknown_frequency():
    reports = _reports("GL601", TITANIC.replace('    RandomForestClassifier().fit(df[["Family"]], df["Survived"])\n', ""))
    assert len(reports) == 3
    assert {r.frequency for r in reports} == {"unknown"}


def test_gl601_row_loop_in_a_function_called_every_epoch():
    [report] = _reports("GL601", """
        import pandas as pd
        import torch

        frame = pd.read_parquet("meta.parquet")

        def epoch_weights(df: pd.DataFrame):
            return [row["w"] * 2 for _, row in df.iterrows()]

        for epoch in range(10):
            weights = epoch_weights(frame)
            for x, y in loader:
                loss = model(x).sum()
                loss.backward()
                optimizer.step()
    """)
    assert report.frequency == "every-epoch"


def test_gl601_row_loop_in_a_helper_called_from_nowhere_in_the_module_is_unknown():
    [report] = _reports("GL601", """
        import pandas as pd

        def add_totals(df: pd.DataFrame):
            df["t"] = df.apply(lambda r: r["a"] * r["b"], axis=1)
            model.fit(df)
    """)
    assert report.frequency == "unknown"


# ==== GL604: more spellings of a Python loop over array elements =======================================

ARRAYS = """
    import math
    import numpy as np

    signal = np.load("signal.npy")
    weights = np.random.rand(1000)
    out = np.empty_like(signal)
"""


@pytest.mark.parametrize("loop", [
    # enumerate over a numpy array, writing by index
    "for i, x in enumerate(signal):\n    out[i] = x * weights[i] + 1.0",
    # a reduction over the element values
    "total = 0.0\nfor x in signal:\n    total += x * x",
    # per-element results appended to a list
    "scaled = []\nfor x in signal:\n    scaled.append(math.exp(-x) / 2)",
    # two arrays in lockstep
    "dot = 0.0\nfor x, w in zip(signal, weights):\n    dot += x * w",
])
def test_gl604_element_value_loops(loop):
    source = ARRAYS + "\n".join("    " + line for line in loop.splitlines()) + "\n"
    fires("GL604", source)


@pytest.mark.parametrize("loop", [
    # a list of Python numbers is not an array
    "values = [1.0, 2.0, 3.0]\ntotal = 0\nfor x in values:\n    total += x * x",
    # a call per element that is not element-wise math (a model, a file)
    "preds = []\nfor x in signal:\n    preds.append(model.predict(x))",
    # a running value carried between iterations (a scan)
    "acc = []\nfor x in signal:\n    acc.append(x + len(acc))",
    # the element used as an index (a gather)
    "for i, x in enumerate(signal):\n    out[i] = weights[x]",
    # only a copy, no arithmetic
    "copy = []\nfor x in signal:\n    copy.append(x)",
    # a loop over the elements that neither reduces, writes nor appends
    "for x in signal:\n    y = x * 2",
])
def test_gl604_element_value_loop_traps(loop):
    source = ARRAYS + "\n".join("    " + line for line in loop.splitlines()) + "\n"
    silent("GL604", source)


# ==== GL602: arrays grown in a loop ==================================================================

def test_gl602_numpy_array_grown_per_frame_in_an_evaluation_loop():
    [finding] = findings("""
        import numpy as np
        import torch

        def evaluate(model, batches, labels_by_id, rate):
            results = []
            with torch.no_grad():
                for batch, lengths in batches:
                    predicted = model(batch).argmax(dim=2)
                    for j in range(len(lengths)):
                        frames = predicted[j][: lengths[j]]
                        recognition = []
                        for i in range(len(frames)):
                            recognition = np.concatenate((recognition, [labels_by_id[int(frames[i])]] * rate))
                        results.append(recognition)
            return results
    """, "GL602")
    assert "`recognition = np.concatenate((recognition, ...))`" in finding.message


@pytest.mark.parametrize("line", [
    "acc = np.append(acc, x * 2)",
    "acc = np.vstack([acc, x])",
    "acc = np.hstack((acc, x))",
])
def test_gl602_other_array_joins(line):
    fires("GL602", f"""
        import numpy as np
        import torch

        acc = np.empty((0, 3))
        for x in stream:
            {line}
    """)


@pytest.mark.parametrize("line", [
    # a join of two other arrays, not the array itself
    "pair = np.concatenate((left, right))",
    # stack builds a new axis from fixed pieces
    "out = np.stack([x, x])",
    # a fresh array each iteration, joined with itself (grey to RGB), is not a growing buffer
    "img = np.asarray(x)\nimg = np.concatenate([img, img, img], axis=2)",
    # growth under a condition (a few accepted items)
    "if x.ok:\n    acc = np.concatenate((acc, x.box))",
    # torch.cat in a loop is mostly architecture (dense blocks) or a few detections
    "acc = torch.cat((acc, x), 1)",
])
def test_gl602_array_joins_that_do_not_grow(line):
    body = "".join("    " + part + "\n" for part in line.splitlines())
    source = "import numpy as np\nimport torch\n\nacc = np.empty((0, 3))\nfor x in stream:\n" + body
    cst.parse_module(source)  # the trap must be valid Python, or the silence proves nothing
    silent("GL602", source)


def test_gl602_array_growth_over_a_short_written_out_range_is_cheap():
    silent("GL602", """
        import numpy as np

        results = []
        for p in range(1, 100, 2):
            results = np.append(results, score(p))
    """)


def test_gl601_comprehension_with_a_condition_over_iterrows():
    # A list comprehension over `read_csv(...).iterrows()` with an `if` (the shape of a Kaggle
    # whale-identification kernel in aorursy/new-nb-8, blind6): GL601 read the condition through a
    # libcst attribute CompIf does not have and crashed (GL000 internal error).
    source = """
        import pandas as pd
        labels = [r[1]["Id"] for r in pd.read_csv("train.csv").iterrows() if r[1]["Id"] != "new_whale"]
        odd = [r for r in pd.read_csv("train.csv").iterrows() if print(r)]
    """
    reports = _reports("GL601", source)
    assert len(reports) == 1  # the condition with a side effect (print) keeps the second silent
    assert not findings(source, "GL000")
