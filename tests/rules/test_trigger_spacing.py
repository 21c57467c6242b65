"""The prefilter must not drop a file for the spacing around a keyword's `=` (session 7, helper nlp):
`SVC(random_state=14, probability= True)` in a grid search (LuisMoraiis/RecPadSinfromeGripal@eac9004
models/SVM.py, blind2) was never linted by GL605, whose trigger was the literal `probability=True`.
Shapes written from the labelled code, not copied."""

from __future__ import annotations

import pytest
from rule_helpers import findings


SEARCH = """
    from sklearn.model_selection import GridSearchCV
    from sklearn.svm import SVC

    model = SVC(random_state=14, probability{eq}True)
    grid = GridSearchCV(model, {{"C": [0.1, 1], "kernel": ["rbf", "linear"]}}, cv=5, n_jobs=-1)
"""

SLOW = """
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased", use_fast{eq}False)
"""


@pytest.mark.parametrize("eq", ["=", "= ", " =", " = "])
def test_gl605_whatever_the_spacing(eq: str) -> None:
    assert len(findings(SEARCH.format(eq=eq), "GL605")) == 1


@pytest.mark.parametrize("eq", ["=", "= ", " =", " = "])
def test_gl304_whatever_the_spacing(eq: str) -> None:
    assert len(findings(SLOW.format(eq=eq), "GL304")) == 1
