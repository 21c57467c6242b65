#!/usr/bin/env python3
"""Score a greenlint build on a frozen blind corpus (bench/BLIND_CORPUS.md, BLIND2_CORPUS.md), stdlib only.

  run      export every repository of bench/blind_corpus.toml at its pinned commit into a temp
           dir, lint each from its root with the default rule selection
           (`greenlint check --format json --exit-zero --no-cache --isolated .`) and save
           OUT/findings/<owner>+<name>.json and OUT/run.json (build identity, command, timings)
  score    recall against bench/blind_labels.toml (overall, high+medium, per severity, per
           category, cross-file `fact_from` items, notebooks) and strict / pattern-present
           precision per rule on every finding or the seeded sample of 30, from the verdicts in
           bench/blind_judgements.toml; lists the misses with a cause, and the sampled findings
           still to judge (`--todo FILE` writes them as TOML entries to fill in)
  compare  what changed between two runs: labels gained/lost (cross-file ones counted apart) and
           judged findings that disappeared, by issue-13 false-positive kind

Examples:
  python3 bench/blind_score.py run --greenlint /work/main/.venv/bin/greenlint --out /tmp/blind-before \\
      --tree aladdinpersson/Machine-Learning-Collection=/tmp/mlc
  python3 bench/blind_score.py score /tmp/blind-before --todo /tmp/todo.toml
  python3 bench/blind_score.py compare /tmp/blind-before /tmp/blind-after

Corpus sets: `--set NAME` (default `blind`, the first corpus) reads bench/NAME_corpus.toml,
bench/NAME_labels.toml and bench/NAME_judgements.toml; `--set blind2` scores the second blind
corpus (bench/BLIND2_CORPUS.md), `--set blind3` the third (bench/BLIND3_CORPUS.md).
`--corpus`, `--labels` and `--judgements` override single files.
Give `score` and `compare` the same set as the `run` that produced the out directory.

Judgements (bench/blind_judgements.toml), one [[finding]] per judged finding: repo, path, cell
(notebooks, 0-based like the labels), line, code, message (a prefix of the finding's message),
verdict (strict: real, avoidable waste worth the change in code that runs), present (the pattern is
really there), reason, and optionally label ("<path>:<line>": this finding names that label's
waste although its rule is not the category's candidate; "none": veto an automatic match) and
fp_kind (dead-code, inference-wrapper, star-import: the false-positive kinds of issue 13).
[[miss]] entries (repo, label = "<path>:<line>", cause, note) give the cause of a miss by hand.
In labelled files the frozen labels decide (an unlisted finding is a false positive for the
headline); a judge's contrary verdict there is reported as an errata candidate only.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from blind_export import GREENLINT_ARGS, SetupError, load_corpus, greenlint_identity, run_corpus  # noqa: E402
from blind_match import (CATEGORY_RULES, NO_RULE, Finding, Judgement, Label, judgement_for, load_findings,  # noqa: E402
                         load_judgements, load_labels, matches, sample)

HERE = Path(__file__).resolve().parent
# GL0xx are greenlint's own problems with a file (GL001: it could not be parsed, here Python 2
# notebooks; GL003: a `.ipynb` that is not JSON, blind33's HTML pages saved as notebooks): no waste
# claim, so they are left out of precision and counted apart. Session 16 widened this from GL001
# alone to the file problems; GL000 (greenlint's own crash) still counts against precision.
NOT_WASTE = frozenset({"GL001", "GL002", "GL003", "GL004", "GL005"})
CORPUS, LABELS, JUDGEMENTS = HERE / "blind_corpus.toml", HERE / "blind_labels.toml", HERE / "blind_judgements.toml"
DEFAULT_SET = "blind"


def set_paths(name: str) -> tuple[Path, Path, Path]:
    """Corpus, labels and judgements files of a corpus set (`blind` is the first blind corpus)."""
    if not name or not all(c.isalnum() or c in "_-" for c in name):
        raise SetupError(f"--set wants a plain name such as blind, blind2 or blind3, got {name!r}")
    corpus = HERE / f"{name}_corpus.toml"
    if not corpus.exists():
        raise SetupError(f"--set {name}: no corpus file {corpus}")
    return corpus, HERE / f"{name}_labels.toml", HERE / f"{name}_judgements.toml"


@dataclass
class Sampled:
    finding: Finding
    strict: bool | None  # None: not judged yet
    present: bool | None
    source: str  # label / clean file / labelled file, unlisted / judged / unjudged
    labels: list[str] = field(default_factory=list)
    judge_verdict: bool | None = None


@dataclass
class Result:
    labels: list[Label]
    matched: dict[str, list[Finding]]
    per_rule: dict[str, tuple[int, list[Sampled]]]  # code -> (all findings, sample)
    misses: list[tuple[Label, str, str]]  # label, cause, note
    errata: list[Sampled]
    not_waste: Counter  # findings of codes that report no waste (GL001: file not analysed), per code


def _anchors(out: Path) -> dict[str, int]:
    run = json.loads((out / "run.json").read_text()) if (out / "run.json").exists() else {"repos": []}
    return {f"{r['repo']}\t{k}": v for r in run["repos"] for k, v in r.get("anchors", {}).items()}


def _build_rules(out: Path) -> frozenset[str] | None:
    """Rule codes of the build that made this run (run.json), or None when not recorded."""
    run = out / "run.json"
    if not run.exists():
        return None
    rules = json.loads(run.read_text()).get("greenlint", {}).get("rules")
    return frozenset(rules) if rules else None


def _auto_cause(label: Label, findings: list[Finding], build_rules: frozenset[str] | None = None) -> str:
    if label.category in NO_RULE:
        return "no-rule"
    rules = CATEGORY_RULES.get(label.category, ())
    if build_rules is not None and not set(rules) & build_rules:
        return "no-rule"  # the category's rules are newer than this build
    same_file = [f for f in findings if f.repo == label.repo and f.path == label.path and f.code in rules]
    if same_file:
        return "location"
    return "cross-file" if label.fact_from else "scope"


def score(out: Path, labels_path: Path, judgements_path: Path, corpus_path: Path = CORPUS) -> Result:
    corpus = [r["repo"] for r in load_corpus(corpus_path)]
    labels, files = load_labels(labels_path, _anchors(out))
    findings = load_findings(out, corpus)
    judged, miss_notes = load_judgements(judgements_path)
    labelled = {(f.repo, f.path): f for f in files}
    judgement = {f: judgement_for(f, judged) for f in findings}
    matched: dict[str, list[Finding]] = defaultdict(list)
    finding_labels: dict[Finding, list[str]] = defaultdict(list)
    for label in labels:
        for f in findings:
            if matches(f, label, judgement[f]):
                matched[label.key].append(f)
                finding_labels[f].append(label.key)
    by_rule: dict[str, list[Finding]] = defaultdict(list)
    not_waste = Counter(f.code for f in findings if f.code in NOT_WASTE)
    for f in findings:
        if f.code not in NOT_WASTE:
            by_rule[f.code].append(f)
    per_rule, errata = {}, []
    for code in sorted(by_rule):
        rows = []
        for f in sample(by_rule[code]):
            j = judgement[f]
            if finding_labels[f]:
                row = Sampled(f, True, True, "label", finding_labels[f], j.verdict if j else None)
            elif (f.repo, f.path) in labelled:
                clean = labelled[(f.repo, f.path)].clean
                row = Sampled(f, False, j.present if j else None, "clean file" if clean else "labelled file, unlisted",
                              judge_verdict=j.verdict if j else None)
                if j is not None and j.verdict:
                    errata.append(row)
            elif j is not None:
                row = Sampled(f, j.verdict, j.present, "judged", judge_verdict=j.verdict)
            else:
                row = Sampled(f, None, None, "unjudged")
            rows.append(row)
        per_rule[code] = (len(by_rule[code]), rows)
    misses = []
    build_rules = _build_rules(out)
    for label in labels:
        if label.key not in matched:
            note = miss_notes.get(f"{label.repo}:{label.short}#{label.category}",
                                  miss_notes.get(f"{label.repo}:{label.short}", {}))
            misses.append((label, note.get("cause", _auto_cause(label, findings, build_rules)), note.get("note", "")))
    return Result(labels, dict(matched), per_rule, misses, errata, not_waste)


def _pct(n: int, d: int) -> str:
    return f"{100 * n / d:.0f} % ({n}/{d})" if d else "n/a"


def recall_rows(result: Result) -> list[tuple[str, int, int]]:
    groups: list[tuple[str, list[Label]]] = [
        ("all items", result.labels),
        ("high + medium", [x for x in result.labels if x.severity in ("high", "medium")]),
        *[(f"severity {s}", [x for x in result.labels if x.severity == s]) for s in ("high", "medium", "low")],
        ("cross-file (`fact_from`)", [x for x in result.labels if x.fact_from]),
        ("notebooks", [x for x in result.labels if x.cell is not None]),
    ]
    return [(name, sum(x.key in result.matched for x in group), len(group)) for name, group in groups]


def render(result: Result, show_unjudged: bool = True) -> str:
    out = ["### Recall (measured: labels matched by at least one default-selection finding)", "",
           "| items | recall |", "|---|---|"]
    out += [f"| {name} | {_pct(n, d)} |" for name, n, d in recall_rows(result)]
    out += ["", "| category | rules | matched / items |", "|---|---|---|"]
    cats = Counter(x.category for x in result.labels)
    for cat in sorted(cats):
        hit = sum(x.key in result.matched for x in result.labels if x.category == cat)
        out.append(f"| {cat} | {', '.join(CATEGORY_RULES.get(cat, ())) or 'none'} | {hit}/{cats[cat]} |")
    out += ["", "### Precision per rule (every finding, or the seeded sample of 30)", "",
            "| rule | findings | judged | strict precision | pattern present | from labels (TP/FP) | unjudged |",
            "|---|---|---|---|---|---|---|"]
    tot = Counter()
    weighted_strict = weighted_present = 0.0
    for code, (n, rows) in result.per_rule.items():
        done = [r for r in rows if r.strict is not None]
        strict = sum(bool(r.strict) for r in done)
        with_present = [r for r in done if r.present is not None]
        present = sum(bool(r.present) for r in with_present)
        from_labels = sum(r.source == "label" for r in rows), sum(r.source in ("clean file", "labelled file, unlisted")
                                                                  for r in rows)
        out.append(f"| {code} | {n} | {len(done)}/{len(rows)} | {_pct(strict, len(done))} | "
                   f"{_pct(present, len(with_present))} | {from_labels[0]}/{from_labels[1]} | {len(rows) - len(done)} |")
        tot.update(findings=n, judged=len(done), strict=strict, present=present, present_n=len(with_present))
        if done:
            weighted_strict += n * strict / len(done)
        if with_present:
            weighted_present += n * present / len(with_present)
    out.append(f"| **all (pooled sample)** | {tot['findings']} | {tot['judged']} | {_pct(tot['strict'], tot['judged'])} "
               f"| {_pct(tot['present'], tot['present_n'])} | | |")
    if tot["findings"]:
        out.append(f"| **all (estimated, per-rule precision weighted by findings)** | {tot['findings']} | | "
                   f"{100 * weighted_strict / tot['findings']:.0f} % | {100 * weighted_present / tot['findings']:.0f} % | | |")
    if result.not_waste:
        out += ["", "Not counted (no waste claimed): " + ", ".join(f"{c} {n}" for c, n in sorted(result.not_waste.items()))]
    out += ["", "### Misses (labels no finding matched)", "", "| label | severity | category | cross-file | cause | note |",
            "|---|---|---|---|---|---|"]
    for label, cause, note in sorted(result.misses, key=lambda m: ({"high": 0, "medium": 1, "low": 2}[m[0].severity],
                                                                   m[0].id)):
        out.append(f"| {label.id} | {label.severity} | {label.category} | {'yes' if label.fact_from else ''} | "
                   f"{cause} | {note} |")
    out += ["", "Miss causes: " + ", ".join(f"{c} {n}" for c, n in Counter(c for _, c, _ in result.misses).most_common())]
    if result.errata:
        out += ["", "### Errata candidates (judge says real waste, frozen labels say false positive)", ""]
        out += [f"- {r.finding.repo}:{r.finding.where()} {r.finding.code}: {r.finding.message[:90]}" for r in result.errata]
    unjudged = [r for _, rows in result.per_rule.values() for r in rows if r.strict is None or r.present is None]
    if show_unjudged and unjudged:
        out += ["", f"### To judge ({len(unjudged)} sampled findings without a verdict)", ""]
        out += [f"- {r.finding.repo}:{r.finding.where()} {r.finding.code}: {r.finding.message[:110]}" for r in unjudged]
    return "\n".join(out) + "\n"


def _toml_str(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def write_todo(result: Result, path: Path) -> int:
    """TOML skeletons for the sampled findings that still need a verdict (verdict left to the judge)."""
    chunks = []
    for _, rows in result.per_rule.values():
        for r in rows:
            if r.strict is not None and r.present is not None:
                continue
            f = r.finding
            cell = f"cell = {f.cell}\n" if f.cell is not None else ""
            chunks.append(f"[[finding]]\nrepo = {_toml_str(f.repo)}\npath = {_toml_str(f.path)}\n{cell}line = {f.line}\n"
                          f"code = {_toml_str(f.code)}\nmessage = {_toml_str(f.message[:60])}\n# {r.source}: "
                          f"{f.message[60:200]}\nverdict = \npresent = \nreason = \"\"\n")
    path.write_text("\n".join(chunks))
    return len(chunks)


def compare(before: Path, after: Path, labels_path: Path, judgements_path: Path, corpus_path: Path = CORPUS) -> str:
    a, b = score(before, labels_path, judgements_path, corpus_path), score(after, labels_path, judgements_path, corpus_path)
    gained = [x for x in a.labels if x.key not in a.matched and x.key in b.matched]
    lost = [x for x in a.labels if x.key in a.matched and x.key not in b.matched]
    out = ["### Labels gained / lost", "", f"gained {len(gained)} (cross-file {sum(bool(x.fact_from) for x in gained)}), "
           f"lost {len(lost)} (cross-file {sum(bool(x.fact_from) for x in lost)})", ""]
    out += [f"- gained {x.id} ({x.severity}, {x.category}{', cross-file' if x.fact_from else ''})" for x in gained]
    out += [f"- lost {x.id} ({x.severity}, {x.category}{', cross-file' if x.fact_from else ''})" for x in lost]
    corpus = [r["repo"] for r in load_corpus(corpus_path)]
    fa, fb = load_findings(before, corpus), load_findings(after, corpus)
    keys_b = {f.key for f in fb}
    judged, _ = load_judgements(judgements_path)
    kinds: dict[str, list[tuple[Finding, bool]]] = defaultdict(list)
    for f in fa:
        j = judgement_for(f, judged)
        if j is not None and j.fp_kind:
            kinds[j.fp_kind].append((f, f.key not in keys_b))
    out += ["", "### Issue-13 false-positive kinds (judged before-findings): gone in after / all", ""]
    for kind, items in sorted(kinds.items()):
        out.append(f"- {kind}: {sum(g for _, g in items)}/{len(items)} gone")
        out += [f"  - {'gone' if g else 'still'}: {f.repo}:{f.where()} {f.code}" for f, g in items]
    per_code_a, per_code_b = Counter(f.code for f in fa), Counter(f.code for f in fb)
    out += ["", "| rule | findings before | findings after |", "|---|---|---|"]
    out += [f"| {c} | {per_code_a[c]} | {per_code_b[c]} |" for c in sorted(set(per_code_a) | set(per_code_b))]
    return "\n".join(out) + "\n"


def _check_run_corpus(out: Path, corpus_path: Path) -> None:
    """Refuse to score a run of one corpus set against the labels of another."""
    run = out / "run.json"
    if not run.exists():
        return
    recorded = json.loads(run.read_text()).get("corpus")
    if recorded and Path(recorded).name != corpus_path.name:
        raise SetupError(f"{out} was run on {Path(recorded).name}, not {corpus_path.name}: pass the same --set/--corpus")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("run")
    run.add_argument("--greenlint", required=True, type=Path, help="the greenlint executable to measure")
    run.add_argument("--out", required=True, type=Path)
    run.add_argument("--mirror-root", type=Path, default=Path("/work/.mirror"))
    run.add_argument("--tree", action="append", default=[], metavar="REPO=DIR",
                     help="a repository prepared by hand (Machine-Learning-Collection, see BLIND_CORPUS.md)")
    run.add_argument("--keep-export", type=Path, help="export here and keep it (default: a temp dir, removed)")
    run.add_argument("--extra-args", default="", metavar="ARGS",
                     help="extra greenlint check arguments, one string (e.g. '--preview --min-impact low'); "
                          "recorded in run.json; the headline blind numbers use none")
    run.add_argument("--long-runs", action="store_true",
                     help="pass each repository's frozen `long_runs` patterns (corpus file) as --long-run")
    sc = sub.add_parser("score")
    sc.add_argument("out", type=Path)
    sc.add_argument("--todo", type=Path, help="write TOML skeletons for the findings still to judge")
    sc.add_argument("--json", type=Path)
    cp = sub.add_parser("compare")
    cp.add_argument("before", type=Path)
    cp.add_argument("after", type=Path)
    for p in (run, sc, cp):
        p.add_argument("--set", default=DEFAULT_SET, metavar="NAME",
                       help="corpus set: bench/NAME_corpus.toml, NAME_labels.toml, NAME_judgements.toml (default blind)")
        p.add_argument("--corpus", type=Path, help="corpus file (overrides --set)")
        p.add_argument("--labels", type=Path, help="labels file (overrides --set)")
    for p in (sc, cp):
        p.add_argument("--judgements", type=Path, help="judgements file (overrides --set)")
    args = ap.parse_args(argv)
    try:
        corpus_path, labels_path, judgements_path = set_paths(args.set)
        corpus_path = args.corpus or corpus_path
        labels_path = args.labels or labels_path
        judgements_path = getattr(args, "judgements", None) or judgements_path
        for what, path in (("corpus", corpus_path), ("labels", labels_path)):
            if not path.exists():
                raise SetupError(f"{what} file {path} does not exist")
        if args.cmd == "run":
            prepared = {}
            for item in args.tree:
                repo, sep, where = item.partition("=")
                if not sep:
                    raise SetupError(f"--tree wants REPO=DIR, got {item!r}")
                prepared[repo] = Path(where)
            labels = __import__("tomllib").load(labels_path.open("rb"))["file"]
            anchors: dict[str, list[tuple[str, str]]] = defaultdict(list)
            for entry in labels:
                for w in entry.get("waste", []):
                    if w.get("anchor"):
                        anchors[entry["repo"]].append((entry["path"], w["anchor"]))
            args.greenlint = args.greenlint.absolute()  # each repository is linted from its own root (cwd)
            identity = greenlint_identity(args.greenlint)
            extra = tuple(__import__("shlex").split(args.extra_args))
            runs = run_corpus(load_corpus(corpus_path), args.greenlint, args.out, args.mirror_root, prepared, anchors,
                              args.keep_export, extra, args.long_runs)
            record = {"greenlint": identity, "command": ["greenlint", *GREENLINT_ARGS, *extra], "corpus": str(corpus_path),
                      "long_runs": args.long_runs,
                      "repos": [asdict(r) for r in runs]}
            (args.out / "run.json").write_text(json.dumps(record, indent=1) + "\n")
            for r in runs:
                state = f"MISSING: {r.missing}" if r.missing else f"{r.findings} findings, {r.seconds} s (measured)"
                print(f"{r.repo}: {state}")
            return 1 if any(r.missing for r in runs) else 0
        if args.cmd in ("score", "compare"):
            for out in ([args.out] if args.cmd == "score" else [args.before, args.after]):
                _check_run_corpus(out, corpus_path)
        if args.cmd == "score":
            result = score(args.out, labels_path, judgements_path, corpus_path)
            print(render(result))
            if args.todo:
                print(f"{write_todo(result, args.todo)} findings to judge written to {args.todo}", file=sys.stderr)
            if args.json:
                args.json.write_text(json.dumps({
                    "recall": recall_rows(result),
                    "matched": {k: [asdict(f) for f in v] for k, v in result.matched.items()},
                    "misses": [{"label": m[0].id, "cause": m[1], "note": m[2]} for m in result.misses],
                    "per_rule": {c: {"findings": n, "sample": [{**asdict(r.finding), "strict": r.strict, "present": r.present,
                                                                 "source": r.source} for r in rows]}
                                 for c, (n, rows) in result.per_rule.items()}}, indent=1) + "\n")
            return 0
        print(compare(args.before, args.after, labels_path, judgements_path, corpus_path))
        return 0
    except SetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
