"""Files CPython compiles but libcst rejects are never reported as syntax errors (issue 13)."""

from __future__ import annotations

from greenlint.engine import lint_source
from greenlint.rules import ALL_CODES

ALL = frozenset(ALL_CODES)

# One tab and a space, then two tabs and a space: CPython accepts it, libcst's tokenizer does not
# (LibCST issue #829). Found in real training scripts.
TAB_MIXED = (
    "import torch\n"
    "model = torch.nn.Linear(2, 2).cuda()\n"
    "opt = torch.optim.SGD(model.parameters(), lr=0.1)\n"
    "def train(x):\n"
    "\t for i in range(10):\n"
    "\t\t loss = model(torch.zeros(2)).sum()\n"
    "\t\t loss.backward()\n"
    "\t\t opt.step()\n"
    "\n"
    "train(1)\n"
)


def test_tab_mixed_indentation_is_analysed_on_the_users_rows_and_columns() -> None:
    compile(TAB_MIXED, "x.py", "exec")  # CPython accepts it
    findings = lint_source(TAB_MIXED.encode(), "x.py", ALL)
    assert [f.code for f in findings] == ["GL101"]
    [gl101] = findings
    assert (gl101.location.row, gl101.location.column) == (5, 3)  # `for` after "\t " on line 5
    assert gl101.fix is None  # fixes were computed on the normalised text: never offered


def test_grammar_libcst_cannot_parse_is_not_analysed_not_a_syntax_error() -> None:
    text = "import torch\nx = torch.zeros(1).cuda()\ndef e():\n r\n\\\ndef r():\n p\nfor i in range(3):\n    x.backward()\n    opt.step()\n"
    compile(text, "x.py", "exec")
    findings = lint_source(text.encode(), "x.py", ALL)
    assert [f.code for f in findings] == ["GL005"]
    assert "not analysed" in findings[0].message and "Python accepts" in findings[0].message
    assert lint_source(text.encode(), "x.py", ALL - {"GL005"}) == []


def test_what_python_rejects_is_still_gl001() -> None:
    text = "import torch\nx = torch.zeros(1).cuda()\ndef train(:\n    pass\n"
    assert [f.code for f in lint_source(text.encode(), "x.py", ALL)] == ["GL001"]


def test_a_node_libcst_builds_and_then_rejects_is_not_analysed_not_an_internal_error() -> None:
    # `1 if a else(2 if b else 0)`: valid Python, but libcst's parser builds an IfExp its own
    # validation rejects (no space after `else` before a parenthesised IfExp), raising
    # CSTValidationError from parse_module. Seen in a Kaggle kernel of aorursy/new-nb-8 (blind6),
    # where it was a GL000 internal error and made `--exit-zero` exit 2.
    text = ELSE_PAREN
    compile(text, "x.py", "exec")
    findings = lint_source(text.encode(), "x.py", ALL)
    assert [f.code for f in findings] == ["GL005"]
    assert "Must have at least one space after 'else'" in findings[0].message
    assert lint_source(text.encode(), "x.py", ALL - {"GL005"}) == []
    # Python's own verdict stands when it rejects the file too
    broken = text + "def f(:\n    pass\n"
    assert [f.code for f in lint_source(broken.encode(), "x.py", ALL)] == ["GL001"]


# a training loop (so that rules are triggered and the file is parsed) and the rejected expression
ELSE_PAREN = (
    "import torch\n"
    "model = torch.nn.Linear(2, 2).cuda()\n"
    "opt = torch.optim.SGD(model.parameters(), lr=0.1)\n"
    "for i in range(10):\n"
    "    w = 1 if i == 1 else(2 if i == 2 else 0)\n"
    "    loss = model(torch.zeros(2, device='cuda')).sum() * w\n"
    "    loss.backward()\n"
    "    opt.step()\n"
)


def test_exit_zero_exits_zero_on_a_file_libcst_rejects(tmp_path, capsys) -> None:
    from greenlint.cli import main

    (tmp_path / "k.py").write_text(ELSE_PAREN)
    assert main(["check", "--exit-zero", "--no-cache", "--isolated", str(tmp_path / "k.py")]) == 0
    assert "GL005" in capsys.readouterr().out
