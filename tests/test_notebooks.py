"""Jupyter notebooks: linted like ruff does, reported in cell coordinates, fixed in place.

tests/data/train_notebook.ipynb was written for these tests with the structure of real training
notebooks (markdown cells, `!pip` with a continuation line, `%matplotlib`, a `%%time` cell, a
`%%bash` cell with indented shell, `x = !ls`, `obj?`, outputs with an image, kernel metadata).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from greenlint.engine import lint_notebook
from greenlint.notebook import parse_notebook, rebuild
from greenlint.rules import ALL_CODES

NOTEBOOK = Path(__file__).parent / "data" / "train_notebook.ipynb"
ALL = frozenset(ALL_CODES)


@pytest.fixture
def notebook(project) -> Path:
    target = project.root / "train.ipynb"
    shutil.copy(NOTEBOOK, target)
    return target


def test_findings_carry_cell_and_line_in_cell(project, notebook):
    code, out, _ = project.run("check", "--no-cache")
    assert code == 1
    assert "train.ipynb:cell 4:3:13: GL301 " in out
    assert "train.ipynb:cell 4:10:5: GL406 " in out
    # a cell that does not parse is reported where it is; the other cells are still linted
    assert "train.ipynb:cell 5:1:11: GL001 syntax error: '(' was never closed" in out
    findings = project.findings("--no-cache")
    assert [(f["code"], f["cell"], f["location"]["row"]) for f in findings] == [
        ("GL301", 4, 3), ("GL406", 4, 10), ("GL001", 5, 1)
    ]


def test_magics_are_masked_without_shifting_lines():
    nb = parse_notebook(NOTEBOOK.read_bytes())
    lines = nb.text.split("\n")
    assert lines[1].startswith("pass  # greenlint-magic-")  # !pip install ... \
    assert lines[2].startswith("pass  # greenlint-magic-")  # its continuation line, at the magic's indentation
    assert [nb.locate(row) for row in (2, 6)] == [(2, 1), (2, 5)]
    assert "echo" not in nb.text and "!ls" not in nb.text and "Linear?" not in nb.text


def test_unchanged_notebook_round_trips_byte_for_byte():
    nb = parse_notebook(NOTEBOOK.read_bytes())
    assert rebuild(nb, nb.text) == NOTEBOOK.read_text(encoding="utf-8")


def test_fix_writes_into_the_right_cells_and_keeps_everything_else(project, notebook):
    before = json.loads(notebook.read_text(encoding="utf-8"))
    code, out, _ = project.run("check", "--no-cache", "--fix", "--unsafe-fixes", "--select", "GL0,GL301,GL406")
    assert "Fixed 2 findings." in out
    after = json.loads(notebook.read_text(encoding="utf-8"))
    assert after["metadata"] == before["metadata"]
    for old, new in zip(before["cells"], after["cells"]):
        assert {k: v for k, v in old.items() if k != "source"} == {k: v for k, v in new.items() if k != "source"}
    changed = [i for i, (old, new) in enumerate(zip(before["cells"], after["cells"])) if old["source"] != new["source"]]
    assert changed == [3]
    assert after["cells"][3]["source"] == [
        "%%time\n",
        'frame = pd.read_csv("features.csv")  # the same file every epoch\n',
        "for epoch in range(5):\n",
        "    x = torch.tensor(frame.values[:, :16], dtype=torch.float32, device=device)\n",
        "    y = torch.tensor(frame.values[:, 16], dtype=torch.long, device=device)\n",
        "    logits = model(x)\n",
        "    loss = torch.nn.functional.cross_entropy(logits, y)\n",
        "    loss.backward()\n",
        "    optimizer.step()\n",
        "    optimizer.zero_grad(set_to_none=True)\n",
    ]
    assert after["cells"][1]["source"] == before["cells"][1]["source"]  # magics restored untouched
    once = notebook.read_bytes()
    project.run("check", "--no-cache", "--fix", "--unsafe-fixes", "--select", "GL0,GL301,GL406")
    assert notebook.read_bytes() == once


def test_noqa_inside_a_cell(project, notebook):
    data = json.loads(notebook.read_text(encoding="utf-8"))
    data["cells"][3]["source"][-1] = "    optimizer.zero_grad(set_to_none=False)  # noqa: GL406\n"
    notebook.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    assert [f["code"] for f in project.findings("--no-cache")] == ["GL301", "GL001"]


@pytest.mark.parametrize(
    "content, message",
    [
        (b"{not json", "not JSON"),
        (b'{"nbformat": 4}', "no `cells` list"),
        (b'{"cells": [{"cell_type": "code", "source": 3}]}', "neither a string nor a list"),
        (b'{"cells": [], "metadata": {"language_info": {"name": "R"}}}', "not a Python notebook"),
    ],
)
def test_malformed_notebook_is_gl003_not_a_crash(content, message):
    findings = lint_notebook(content, "bad.ipynb", ALL)
    assert [f.code for f in findings] == ["GL003"]
    assert message in findings[0].message


def test_notebooks_are_discovered(project, notebook):
    project.write("script.py", "x = 1\n")
    code, out, _ = project.run("check", "--no-cache", "--statistics")
    assert "GL406" in out


def test_an_empty_def_in_an_exercise_cell_is_reported_once_where_it_is(project):
    """A course notebook's `def run_app(path):` left with only a TODO comment: Python notices the
    missing body in a later cell, or at the end of the notebook. The finding names the cell and
    line of the `def` (once; cells count from 1), and the cells after it are still linted."""
    cells = [
        {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
         "source": ["import torch\n"]},
        {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
         "source": ["### TODO: write your algorithm\n", "\n", "def run_app(img_path):\n", "    ## handle the cases\n", "    \n"]},
        {"cell_type": "markdown", "metadata": {}, "source": ["## Test it"]},
        {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
         "source": ["for f in files:\n", "    run_app(f)\n"]},
    ]
    for last in (True, False):  # the error noticed in the next code cell, or at the notebook's end
        shown = cells if last else cells[:2]
        nb = {"cells": shown, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
        findings = lint_notebook(json.dumps(nb).encode(), "exercise.ipynb", ALL)
        errors = [(f.code, f.extra["cell"], f.location.row, f.message) for f in findings if f.code == "GL001"]
        assert errors == [("GL001", 2, 3, "syntax error: expected an indented block after function definition on line 3")], errors
