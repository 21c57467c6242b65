"""GL6xx (dataframes and array code): true positives in several spellings, the false-positive traps
of the research catalog, and each fix's before/after."""

from __future__ import annotations

import pytest
from rule_helpers import findings, fires, fixed, silent


# ==== GL601 pandas-row-iteration ====================================================================

def test_gl601_iterrows_itertuples_and_comprehension():
    found = findings("""
        import pandas as pd

        def load():
            df = pd.read_parquet("x.parquet").dropna()
            scores = [row.a * 2 + row.b for row in df.itertuples()]
            out = {}
            for i, (idx, row) in enumerate(df.iterrows()):
                out[idx] = max(row["a"], row["b"]) / 3
            return scores, out
    """, "GL601")
    assert [f.location.row for f in found] == [5, 7]


def test_gl601_index_loop_and_apply_axis_1():
    found = findings("""
        import numpy as np
        from pandas import read_csv

        frame = read_csv("data.csv")
        frame = frame[frame["x"] > 0]
        for i in range(len(frame)):
            frame.loc[i, "z"] = frame.loc[i, "x"] ** 2 + np.log(frame.loc[i, "y"])
        frame["w"] = frame.apply(lambda r: r["x"] * r["y"] if r["x"] > 1 else 0, axis=1)
    """, "GL601")
    assert [f.location.row for f in found] == [6, 8]


def test_gl601_helper_function_applied_by_name():
    fires("GL601", """
        import pandas as pd

        def margin(row):
            return (row["price"] - row["cost"]) / row["price"]

        df = pd.concat([pd.read_csv(p) for p in paths])
        df["margin"] = df.apply(margin, axis="columns")
    """)


def test_gl601_annotated_dataframe_parameter():
    fires("GL601", """
        import pandas as pd

        def revenue(df: pd.DataFrame) -> float:
            total = 0.0
            for row in df.itertuples():
                total += row.price * row.quantity
            return total
    """)


@pytest.mark.parametrize("source", [
    # frame of unknown origin (a parameter)
    """
    import pandas as pd
    def f(df):
        return [r.a * 2 for _, r in df.iterrows()]
    """,
    # small: typed-in data, describe(), head(10)
    """
    import pandas as pd
    df = pd.DataFrame({"a": [1, 2, 3], "b": [4, 5, 6]})
    for _, r in df.iterrows():
        total = r.a + r.b
    big = pd.read_csv("x.csv")
    for _, r in big.describe().iterrows():
        x = r["mean"] * 2
    for _, r in big.head(10).iterrows():
        x = r["a"] * 2
    """,
    # row-wise I/O or API calls: cannot be vectorised
    """
    import pandas as pd
    import requests
    from PIL import Image
    df = pd.read_csv("images.csv")
    for _, row in df.iterrows():
        Image.open(row["path"]).resize((64, 64)).save(row["out"])
    for _, row in df.iterrows():
        requests.post(URL, json={"id": row["id"]})
    df["emb"] = df.apply(lambda r: model.encode(r["text"]), axis=1)
    """,
    # building objects from rows
    """
    import pandas as pd
    class Item:
        def __init__(self, a, b): ...
    df = pd.read_csv("x.csv")
    items = [Item(r.a, r.b) for r in df.itertuples()]
    """,
    # apply on columns (axis=0) and Series.apply
    """
    import pandas as pd
    df = pd.read_csv("x.csv")
    df.apply(lambda c: c.max() - c.min())
    df["a"].apply(lambda v: v * 2)
    """,
])
def test_gl601_traps(source):
    silent("GL601", source)


# ==== GL602 dataframe-grow-in-loop ===============================================================

def test_gl602_three_spellings():
    found = findings("""
        import pandas as pd

        log = pd.DataFrame(columns=["epoch", "loss"])
        history = pd.DataFrame()
        table = pd.DataFrame(columns=["a"])
        for epoch in range(100):
            log.loc[len(log)] = [epoch, train()]
            history = history.append({"epoch": epoch}, ignore_index=True)
        while chunk := reader.read():
            table = pd.concat([table, chunk], ignore_index=True)
    """, "GL602")
    assert [f.location.row for f in found] == [7, 8, 10]
    assert "removed in pandas 2.0" in found[1].message


def test_gl602_attribute_target():
    fires("GL602", """
        import pandas as pd

        class Tracker:
            def run(self, batches):
                for b in batches:
                    self.results = pd.concat([self.results, pd.DataFrame(b)])
    """)


@pytest.mark.parametrize("source", [
    # collected in a list and concatenated once
    """
    import pandas as pd
    parts = []
    for p in paths:
        parts.append(pd.read_csv(p))
    df = pd.concat(parts)
    """,
    # concat of other frames (not growing the target), once after a loop
    """
    import pandas as pd
    for p in paths:
        merged = pd.concat([left, pd.read_csv(p)])
    """,
    # a short literal loop
    """
    import pandas as pd
    df = pd.DataFrame()
    for split in ["train", "val", "test"]:
        df = pd.concat([df, pd.read_csv(f"{split}.csv")])
    """,
    # list append with assignment on a non-frame, and no pandas at all
    """
    import pandas as pd
    for x in xs:
        history = history.append(x)
    """,
    """
    import polars as pl
    for p in paths:
        df = pl.concat([df, pl.read_csv(p)])
    """,
])
def test_gl602_traps(source):
    silent("GL602", source)


