"""IPython escapes (`%`, `!`, `?`) count only where a logical line starts.

Training notebooks often wrap a percent-formatted print so that the `%` operator opens the
continuation line; that line is Python, and treating it as a `%magic` used to break the
statement, so the whole cell became one GL001 and nothing in it was linted. These notebooks are
built here, in the shape of such tutorials; none is copied from one.
"""

from __future__ import annotations

import json

import pytest

from greenlint.engine import lint_notebook
from greenlint.notebook import parse_notebook, rebuild
from greenlint.notebook_magic import escape_lines, looks_like_escape
from greenlint.rules import ALL_CODES

ALL = frozenset(ALL_CODES)

SETUP = (
    "%matplotlib inline\n"
    "import pandas as pd\n"
    "import torch\n"
    'device = "cuda" if torch.cuda.is_available() else "cpu"\n'
    "model = torch.nn.Linear(16, 2).to(device)\n"
    "optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n"
    "num_epochs = 3\n"
)
# a training loop in fp32 (GL101 at its `for`) that reads the same CSV every epoch (GL301) and
# reports with percent formatting wrapped onto `%` continuation lines
TRAIN = (
    "for epoch in range(num_epochs):\n"
    '    frame = pd.read_csv("features.csv")\n'
    "    x = torch.tensor(frame.values[:, :16], dtype=torch.float32, device=device)\n"
    "    y = torch.tensor(frame.values[:, 16], dtype=torch.long, device=device)\n"
    "    logits = model(x)\n"
    "    cost = torch.nn.functional.cross_entropy(logits, y)\n"
    "    optimizer.zero_grad()\n"
    "    cost.backward()\n"
    "    optimizer.step()\n"
    "    print('Epoch: %03d/%03d | Cost: %.4f'\n"
    "          %(epoch+1, num_epochs, cost))\n"
    "    print('Rows: %d'\n"
    "          % len(frame))\n"
)


