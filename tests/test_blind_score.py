"""bench/blind_score.py: the matching rules of bench/BLIND_CORPUS.md and the scoring, on synthetic data."""

from __future__ import annotations

import json
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

import blind_match as bm  # noqa: E402
import blind_score as bs  # noqa: E402

REPO = "KostaR99/VGG16_like_NN"  # any repository of the frozen corpus (score() reads its list)


def label(**kw) -> bm.Label:
    base = dict(repo=REPO, path="train.py", line=20, cell=None, category="per-step-item-sync", severity="low",
                frequency="per-step", fact_from="", also_at=(), match_file=False, anchor="")
    return bm.Label(**{**base, **kw})


def finding(**kw) -> bm.Finding:
    base = dict(repo=REPO, path="train.py", cell=None, line=20, column=1, code="GL401", message="`loss.item()` x")
    return bm.Finding(**{**base, **kw})


def test_window_of_three_lines_and_candidate_rule():
    lab = label()
    assert bm.matches(finding(line=23), lab, None)
    assert bm.matches(finding(line=17), lab, None)
    assert not bm.matches(finding(line=24), lab, None)
    assert not bm.matches(finding(code="GL101"), lab, None)  # not a candidate rule of the category
    assert not bm.matches(finding(path="other.py"), lab, None)


def test_notebook_cells_must_agree():
    lab = label(path="nb.ipynb", cell=4, line=3)
    assert bm.matches(finding(path="nb.ipynb", cell=4, line=5), lab, None)
    assert not bm.matches(finding(path="nb.ipynb", cell=5, line=3), lab, None)


def test_also_at_and_match_file():
    lab = label(category="pin-memory-missing", also_at=(("loader.py", 38),))
    assert bm.matches(finding(code="GL307", path="loader.py", line=40), lab, None)
    assert not bm.matches(finding(code="GL307", path="loader.py", line=10), lab, None)
    whole = label(category="fp32-on-gpu", match_file=True, also_at=(("model.py", 5),))
    assert bm.matches(finding(code="GL101", line=300), whole, None)
    assert bm.matches(finding(code="GL101", path="model.py", line=90), whole, None)


def test_judge_can_add_or_veto_a_match():
    lab = label()
    other_rule = finding(code="GL504", line=21)
    add = bm.Judgement(REPO, "train.py", None, 21, "GL504", "", True, True, "same sync", label="train.py:20")
    veto = bm.Judgement(REPO, "train.py", None, 20, "GL401", "", False, True, "not it", label="none")
    assert bm.matches(other_rule, lab, add)
    assert not bm.matches(finding(), lab, veto)


def test_judgement_key_uses_a_message_prefix():
    j = bm.Judgement(REPO, "train.py", None, 20, "GL401", "`loss.item()`", True, True, "r")
    assert j.fits(finding())
    assert not j.fits(finding(message="`acc.item()` x"))
    assert not j.fits(finding(line=21))


def test_sample_is_all_findings_up_to_thirty_then_a_seeded_thirty():
    few = [finding(line=n) for n in range(10)]
    assert bm.sample(few) == sorted(few, key=lambda f: f.line)
    many = [finding(line=n) for n in range(100)]
    first, again = bm.sample(many), bm.sample(list(reversed(many)))
    assert len(first) == 30 and first == again  # independent of input order


def _write_run(tmp: Path, findings: list[dict], rules: list[str] | None = None, corpus: str | None = None) -> Path:
    (tmp / "findings").mkdir(parents=True)
    (tmp / "findings" / f"{REPO.replace('/', '+')}.json").write_text(json.dumps(findings))
    record: dict = {"repos": []}
    if rules is not None:
        record["greenlint"] = {"rules": rules}  # the build's rule codes, as `run` records them
    if corpus is not None:
        record["corpus"] = corpus
    (tmp / "run.json").write_text(json.dumps(record))
    return tmp


def _raw(code: str, row: int, path: str = "training.py", message: str = "m") -> dict:
    return {"code": code, "message": message, "filename": path, "location": {"row": row, "column": 1}}


def test_score_end_to_end(tmp_path: Path):
    labels = tmp_path / "labels.toml"
    labels.write_text(f'''
[[file]]
repo = "{REPO}"
path = "training.py"
[[file.waste]]
line = 10
category = "per-step-item-sync"
frequency = "per-step"
severity = "high"
fact_from = "constants.py:3"
why = "w"
[[file.waste]]
line = 50
category = "svc-probability-unused"
frequency = "per-step"
severity = "low"
why = "w"
[[file]]
repo = "{REPO}"
path = "run.py"
waste = []
''')
    out = _write_run(tmp_path / "run", [_raw("GL401", 11), _raw("GL405", 70), _raw("GL405", 5, "run.py"),
                                        _raw("GL405", 3, "other.py", "unfused"), _raw("GL001", 1, "old.py")],
                     rules=["GL001", "GL401", "GL405"])  # a build without the issue-14 rule GL414
    judgements = tmp_path / "j.toml"
    judgements.write_text(f'''
[[finding]]
repo = "{REPO}"
path = "other.py"
line = 3
code = "GL405"
message = "unf"
verdict = true
present = true
reason = "r"
''')
    result = bs.score(out, labels, judgements)
    rows = {name: (n, d) for name, n, d in bs.recall_rows(result)}
    assert rows["all items"] == (1, 2) and rows["cross-file (`fact_from`)"] == (1, 1)
    assert result.not_waste == {"GL001": 1}
    gl405 = {(r.finding.path, r.source): r.strict for r in result.per_rule["GL405"][1]}
    # unlisted in a labelled file and in a clean file: false positives by the frozen labels
    assert gl405 == {("training.py", "labelled file, unlisted"): False, ("run.py", "clean file"): False,
                     ("other.py", "judged"): True}
    (miss, cause, _), = result.misses
    assert miss.line == 50 and cause == "no-rule"
    text = bs.render(result)
    assert "| GL401 | 1 | 1/1 | 100 % (1/1) |" in text


