"""The cost of fixes (issue 17, item 11): a finding's fix is computed from the nodes it changed,
not by regenerating, re-parsing and compiling the whole module; and the work per file is bounded
(GL004). No test here measures time: the amount of work is counted instead (how many whole-module
code generations and libcst parses happen), which is deterministic on any machine.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import libcst as cst
import pytest
from greenlint import engine, fix_edits
from greenlint.edits import apply_edits
from greenlint.engine import LintRequest, lint_request, lint_text
from greenlint.fixer import fix_request
from greenlint.limits import Limits
from greenlint.rules import ALL_CODES, ALL_RULES

ROOT = Path(__file__).resolve().parent.parent
ENABLED = frozenset(ALL_CODES)


def _block(i: int) -> str:
    return textwrap.dedent(f"""
        opt{i} = torch.optim.AdamW(model.parameters(), lr=1e-3)
        opt{i}.zero_grad(set_to_none=False)
        x{i} = {i}
    """)


def _many_findings(blocks: int) -> str:
    return "import torch\nmodel = torch.nn.Linear(4, 2).cuda()\n" + "".join(_block(i) for i in range(blocks))


class _Counter:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.parses = 0
        self.module_codegens = 0
        parse = cst.parse_module
        code = cst.Module.code

        def counting_parse(source, *args, **kwargs):
            self.parses += 1
            return parse(source, *args, **kwargs)

        def counting_code(module):
            self.module_codegens += 1
            return code.fget(module)

        monkeypatch.setattr(cst, "parse_module", counting_parse)
        monkeypatch.setattr(cst.Module, "code", property(counting_code))


def test_plain_check_does_not_regenerate_or_reparse_the_module_per_finding(monkeypatch):
    text = _many_findings(50)
    counter = _Counter(monkeypatch)
    findings = lint_text(text, "train.py", ENABLED)
    fixable = [f for f in findings if f.fix is not None]
    assert len(fixable) == 100
    # one parse of the file; each fix's check parses only the statement it changed (a few lines);
    # GL406's check reads `module.code` once for the whole file, no fix regenerates it
    assert counter.module_codegens <= 1
    big_parses = counter.parses - len(fixable)
    assert big_parses == 1


def _applied(text: str, finding) -> str:
    return apply_edits(text, finding.fix.edits)


def _corpus() -> list[tuple[str, str]]:
    sources = [(f"{rule.code}.py", rule.to_json()["bad_example"]) for rule in ALL_RULES if rule.bad_example]
    for folder in ("tests/scenarios", "examples"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            try:
                sources.append((path.name, path.read_text(encoding="utf-8")))
            except (UnicodeDecodeError, OSError):
                continue
    return sources


@pytest.mark.parametrize(("name", "text"), _corpus(), ids=lambda v: v if isinstance(v, str) and v.endswith(".py") else "")
def test_fast_edits_give_the_same_result_as_regenerating_the_module(name, text, monkeypatch):
    fast = lint_text(text, name, ENABLED)
    monkeypatch.setattr(fix_edits.FileFixer, "edits", lambda self, new_module: None)  # force the slow way
    slow = lint_text(text, name, ENABLED)
    assert [(f.code, f.location) for f in fast] == [(f.code, f.location) for f in slow]
    for quick, full in zip(fast, slow):
        assert (quick.fix is None) == (full.fix is None), (quick.code, quick.location)
        if quick.fix is not None:
            assert _applied(text, quick) == _applied(text, full), (quick.code, quick.location)


def test_the_cr_only_file_keeps_its_last_line_end_in_both_ways(monkeypatch):
    text = _many_findings(2).replace("\n", "\r")
    for force_slow in (False, True):
        if force_slow:
            monkeypatch.setattr(fix_edits.FileFixer, "edits", lambda self, new_module: None)
        for finding in lint_text(text, "train.py", ENABLED):
            if finding.fix is not None:
                assert _applied(text, finding).endswith("\r")


def test_a_file_without_a_final_newline_is_fixed_at_its_last_line():
    text = "import torch\nmodel = torch.nn.Linear(4, 2).cuda()\nopt = torch.optim.AdamW(model.parameters())\nopt.zero_grad(set_to_none=False)"
    fixed = [_applied(text, f) for f in lint_text(text, "train.py", ENABLED) if f.code == "GL406"]
    assert fixed == [text.replace("set_to_none=False", "set_to_none=True")]


def test_a_fix_that_breaks_its_statement_is_dropped(monkeypatch):
    from greenlint.rules import fixes

    broken = cst.Name("def")  # `set_to_none=def`: libcst builds it, no parser accepts it
    real = fixes.replace_node
    monkeypatch.setattr(fixes, "replace_node", lambda target, make: real(target, lambda node: broken))
    from greenlint.rules.training_loop import gl406_zero_grad_set_to_none_false as gl406

    monkeypatch.setattr(gl406, "replace_node", fixes.replace_node, raising=False)
    findings = lint_text(_many_findings(1), "train.py", ENABLED)
    gl406_findings = [f for f in findings if f.code == "GL406"]
    assert gl406_findings and all(f.fix is None for f in gl406_findings)


# ---- bounded work per file (GL004) -----------------------------------------------------------


def test_a_file_over_the_size_limit_is_only_syntax_checked(monkeypatch):
    counter = _Counter(monkeypatch)
    text = _many_findings(20)
    findings = lint_text(text, "train.py", ENABLED, limits=Limits(max_chars=len(text) - 1))
    assert [f.code for f in findings] == ["GL004"]
    assert f"not analysed: {len(text):,} characters is over the per-file limit of {len(text) - 1:,}" in findings[0].message
    assert counter.parses == 0  # libcst never saw it
    broken = text + "for x in :\n"
    codes = [f.code for f in lint_text(broken, "train.py", ENABLED, limits=Limits(max_chars=len(text) - 1))]
    assert sorted(codes) == ["GL001", "GL004"]


def test_a_file_over_the_syntax_ceiling_is_not_even_compiled(monkeypatch):
    counter = _Counter(monkeypatch)
    text = _many_findings(20) + "for x in :\n"
    findings = lint_text(text, "train.py", ENABLED, limits=Limits(max_chars=10, max_syntax_chars=20))
    assert [f.code for f in findings] == ["GL004"]
    assert "its syntax was not checked either (over 20 characters)" in findings[0].message
    assert counter.parses == 0


def test_a_file_over_the_time_limit_says_what_was_not_done():
    findings = lint_text(_many_findings(3), "train.py", ENABLED, limits=Limits(max_seconds=0))
    assert [f.code for f in findings] == ["GL004"]
    assert "analysis stopped at the per-file time limit of 0 s; rules not run: GL" in findings[0].message


def test_fixes_not_computed_in_time_are_counted(monkeypatch):
    ticks = iter(range(1_000_000))
    calls = {"n": 0}

    class Clock:
        """Time passes only once the rules have run: the budget runs out during the fixes."""

        def __call__(self) -> float:
            return float(next(ticks)) if calls["n"] else 0.0

    real = engine._text_fix

    def counting_fix(*args, **kwargs):
        calls["n"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "_text_fix", counting_fix)
    monkeypatch.setattr(engine, "Deadline", lambda seconds: __import__("greenlint.limits", fromlist=["Deadline"]).Deadline(5, Clock()))
    findings = lint_text(_many_findings(10), "train.py", ENABLED)
    limit = [f for f in findings if f.code == "GL004"]
    assert len(limit) == 1 and "no fix computed for" in limit[0].message
    with_fix = sum(f.fix is not None for f in findings)
    without_fix = sum(f.fix is None and f.code in ("GL405", "GL406") for f in findings)
    assert with_fix >= 1 and without_fix >= 1
    assert f"no fix computed for {without_fix} findings" in limit[0].message


def test_gl004_is_not_reported_when_not_selected():
    text = _many_findings(2)
    findings = lint_text(text, "train.py", ENABLED - {"GL004"}, limits=Limits(max_chars=10))
    assert findings == []


def test_the_fixer_still_fixes_everything():
    text = _many_findings(30)
    outcome = fix_request(LintRequest(None, "train.py", text.encode(), ENABLED), unsafe=True)  # type: ignore[arg-type]
    assert outcome.fixed_text is not None
    assert outcome.fixed_text.count("fused=True") == 30 and outcome.fixed_text.count("set_to_none=True") == 30
    assert not [f for f in lint_request(LintRequest(None, "train.py", outcome.new_bytes, ENABLED)) if f.fix]  # type: ignore[arg-type]