def _notebook(*sources: str, as_lists: bool = True) -> bytes:
    cells = [{"cell_type": "markdown", "metadata": {}, "source": ["# Training\n"]}]
    for source in sources:
        cells.append({
            "cell_type": "code",
            "execution_count": None,
            "metadata": {},
            "outputs": [],
            "source": source.splitlines(keepends=True) if as_lists else source,
        })
    raw = {
        "cells": cells,
        "metadata": {"language_info": {"name": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return (json.dumps(raw, indent=1) + "\n").encode("utf-8")


def _cell_lines(data: bytes, cell: int) -> list[str]:
    """The linted text of one cell (cell numbers count the markdown cell, as findings do)."""
    nb = parse_notebook(data)
    lines = nb.text.split("\n")
    return [line for line, where in zip(lines, nb.line_map) if where is not None and where[0] == cell]


def _masked(line: str) -> bool:
    return "# greenlint-magic-" in line


def test_percent_format_continuation_is_python_and_the_cell_is_linted():
    data = _notebook(SETUP, TRAIN)
    lines = _cell_lines(data, 3)
    assert lines == TRAIN.splitlines()  # nothing in the training cell is masked
    findings = lint_notebook(data, "train.ipynb", ALL)
    # the training cell's findings point at their cell and their line in that cell
    assert [(f.code, f.extra["cell"], f.location.row) for f in findings] == [("GL101", 3, 1), ("GL301", 3, 2)]


def test_modulo_at_the_start_of_a_bracketed_line_is_kept():
    source = "total = (len(frame)\n         % 7)\nrest = [1\n%2]\n"
    assert _cell_lines(_notebook(source), 2) == source.splitlines()
    assert [f.code for f in lint_notebook(_notebook(source), "nb.ipynb", frozenset({"GL001"}))] == []


def test_a_real_magic_after_a_closed_bracket_is_still_masked():
    source = "x = max(1,\n        2)\n%time y = x % 2\nprint(x,\n      y)\n!ls -la\n"
    lines = _cell_lines(_notebook(source), 2)
    assert [_masked(line) for line in lines] == [False, False, True, False, False, True]
    assert lint_notebook(_notebook(source), "nb.ipynb", frozenset({"GL001"})) == []


def test_magic_looking_lines_inside_a_triple_quoted_string_are_text():
    source = 'notes = """\n%matplotlib inline\n!pip install torch\ntorch.nn.Linear?\n"""\n%load_ext autoreload\n'
    lines = _cell_lines(_notebook(source), 2)
    assert [_masked(line) for line in lines] == [False, False, False, False, False, True]


def test_not_equal_opening_a_bracketed_line_is_a_comparison_not_a_shell_command():
    source = "if (epoch\n    != 0):\n    print(epoch)\n"
    assert _cell_lines(_notebook(source), 2) == source.splitlines()
    assert lint_notebook(_notebook(source), "nb.ipynb", frozenset({"GL001"})) == []


def test_a_backslash_continuation_line_is_not_a_magic():
    source = "ratio = steps \\\n    % 100\n"
    assert _cell_lines(_notebook(source), 2) == source.splitlines()


def test_a_magic_continued_with_a_backslash_is_masked_whole():
    # the continuation line of a shell command starts with `%` but belongs to the command
    source = "!python train.py \\\n    %s\nx = (1\n     % 2)\n"
    lines = _cell_lines(_notebook(source), 2)
    assert [_masked(line) for line in lines] == [True, True, False, False]


def test_a_shell_line_with_an_apostrophe_does_not_confuse_the_later_lines():
    # tokenized unmasked, `it's` would open a string that swallows the rest of the cell
    source = "!echo it's done\nprint('%d'\n      % 3)\n%whos\n"
    lines = _cell_lines(_notebook(source), 2)
    assert [_masked(line) for line in lines] == [True, False, False, True]


@pytest.mark.parametrize("help_line", ["torch.nn.Linear?", "pd.read_csv??", "?torch.load", "??model"])
def test_help_lines_are_masked_at_a_line_start(help_line):
    lines = _cell_lines(_notebook(f"import torch\n{help_line}\n"), 2)
    assert [_masked(line) for line in lines] == [False, True]


def test_percent_cell_magic_keeps_its_python_body_with_continuations():
    source = "%%time\n" + TRAIN
    lines = _cell_lines(_notebook(SETUP, source), 3)
    assert _masked(lines[0])
    assert lines[1:] == TRAIN.splitlines()


def test_a_cell_that_really_does_not_parse_is_still_one_gl001_at_its_line():
    source = "print('%d'\n      % 3)\nmodel.eval(\n%time f()\n"
    findings = lint_notebook(_notebook(source), "nb.ipynb", frozenset({"GL001"}))
    assert [(f.code, f.extra["cell"], f.location.row) for f in findings] == [("GL001", 2, 3)]


@pytest.mark.parametrize("as_lists", [True, False])
def test_round_trip_is_byte_for_byte(as_lists):
    data = _notebook(SETUP, TRAIN, "!echo it's done\nx = (1\n     % 2)\n%whos", as_lists=as_lists)
    nb = parse_notebook(data)
    assert rebuild(nb, nb.text) == data.decode("utf-8")


def test_fix_rewrites_the_training_cell_and_restores_the_magics(project):
    path = project.root / "train.ipynb"
    path.write_bytes(_notebook(SETUP, TRAIN))
    before = json.loads(path.read_text(encoding="utf-8"))
    code, out, _ = project.run("check", "--no-cache", "--fix", "--unsafe-fixes", "--select", "GL301")
    assert "Fixed 1 finding" in out
    after = json.loads(path.read_text(encoding="utf-8"))
    assert after["cells"][1]["source"] == before["cells"][1]["source"]  # `%matplotlib` untouched
    fixed = "".join(after["cells"][2]["source"])
    assert fixed != TRAIN
    assert "          %(epoch+1, num_epochs, cost))\n" in fixed  # the continuation line is kept as it was
    compile(fixed, "cell", "exec")  # the rewritten cell is still valid Python


def test_escape_lines_follow_brackets_strings_backslashes_and_comments():
    lines = [
        "a = (1",       # 0
        "%2)",          # 1 inside brackets: modulo
        "b = '''",      # 2
        "!x",           # 3 inside a string
        "'''",          # 4
        "c = 1 + \\",   # 5
        "%3",           # 6 after a backslash
        "# %note",      # 7 a comment
        "  %time c",    # 8 a logical line starts (its indentation is kept for the mask)
        "d = [  # (",   # 9 a bracket in a comment does not count
        "  # %x",       # 10
        "!= 4]",        # 11
        "%who",         # 12
    ]
    assert escape_lines(lines) == {8: "  ", 12: ""}


def test_escape_lines_when_the_cell_ends_inside_a_bracket():
    assert escape_lines(["%cd data", "x = f(", "%s"]) == {0: ""}


def test_after_an_unterminated_string_the_rest_of_the_cell_is_decided_by_its_look():
    # the cell does not parse anyway; every Python version stops at the string and decides alike
    assert escape_lines(["%cd data", "x = 'abc", "%time f()", "y = f(", "%who"]) == {0: "", 2: "", 4: ""}


def test_escape_lines_of_an_indented_cell_body_do_not_trip_on_indentation():
    # a magic in a loop body, and a dedent to a level never opened: still decided line by line
    assert escape_lines(["for i in range(2):", "        x = (i", "    % 2)", "    %time f(i)", "  !ls"]) == {
        3: "    ", 4: "  "
    }


def test_looks_like_escape():
    assert looks_like_escape("%time f()") and looks_like_escape("  !ls") and looks_like_escape("files = !ls")
    assert looks_like_escape("obj?") and looks_like_escape("??obj")
    assert not looks_like_escape("x = 1") and not looks_like_escape("# %matplotlib") and not looks_like_escape("a ? b")