# ==== GL603 sklearn-n-jobs-unset ===================================================================

def test_gl603_large_searches_forest_and_leave_one_out():
    found = findings("""
        from sklearn.model_selection import RandomizedSearchCV, cross_val_score, LeaveOneOut
        from sklearn.ensemble import ExtraTreesRegressor
        from sklearn.linear_model import Ridge

        RandomizedSearchCV(Ridge(), dist, n_iter=100, cv=5).fit(X, y)
        cross_val_score(Ridge(), X, y, cv=LeaveOneOut())
        ExtraTreesRegressor(n_estimators=1000).fit(X, y)
    """, "GL603")
    assert [f.location.row for f in found] == [5, 6, 7]
    assert "501 fits (100 candidates x 5 folds + 1 refit)" in found[0].message


@pytest.mark.parametrize("source", [
    # n_jobs chosen explicitly (any value)
    """
    from sklearn.model_selection import RandomizedSearchCV
    from sklearn.linear_model import Ridge
    RandomizedSearchCV(Ridge(), dist, n_iter=100, n_jobs=1).fit(X, y)
    RandomizedSearchCV(Ridge(), dist, n_iter=100, n_jobs=cfg.jobs).fit(X, y)
    """,
    # small search, default forest, a forest inside a search
    """
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import Ridge
    RandomizedSearchCV(Ridge(), dist).fit(X, y)
    RandomForestClassifier().fit(X, y)
    GridSearchCV(RandomForestClassifier(n_estimators=1000), {"max_depth": [2, 4]}, n_jobs=-1).fit(X, y)
    """,
    # cross-validation with 5 folds, and **kwargs
    """
    from sklearn.model_selection import cross_val_score, GridSearchCV
    from sklearn.svm import SVC
    cross_val_score(SVC(), X, y, cv=5)
    GridSearchCV(SVC(), {"C": list(range(100))}, **search_kwargs).fit(X, y)
    """,
])
def test_gl603_traps(source):
    silent("GL603", source)


def test_gl603_fix_sets_n_jobs():
    after = fixed("""
        from sklearn.ensemble import RandomForestRegressor

        model = RandomForestRegressor(n_estimators=800, max_depth=12)
    """)
    assert "RandomForestRegressor(n_estimators=800, max_depth=12, n_jobs=-1)" in after
    assert not findings(after, "GL603")
    assert fixed(after) == after


# ==== GL604 python-loop-over-array-elements ======================================================

def test_gl604_elementwise_reduction_and_two_axes():
    found = findings("""
        import math
        import numpy as np
        import torch

        x = np.load("x.npy")
        y = np.empty_like(x)
        for i in range(x.shape[0]):
            t = x[i] * 0.5
            y[i] = math.exp(t) if t > 0 else 0.0

        w = torch.randn(1000)
        total = 0.0
        for k in range(len(w)):
            total += w[k] * w[k]

        m = np.random.rand(512, 512)
        n = np.zeros_like(m)
        for r in range(m.shape[0]):
            for c in range(m.shape[1]):
                n[r, c] = m[r, c] ** 2 - 1
    """, "GL604")
    assert [f.location.row for f in found] == [7, 13, 18]
    assert "reduction" in found[1].message and "both axes" in found[2].message


def test_gl604_annotated_array_parameter():
    fires("GL604", """
        import numpy as np
        from numpy.typing import NDArray

        def norm(x: NDArray[np.float64]) -> float:
            total = 0.0
            for i in range(x.shape[0]):
                total += x[i] ** 2
            return np.sqrt(total)
    """)


@pytest.mark.parametrize("source", [
    # recurrence: reads the previous element
    """
    import numpy as np
    a = np.random.rand(100)
    for i in range(len(a)):
        a[i] = a[i - 1] * 0.9 + a[i]
    """,
    # running total used in the body (a scan) and a value carried over
    """
    import numpy as np
    a = np.random.rand(100)
    out = np.zeros(100)
    s = 0.0
    for i in range(len(a)):
        s += a[i]
        out[i] = s
    prev = 0.0
    for i in range(len(a)):
        out[i] = a[i] - prev
        prev = a[i]
    """,
    # body with an `if`, a call to another function, a print
    """
    import numpy as np
    a = np.random.rand(100)
    out = np.zeros(100)
    for i in range(len(a)):
        if a[i] > 0.5:
            out[i] = a[i]
    for i in range(len(a)):
        out[i] = simulate(a[i])
    for i in range(len(a)):
        print(a[i] * 2)
    """,
    # a list or a parameter, an array typed into the source
    """
    import numpy as np
    def f(a):
        out = np.zeros(len(a))
        for i in range(len(a)):
            out[i] = a[i] * 2
    small = np.array([1.0, 2.0, 3.0])
    for i in range(len(small)):
        small[i] = small[i] * 2
    """,
    # slices of a batch, not elements
    """
    import numpy as np
    data = np.load("x.npy")
    for i in range(data.shape[0]):
        batch = data[i:i + 32]
    """,
])
def test_gl604_traps(source):
    silent("GL604", source)
