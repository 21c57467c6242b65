"""Is the advice's predicted saving right, and is the measured one? On CPU examples, via
`greenlint profile --measure-fixes`.

For each example (a reload every step, a pandas row loop, a numpy element loop, and a script with
two wastes of different size):

1. `greenlint profile --format json --measure-fixes --rounds R`: the advice's predicted saving and
   range, and the measured saving with its 95 % interval (fixes applied alone in scratch copies,
   original and fixed profiled alternately). GL601 and GL604 have no autofix, so for the pandas
   and numpy examples the same experiment (greenlint.measure_fixes.measure_variants, the code
   behind the option) runs with the bench's hand-written fixed version instead.
2. The true saving: `greenlint profile --full` of the original and of the fixed script, alternated,
   `--full-repeats` times each; the difference of the two medians of the whole runs' energy.
3. Checks: the measured interval contains the true saving; on the two-waste script the ranking by
   measured saving puts the larger waste first.

Then the null check: `--null` pairs of profiles of the same unchanged script, each compared with
`greenlint compare`: "no significant difference" is expected in at least 19 of 20.

    python bench/advice_accuracy.py [--rounds 5] [--full-repeats 3] [--null 20] [--null-steps 20]
                                    [--null-variants 0] [--json FILE] [--table-from FILE]

Runs on CPU only: energies are the labelled CPU estimate (CPU seconds x 12 W/core, the same
factor for both variants). Needs torch; the pandas/numpy examples need pandas and numpy and are
skipped without them. Prints Markdown for docs/advice-accuracy.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Example:
    name: str
    codes: tuple[str, ...]  # the rules whose advice is checked, largest waste first
    source: str
    fixed: str | None  # None: greenlint's autofix (--measure-fixes); else the hand-written fix
    args: tuple[str, ...]  # the script's arguments (for step scripts: the total steps)
    steps: int | None  # measured steps per profile (None: the script has no optimizer steps)
    total_steps: int | None
    needs: tuple[str, ...] = ("torch",)


RELOAD = """
import os, sys, tempfile, torch
torch.set_num_threads(1)
path = os.path.join(tempfile.mkdtemp(), "data.pt")
torch.save(torch.randn(200000, 16), path)
model = torch.nn.Linear(16, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.01)
for step in range(int(sys.argv[1])):
    data = torch.load(path)
    loss = model(data[:256]).pow(2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
"""

TWO_WASTES = """
import os, sys, tempfile, torch
torch.set_num_threads(1)
folder = tempfile.mkdtemp()
big, small = os.path.join(folder, "big.pt"), os.path.join(folder, "small.pt")
torch.save(torch.randn(200000, 16), big)
torch.save(torch.randn(20000, 16), small)
model = torch.nn.Linear(16, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.01)
for step in range(int(sys.argv[1])):
    extra = torch.load(small)
    data = torch.load(big)
    loss = model(data[:256]).pow(2).mean() + model(extra[:256]).pow(2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
"""

ROWS = """
import numpy as np
import pandas as pd
rng = np.random.default_rng(0)
df = pd.DataFrame({"price": rng.random(200_000), "qty": rng.integers(1, 10, 200_000)})
totals = []
for _, row in df.iterrows():
    totals.append(row["price"] * row["qty"])
df["total"] = totals
print(round(float(df["total"].sum()), 3))
"""

ROWS_FIXED = """
import numpy as np
import pandas as pd
rng = np.random.default_rng(0)
df = pd.DataFrame({"price": rng.random(200_000), "qty": rng.integers(1, 10, 200_000)})
df["total"] = df["price"] * df["qty"]
print(round(float(df["total"].sum()), 3))
"""

ELEMENTS = """
import numpy as np
np.random.seed(0)
a = np.random.rand(1_000_000)
b = np.random.rand(1_000_000)
out = np.zeros(1_000_000)
for i in range(len(a)):
    out[i] = a[i] * b[i] + 1.0
print(round(float(out.sum()), 3))
"""

ELEMENTS_FIXED = """
import numpy as np
np.random.seed(0)
a = np.random.rand(1_000_000)
b = np.random.rand(1_000_000)
out = a * b + 1.0
print(round(float(out.sum()), 3))
"""

EXAMPLES = [
    Example("reload every step (torch.load in the loop)", ("GL301",), RELOAD, None, ("200",), 20, 200),
    Example("two wastes: a 12.8 MB and a 1.28 MB reload", ("GL301", "GL301"), TWO_WASTES, None, ("200",), 20, 200),
    Example("pandas iterrows over numeric columns", ("GL601",), ROWS, ROWS_FIXED, (), None, None,
            needs=("pandas", "numpy")),
    Example("numpy per-element loop", ("GL604",), ELEMENTS, ELEMENTS_FIXED, (), None, None, needs=("numpy",)),
]


def _greenlint(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "greenlint", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=3600, check=False)


def _profile_args(example: Example) -> list[str]:
    if example.steps is None:
        return []
    return ["--steps", str(example.steps), "--warmup", "3", "--total-steps", str(example.total_steps)]


def _profile(cwd: Path, example: Example, out: str, *extra: str) -> dict:
    proc = _greenlint(cwd, "profile", "--format", "json", "--output", out, "--no-html", "--no-progress",
                      *_profile_args(example), *extra, "train.py", *example.args)
    if proc.returncode != 0:
        raise RuntimeError(f"profile failed: {proc.stderr[-2000:]}")
    return json.loads((cwd / out).read_text())


def _full_energy(cwd: Path, example: Example) -> float:
    proc = _greenlint(cwd, "profile", "--full", "--format", "json", "--output", "full.json", "--no-html",
                      "--no-advice", "--no-progress", "train.py", *example.args)
    if proc.returncode != 0:
        raise RuntimeError(f"--full profile failed: {proc.stderr[-2000:]}")
    return float(json.loads((cwd / "full.json").read_text())["profile"]["energy_j"])


def _hand_written(cwd: Path, example: Example, document: dict, rounds: int) -> list[dict]:
    """The --measure-fixes experiment with the bench's own fixed version (no autofix for the rule)."""
    from greenlint.advice import Advice
    from greenlint.measure_fixes import (
        Experiment,
        Variant,
        candidates,
        measure_variants,
        rank_by_measurement,
    )
    from greenlint.profiler.runner import ProfileOptions

    [item] = [a for a in document["advice"] if a["code"] == example.codes[0]][:1]
    [trial] = candidates([Advice(**dict(item, fix_applicability="hand-written"))], 1)
    options = ProfileOptions(script="train.py", module=None, args=list(example.args))
    experiment = Experiment(options, cwd, rounds, document["profile"])
    variant = Variant(trial, "train.py", textwrap.dedent(example.fixed or "").lstrip().encode())
    import os

    previous = os.getcwd()
    os.chdir(cwd)
    try:
        with tempfile.TemporaryDirectory(prefix="greenlint-measure-") as scratch:
            measure_variants(experiment, [variant], Path(scratch))
    finally:
        os.chdir(previous)
    return [t.to_json() for t in rank_by_measurement([trial])]


def _fixed_sources(cwd: Path, example: Example, trials: list[dict]) -> list[str]:
    """Each measured fix's fixed script (in advice order of `trials`)."""
    if example.fixed is not None:
        return [textwrap.dedent(example.fixed).lstrip()]
    from greenlint.scratch_copy import fixed_bytes

    data = (cwd / "train.py").read_bytes()
    out = []
    for t in trials:
        fixed = fixed_bytes(data, "train.py", t["code"], t["line"], t["message"])
        if isinstance(fixed, str):
            raise RuntimeError(fixed)  # noqa: TRY004 - the fix did not apply, not a type problem
        out.append(fixed.decode("utf-8"))
    return out


def measure(example: Example, rounds: int, full_repeats: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="greenlint-advice-") as tmp:
        cwd = Path(tmp)
        original = textwrap.dedent(example.source).lstrip()
        (cwd / "train.py").write_text(original, encoding="utf-8")
        if example.fixed is None:
            document = _profile(cwd, example, "before.json", "--measure-fixes", "--rounds", str(rounds),
                                "--top", str(len(example.codes)))
            trials = document["measured_fixes"]
        else:
            document = _profile(cwd, example, "before.json")
            trials = _hand_written(cwd, example, document, rounds)
        by_line = sorted(trials, key=lambda t: t["rank"])  # advice order
        fixed = _fixed_sources(cwd, example, by_line)
        # true savings: --full runs, original and each fixed version alternated
        energies: list[list[float]] = [[] for _ in range(1 + len(fixed))]
        for _ in range(full_repeats):
            for k, source in enumerate([original, *fixed]):
                (cwd / "train.py").write_text(source, encoding="utf-8")
                energies[k].append(_full_energy(cwd, example))
        (cwd / "train.py").write_text(original, encoding="utf-8")
        for k, t in enumerate(by_line):
            t["true_runs_j"] = energies[1 + k]
        result = {"example": example.name, "original_runs_j": energies[0], "trials": trials}
        add_truth(result)
        return result


def add_truth(result: dict) -> None:
    """The true saving of each fix: the mean of the paired differences of the alternated --full
    runs (original minus fixed, repeat by repeat), with its paired 95 % interval."""
    from greenlint.statistics import paired_rounds

    for t in result["trials"]:
        pairs = list(zip(result["original_runs_j"], t["true_runs_j"]))
        t["true_saving_j"] = statistics.mean(a - b for a, b in pairs)
        band = paired_rounds([a for a, _ in pairs], [b for _, b in pairs])
        t["true_low_j"], t["true_high_j"] = (band.low, band.high) if band is not None else (None, None)


def null_comparisons(pairs: int, steps: int, rounds: int = 1) -> dict:
    """`pairs` comparisons of profiles of the unchanged reload script (`steps` measured steps each,
    of a run of 10x as many); each comparison is of `rounds` pairs made alternately."""
    example = dataclasses.replace(EXAMPLES[0], steps=steps, total_steps=10 * steps, args=(str(10 * steps),))
    results = []
    with tempfile.TemporaryDirectory(prefix="greenlint-null-") as tmp:
        cwd = Path(tmp)
        (cwd / "train.py").write_text(textwrap.dedent(example.source).lstrip(), encoding="utf-8")
        for _ in range(pairs):
            files = []
            for k in range(rounds):
                for side in "ab":
                    _profile(cwd, example, f"{side}{k}.json", "--no-advice")
                    files.append(f"{side}{k}.json")
            proc = _greenlint(cwd, "compare", "--format", "json", *files)
            comparison = json.loads(proc.stdout)
            results.append({"significant": comparison["significant"], "saved_pct": comparison["saved_pct_per_step"],
                            "low_pct": comparison["saved_pct_low"], "high_pct": comparison["saved_pct_high"]})
    return {"pairs": pairs, "steps": steps, "rounds": rounds, "no_significant_difference": sum(not r["significant"] for r in results),
            "results": results}


def null_variants(trials: int, rounds: int) -> dict:
    """--measure-fixes' own null check: `trials` experiments whose "fixed" copy is identical to
    the original (the reload script); each should give "no measurable effect"."""
    from greenlint.measure_fixes import Experiment, Trial, Variant, measure_variants
    from greenlint.profiler.runner import ProfileOptions

    example = EXAMPLES[0]
    source = textwrap.dedent(example.source).lstrip()
    out = []
    import os

    with tempfile.TemporaryDirectory(prefix="greenlint-null-") as tmp:
        cwd = Path(tmp)
        (cwd / "train.py").write_text(source, encoding="utf-8")
        baseline = _profile(cwd, example, "base.json", "--no-advice")["profile"]
        options = ProfileOptions(script="train.py", module=None, args=list(example.args), steps=example.steps,
                                 warmup=3, total_steps=example.total_steps)
        previous = os.getcwd()
        os.chdir(cwd)
        try:
            for _ in range(trials):
                trial = Trial(0, "none", "train.py", 0, "identical copy", None, None, None, None)
                with tempfile.TemporaryDirectory(prefix="greenlint-measure-") as scratch:
                    measure_variants(Experiment(options, cwd, rounds, baseline),
                                     [Variant(trial, "train.py", source.encode())], Path(scratch))
                out.append({"verdict": trial.verdict, "saved_pct": trial.saved_pct, "low_pct": trial.saved_pct_low,
                            "high_pct": trial.saved_pct_high})
        finally:
            os.chdir(previous)
    return {"trials": trials, "rounds": rounds, "no_effect": sum(r["verdict"] == "no measurable effect" for r in out),
            "results": out}


def _j(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}"


def print_tables(results: list[dict], null: dict | None) -> None:
    print("| example | rule (line) | predicted (J) | predicted range (J) | measured (J), 95 % interval | verdict "
          "| true saving (J), 95 % interval (--full runs: original; fixed) | measured interval contains the true "
          "point / overlaps its interval | measured rank |")
    print("|---|---|---|---|---|---|---|---|---|")
    for result in results:
        for t in result["trials"]:
            low, high = t["run_saving_low_j"], t["run_saving_high_j"]
            inside = low is not None and low <= t["true_saving_j"] <= high
            overlap = low is not None and t["true_low_j"] is not None and low <= t["true_high_j"] and \
                t["true_low_j"] <= high
            measured = (f"{_j(t['run_saving_j'])} ({_j(low)} to {_j(high)})"
                        if t["run_saving_j"] is not None else f"{t['status']}: {t['why']}")
            print(f"| {result['example']} | {t['code']} ({t['line']}) | {_j(t['predicted_j'])} | "
                  f"{_j(t['predicted_low_j'])}-{_j(t['predicted_high_j'])} | {measured} | {t['verdict']} | "
                  f"{_j(t['true_saving_j'])} ({_j(t['true_low_j'])} to {_j(t['true_high_j'])}; runs "
                  f"{', '.join(map(_j, result['original_runs_j']))}; {', '.join(map(_j, t['true_runs_j']))}) | "
                  f"{'yes' if inside else 'no'} / {'yes' if overlap else 'no'} | {t['measured_rank']} |", flush=True)
    if null is not None:
        print(f"\nNull check: {null['no_significant_difference']} of {null['pairs']} comparisons of "
              f"{null.get('rounds', 1)} pair(s) of profiles ({null['steps']} measured steps each) of the unchanged "
              "reload script gave \"no significant difference\"; saving per step (%, 95 % interval): "
              + "; ".join(f"{r['saved_pct']:.1f} ({r['low_pct']:.1f} to {r['high_pct']:.1f})"
                          for r in null["results"]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--full-repeats", type=int, default=3)
    parser.add_argument("--null", type=int, default=20, help="pairs of profiles for the null check (0: skip)")
    parser.add_argument("--null-steps", type=int, default=20, help="measured steps per profile in the null check")
    parser.add_argument("--null-rounds", type=int, default=1, help="pairs of profiles per null comparison")
    parser.add_argument("--null-variants", type=int, default=0, metavar="N",
                        help="N --measure-fixes experiments with an identical 'fixed' copy (0: skip)")
    parser.add_argument("--only", help="run only the examples whose name contains this")
    parser.add_argument("--json", metavar="FILE", help="also write the raw results here")
    parser.add_argument("--table-from", metavar="FILE", help="print the tables of an earlier --json FILE, run nothing")
    args = parser.parse_args()
    if args.table_from:
        saved = json.loads(Path(args.table_from).read_text(encoding="utf-8"))
        for result in saved["examples"]:
            add_truth(result)
        print_tables(saved["examples"], saved["null"])
        return
    results = []
    for example in EXAMPLES:
        if args.only and args.only not in example.name:
            continue
        missing = [m for m in example.needs if importlib.util.find_spec(m) is None]
        if missing:
            print(f"skipped {example.name}: {', '.join(missing)} not installed", file=sys.stderr)
            continue
        results.append(measure(example, args.rounds, args.full_repeats))
        print(f"done: {example.name}", file=sys.stderr, flush=True)
    null = null_comparisons(args.null, args.null_steps, args.null_rounds) if args.null else None
    same = null_variants(args.null_variants, args.rounds) if args.null_variants else None
    if args.json:
        Path(args.json).write_text(json.dumps({"examples": results, "null": null, "null_variants": same}, indent=2),
                                   encoding="utf-8")
    print_tables(results, null)
    if same is not None:
        print(f"\n--measure-fixes null check: {same['no_effect']} of {same['trials']} experiments ({same['rounds']} "
              "rounds) whose fixed copy is identical to the original gave \"no measurable effect\"; saving per step "
              "(%, 95 % interval): " + "; ".join(f"{r['saved_pct']:.1f} ({r['low_pct']:.1f} to {r['high_pct']:.1f})"
                                                 for r in same["results"]))


if __name__ == "__main__":
    main()
