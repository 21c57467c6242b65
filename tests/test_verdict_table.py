"""bench/verdict_table.py: each judged finding counts once, with its first verdict."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

import verdict_table as vt  # noqa: E402

FIRST = """
[[finding]]
repo = "a/b"
path = "train.py"
line = 3
code = "GL401"
verdict = false
present = true

[[finding]]
repo = "a/b"
path = "train.py"
line = 3
code = "GL401"
verdict = true
present = true

[[finding]]
repo = "a/b"
path = "nb.ipynb"
cell = 2
line = 3
code = "GL401"
verdict = true

[[finding]]
repo = "a/b"
path = "train.py"
line = 9
code = "GL101"
verdict = false
present = false
"""


def test_a_finding_judged_twice_keeps_its_first_verdict(tmp_path):
    path = tmp_path / "blind9_judgements.toml"
    path.write_text(FIRST, encoding="utf-8")
    verdicts = vt.distinct_verdicts([path])
    assert len(verdicts) == 3
    # GL401: two distinct findings, one worth acting on (the later `true` is ignored); a verdict
    # without `present` counts as present when it is worth acting on
    assert vt.table(verdicts) == [("GL401", 2, 1, 2), ("GL101", 1, 0, 0)]


def test_the_same_place_in_two_corpora_counts_twice(tmp_path):
    for name in ("blind8_judgements.toml", "blind9_judgements.toml"):
        (tmp_path / name).write_text(FIRST, encoding="utf-8")
    verdicts = vt.distinct_verdicts(sorted(tmp_path.glob("*.toml")))
    assert len(verdicts) == 6


def test_the_frozen_files_parse_and_every_verdict_is_a_bool():
    verdicts = vt.distinct_verdicts(sorted(BENCH.glob("blind*_judgements.toml")))
    assert len(verdicts) > 1000
    assert all(isinstance(v["verdict"], bool) for v in verdicts)


def test_set_reads_one_corpus_and_an_unknown_one_is_a_usage_error(monkeypatch, capsys):
    import pytest

    monkeypatch.setattr(sys, "argv", ["verdict_table.py", "--set", "blind8", "--codes", "GL207"])
    assert vt.main() == 0
    out = capsys.readouterr().out
    assert out.startswith("1 verdict files") and "| GL207 | 2 |" in out
    monkeypatch.setattr(sys, "argv", ["verdict_table.py", "--set", "no_such_corpus"])
    with pytest.raises(SystemExit) as exit_info:
        vt.main()
    assert exit_info.value.code == 2 and "no such verdict file" in capsys.readouterr().err
