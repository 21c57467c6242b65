"""Predicted vs measured savings of greenlint's advice on CPU examples.

For each example: profile it (JSON), take the advice item of the example's rule, apply the fix
(greenlint's own autofix where it has one, else the hand-written fixed version below), profile
again, and compare with `greenlint compare`. Prints a Markdown table for docs/advice-accuracy.md.

    python bench/advice_accuracy.py [--repeat 3]

Runs on CPU only (the estimate source: CPU seconds x 12 W/core, the same factor before and after,
so the comparison does not depend on it). Needs torch; the pandas/numpy examples need pandas and
numpy and are skipped without them.
"""

from __future__ import annotations

import argparse
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
    code: str  # the rule whose advice is checked
    before: str
    after: str | None  # None: apply greenlint's autofix
    args: tuple[str, ...]
    profile_args: tuple[str, ...]
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
    Example("reload every step (torch.load in the loop)", "GL301", RELOAD, None, ("100000",),
            ("--steps", "30", "--warmup", "3", "--total-steps", "500")),
    Example("bundled demo (greenlint demo's script)", "GL301", "", None, (),
            ("--steps", "30", "--warmup", "3")),
    Example("pandas iterrows over numeric columns", "GL601", ROWS, ROWS_FIXED, (), (),
            needs=("pandas", "numpy")),
    Example("numpy per-element loop", "GL604", ELEMENTS, ELEMENTS_FIXED, (), (), needs=("numpy",)),
]


def _run(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "greenlint", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=900)


def _profile(cwd: Path, example: Example, out: str) -> dict:
    proc = _run(cwd, "profile", "--format", "json", "--output", out, "--no-html", *example.profile_args,
                "train.py", *example.args)
    if proc.returncode != 0:
        raise RuntimeError(f"profile failed: {proc.stderr[-2000:]}")
    return json.loads((cwd / out).read_text())


def _source(example: Example) -> str:
    if example.before:
        return textwrap.dedent(example.before).lstrip()
    from greenlint.demo import DEMO_SCRIPT

    return DEMO_SCRIPT.read_text(encoding="utf-8")


def measure(example: Example) -> dict:
    with tempfile.TemporaryDirectory(prefix="greenlint-advice-") as tmp:
        cwd = Path(tmp)
        script = cwd / "train.py"
        script.write_text(_source(example), encoding="utf-8")
        before = _profile(cwd, example, "before.json")
        items = [a for a in before["advice"] if a["code"] == example.code]
        if not items:
            raise RuntimeError(f"no {example.code} advice: {[a['code'] for a in before['advice']]}")
        if example.after is None:
            fixed = _run(cwd, "check", "--no-cache", "--fix", "--unsafe-fixes", "--select", example.code, "train.py")
            if "Fixed" not in fixed.stdout + fixed.stderr and fixed.returncode not in (0, 1):
                raise RuntimeError(f"fix failed: {fixed.stdout} {fixed.stderr}")
        else:
            script.write_text(textwrap.dedent(example.after).lstrip(), encoding="utf-8")
        _profile(cwd, example, "after.json")
        comparison = json.loads(_run(cwd, "compare", "--format", "json", "before.json", "after.json").stdout)
        measured = comparison["measured_run_saving_j"]
        if measured is None:  # no steps: the whole measured runs
            measured = before["profile"]["energy_j"] - json.loads((cwd / "after.json").read_text())["profile"]["energy_j"]
        item = items[0]
        return {"predicted": item["estimated_savings_j"], "low": item["low_j"], "high": item["high_j"],
                "measured": measured, "confidence": item["confidence"], "quantified": item["quantified"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print("| example | rule | predicted (J) | predicted range (J) | measured (J), median of runs | measured in range |")
    print("|---|---|---|---|---|---|")
    for example in EXAMPLES:
        missing = [m for m in example.needs if importlib.util.find_spec(m) is None]
        if missing:
            print(f"| {example.name} | {example.code} | skipped: {', '.join(missing)} not installed | | | |")
            continue
        runs = [measure(example) for _ in range(args.repeat)]
        if not runs[0]["quantified"]:
            print(f"| {example.name} | {example.code} | unquantified | | | |")
            continue
        predicted = statistics.median(r["predicted"] for r in runs)
        low = statistics.median(r["low"] for r in runs)
        high = statistics.median(r["high"] for r in runs)
        measured = [r["measured"] for r in runs]
        inside = sum(r["low"] <= r["measured"] <= r["high"] for r in runs)
        print(f"| {example.name} | {example.code} | {predicted:.3g} | {low:.3g}-{high:.3g} | "
              f"{statistics.median(measured):.3g} ({', '.join(f'{m:.3g}' for m in measured)}) | "
              f"{inside}/{len(runs)} |", flush=True)


if __name__ == "__main__":
    main()