def test_miss_cause_depends_on_the_rules_of_the_build(tmp_path: Path):
    labels = tmp_path / "labels.toml"
    labels.write_text(f'''
[[file]]
repo = "{REPO}"
path = "training.py"
[[file.waste]]
line = 50
category = "losses-append-keeps-graph"
frequency = "per-step"
severity = "low"
why = "w"
''')
    judgements = tmp_path / "none.toml"
    causes = {}
    for name, rules in (("old", ["GL401"]), ("new", ["GL401", "GL414"]), ("unknown", None)):
        out = _write_run(tmp_path / name, [_raw("GL401", 11)], rules=rules)
        (_, cause, _), = bs.score(out, labels, judgements).misses
        causes[name] = cause
    # a category whose rule the build lacks is a no-rule miss; once the build has it, a scope miss
    assert causes == {"old": "no-rule", "new": "scope", "unknown": "scope"}


def test_corpus_sets(tmp_path: Path, capsys):
    corpus, labels, judgements = bs.set_paths("blind2")
    assert (corpus.name, labels.name, judgements.name) == ("blind2_corpus.toml", "blind2_labels.toml",
                                                          "blind2_judgements.toml")
    assert bs.set_paths("blind")[0] == bs.CORPUS  # the default set is the first corpus
    out = _write_run(tmp_path / "run", [], corpus=str(bs.CORPUS))
    assert bs.main(["score", str(out), "--set", "no_such_set"]) == 2
    assert "no corpus file" in capsys.readouterr().err
    assert bs.main(["score", str(out), "--set", "../x"]) == 2
    assert "plain name" in capsys.readouterr().err
    # an out directory made from one corpus is not scored against another corpus's labels
    assert bs.main(["score", str(out), "--set", "blind2"]) == 2
    assert "blind_corpus.toml, not blind2_corpus.toml" in capsys.readouterr().err


def test_run_reports_bad_input_and_missing_mirrors(tmp_path: Path, capsys):
    base = ["run", "--greenlint", "/bin/true", "--out", str(tmp_path / "out"), "--mirror-root", str(tmp_path / "none")]
    assert bs.main([*base, "--tree", "no-equals-sign"]) == 2
    assert "REPO=DIR" in capsys.readouterr().err
    assert bs.main(base) == 1  # every repository missing: reported, nothing substituted
    printed = capsys.readouterr().out
    assert printed.count("MISSING") == len(bs.load_corpus(bs.CORPUS))
    assert bs.main([*base, "--set", "blind2"]) == 1
    assert capsys.readouterr().out.count("MISSING") == len(bs.load_corpus(bs.set_paths("blind2")[0]))


def _fake_run(tmp_path: Path, repo_extra: str = "") -> tuple[Path, Path, list[str]]:
    """A stand-in greenlint that logs its arguments and reports no findings, a one-repository
    corpus (`repo_extra`: more TOML of its [[repo]]) and the `run` arguments: (log, out, base)."""
    log = tmp_path / "argv.log"
    fake = tmp_path / "fake-greenlint"
    fake.write_text(f'#!/bin/sh\necho "$@" >> {log}\necho "[]"\n')
    fake.chmod(0o755)
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "train.py").write_text("x = 1\n")
    corpus = tmp_path / "c_corpus.toml"
    corpus.write_text('[[repo]]\nrepo = "a/b"\ncommit = "' + "0" * 40 + '"\n' + repo_extra)
    labels = tmp_path / "c_labels.toml"
    labels.write_text('[[file]]\nrepo = "a/b"\ncommit = "' + "0" * 40 + '"\npath = "train.py"\nwaste = []\n')
    out = tmp_path / "out"
    base = ["run", "--greenlint", str(fake), "--out", str(out), "--corpus", str(corpus), "--labels", str(labels),
            "--tree", f"a/b={tree}"]
    return log, out, base


def test_run_passes_extra_args_and_records_them(tmp_path: Path, capsys):
    log, out, base = _fake_run(tmp_path)
    assert bs.main([*base, "--extra-args", "--preview --min-impact low"]) == 0
    assert log.read_text().splitlines()[-1].endswith("--isolated . --preview --min-impact low")
    assert json.loads((out / "run.json").read_text())["command"][-3:] == ["--preview", "--min-impact", "low"]
    assert bs.main(base) == 0  # the default selection passes nothing extra
    assert log.read_text().splitlines()[-1].endswith("--isolated .")
    capsys.readouterr()


def test_run_long_runs_passes_each_repositorys_frozen_patterns(tmp_path: Path, capsys):
    log, out, base = _fake_run(tmp_path, 'long_runs = ["/train.py", "jobs/"]\n')
    assert bs.main(base) == 0
    assert log.read_text().splitlines()[-1].endswith("--isolated .")  # only when asked
    assert bs.main([*base, "--long-runs"]) == 0
    assert log.read_text().splitlines()[-1].endswith("--isolated . --long-run /train.py --long-run jobs/")
    assert json.loads((out / "run.json").read_text())["long_runs"] is True
    capsys.readouterr()
