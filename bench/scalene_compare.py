"""greenlint profile vs Scalene `--cpu-only` on a CPU training loop that re-reads its data file every
step (the waste in examples/profile_demo.py).

    python bench/scalene_compare.py [--rounds 5] [--steps 100] [--scalene-path DIR] [--json FILE]

Per round, in rotating order: the script plain, under `greenlint profile --full`, under
`scalene run --cpu-only` (its default 10 ms sampling) and under `scalene run --cpu-only
--cpu-sampling-rate 0.005` (greenlint's 5 ms). The script times its own training loop
(perf_counter), so interpreter start-up, imports and each tool's start and report are outside the
loop time; the whole command's wall time is reported too. It prints:

1. overhead on the loop's wall time and CPU time (process_time: all threads, so greenlint's
   sampler thread and Scalene's signal handler are both in it): best of N, median of N, and the
   median of the per-round ratios (variant / plain of the same round);
2. the line each tool puts on top and its share (greenlint: `profile.lines[0].share`, over the
   measured steps; Scalene: python + native + system CPU percent of the line, over the whole
   program, and renormalised over the loop body's lines for a like-for-like number).

Scalene is not a greenlint dependency. Install it where it cannot change the project's venv, e.g.
`pip install --no-deps --target /tmp/scalene-pkgs scalene==2.4.0 cloudpickle nvidia-ml-py`, and pass
`--scalene-path /tmp/scalene-pkgs` (it is then put on PYTHONPATH for the Scalene runs only).
Without an importable Scalene the bench says so and exits 0.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

SCRIPT = textwrap.dedent('''
    import argparse
    import os
    import tempfile
    import time

    import torch


    def make_dataset(path, rows):
        features = torch.randn(rows, 64)
        labels = (features[:, :8].sum(dim=1) > 0).long()
        torch.save({"x": features, "y": labels}, path)


    def main():
        parser = argparse.ArgumentParser()
        parser.add_argument("--steps", type=int, default=100)
        parser.add_argument("--rows", type=int, default=200_000)
        parser.add_argument("--batch", type=int, default=256)
        parser.add_argument("--threads", type=int, default=1)
        parser.add_argument("--out", required=True)
        args = parser.parse_args()
        if args.threads:
            torch.set_num_threads(args.threads)

        torch.manual_seed(0)
        workdir = tempfile.mkdtemp(prefix="scalene-compare-")
        path = os.path.join(workdir, "train.pt")
        make_dataset(path, args.rows)

        model = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 2))
        optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
        loss_fn = torch.nn.CrossEntropyLoss()

        start_time, start_cpu = time.perf_counter(), time.process_time()
        for step in range(args.steps):  # LOOP START
            data = torch.load(path)  # the waste: the whole file, re-read every step
            start = (step * args.batch) % (args.rows - args.batch)
            x, y = data["x"][start:start + args.batch], data["y"][start:start + args.batch]
            loss = loss_fn(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()  # LOOP END
        elapsed, cpu = time.perf_counter() - start_time, time.process_time() - start_cpu
        with open(args.out, "w") as fh:
            fh.write(repr((elapsed, cpu)))
        os.remove(path)
        os.rmdir(workdir)


    if __name__ == "__main__":
        main()
''')

SCRIPT_LINES = SCRIPT.splitlines()
LOOP_FIRST = next(i for i, t in enumerate(SCRIPT_LINES, 1) if "# LOOP START" in t)
LOOP_LAST = next(i for i, t in enumerate(SCRIPT_LINES, 1) if "# LOOP END" in t)


def _text(line: int) -> str:
    return SCRIPT_LINES[line - 1].strip() if 0 < line <= len(SCRIPT_LINES) else "?"


def scalene_env(path: str | None) -> dict[str, str] | None:
    """The environment the Scalene runs use, or None when Scalene cannot be imported."""
    env = dict(os.environ)
    if path:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (path, env.get("PYTHONPATH")) if p)
    probe = subprocess.run([sys.executable, "-c", "import scalene, importlib.metadata as m; print(m.version('scalene'))"],
                           env=env, capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        return None
    env["SCALENE_VERSION"] = probe.stdout.strip()
    return env


def run(cmd: list[str], out: str, env: dict[str, str] | None = None) -> tuple[float, float, float]:
    """(loop wall time and loop CPU time the script measured, wall time of the whole command)."""
    if os.path.exists(out):
        os.remove(out)
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
    wall = time.perf_counter() - t0
    if done.returncode != 0 or not os.path.exists(out):
        raise SystemExit(f"exit {done.returncode} from {' '.join(cmd)}\n{done.stderr[-3000:]}")
    with open(out) as fh:
        loop_wall, loop_cpu = ast.literal_eval(fh.read())
    return float(loop_wall), float(loop_cpu), wall


def greenlint_top(report: str, script: str) -> dict:
    with open(report) as fh:
        profile = json.load(fh)["profile"]
    top = profile["lines"][0]
    ours = os.path.realpath(top["filename"]) == os.path.realpath(script)
    return {"line": top["line"], "text": _text(top["line"]) if ours else top["filename"],
            "share": top["share"], "over": "the measured steps (after 3 warm-up steps)",
            "steps_seen": profile["steps_seen"], "samples_basis": profile["lines_basis"]}


def scalene_top(report: str, script: str) -> dict:
    with open(report) as fh:
        data = json.load(fh)
    rows = []
    for filename, entry in data["files"].items():
        for line in entry["lines"]:
            pct = line["n_cpu_percent_python"] + line["n_cpu_percent_c"] + line["n_sys_percent"]
            if pct > 0:
                rows.append((pct, filename, line["lineno"]))
    rows.sort(reverse=True)
    pct, filename, lineno = rows[0]
    ours = os.path.realpath(filename) == os.path.realpath(script)
    loop = sum(p for p, f, n in rows if os.path.realpath(f) == os.path.realpath(script) and LOOP_FIRST <= n <= LOOP_LAST)
    load_line = next(n for n, t in enumerate(SCRIPT_LINES, 1) if "torch.load(path)" in t)
    load_pct = sum(p for p, f, n in rows if os.path.realpath(f) == os.path.realpath(script) and n == load_line)
    return {"line": lineno, "text": _text(lineno) if ours else filename, "share": pct / 100,
            "over": "the whole program's CPU samples", "loop_share": loop / 100,
            "load_line_share": load_pct / 100, "load_line_share_of_loop": load_pct / loop if loop else None,
            "elapsed_time_sec": data.get("elapsed_time_sec")}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1, see profiler_overhead.py)")
    parser.add_argument("--scalene-path", help="a directory holding Scalene (pip --target), put on PYTHONPATH for Scalene only")
    parser.add_argument("--json", help="also write the raw numbers to this file")
    args = parser.parse_args()

    env = scalene_env(args.scalene_path)
    if env is None:
        print("scalene is not importable (pip install scalene, or pass --scalene-path DIR); skipping the comparison")
        return 0
    version = env["SCALENE_VERSION"]
    with tempfile.TemporaryDirectory() as tmp:
        script, out = os.path.join(tmp, "reload_train.py"), os.path.join(tmp, "elapsed")
        with open(script, "w") as fh:
            fh.write(SCRIPT)
        script_args = ["--steps", str(args.steps), "--rows", str(args.rows), "--threads", str(args.threads), "--out", out]
        g_report, s_report, s5_report = (os.path.join(tmp, n) for n in ("greenlint.json", "scalene.json", "scalene5.json"))
        variants = {
            "plain": ([sys.executable, script, *script_args], None),
            "greenlint profile --full": ([sys.executable, "-m", "greenlint", "profile", "--full", "--format", "json",
                                          "--output", g_report, "--no-html", "--no-advice", script, *script_args], None),
            "scalene --cpu-only (10 ms)": ([sys.executable, "-m", "scalene", "run", "--cpu-only", "-o", s_report,
                                            script, "---", *script_args], env),
            "scalene --cpu-only (5 ms)": ([sys.executable, "-m", "scalene", "run", "--cpu-only", "--cpu-sampling-rate",
                                           "0.005", "-o", s5_report, script, "---", *script_args], env),
        }
        names = list(variants)
        loop = {n: [] for n in names}
        cpu = {n: [] for n in names}
        wall = {n: [] for n in names}
        load_before = os.getloadavg()
        for r in range(args.rounds):
            order = names[r % len(names):] + names[:r % len(names)]
            for name in order:
                cmd, e = variants[name]
                t_loop, t_cpu, t_wall = run(cmd, out, e)
                loop[name].append(t_loop)
                cpu[name].append(t_cpu)
                wall[name].append(t_wall)
            print(f"round {r + 1}: " + ", ".join(f"{n} {loop[n][-1]:.2f} s ({cpu[n][-1]:.2f} s CPU)" for n in names),
                  flush=True)
        load_after = os.getloadavg()
        tops = {"greenlint profile --full": greenlint_top(g_report, script),
                "scalene --cpu-only (10 ms)": scalene_top(s_report, script),
                "scalene --cpu-only (5 ms)": scalene_top(s5_report, script)}

    result = {"scalene_version": version, "steps": args.steps, "rows": args.rows, "threads": args.threads,
              "rounds": args.rounds, "loop_s": loop, "loop_cpu_s": cpu, "wall_s": wall, "top_lines": tops,
              "load_before": load_before, "load_after": load_after, "cpus": os.cpu_count(), "overhead": {}}
    print(f"\nScalene {version}; loop of {args.steps} steps timed inside the script; {args.rounds} rounds; "
          f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after; {os.cpu_count()} CPUs")
    for metric, values, label in (("wall", loop, "loop wall time (perf_counter)"),
                                  ("cpu", cpu, "loop CPU time (process_time, all threads)")):
        print(f"\n{label}; overhead vs plain")
        print(f"{'variant':28} {'best s':>7} {'median s':>9} {'best':>7} {'median':>7} {'paired':>7} {'cmd wall s':>10}")
        for name in names:
            ratios = [v / p for v, p in zip(values[name], values["plain"])]
            best = min(values[name]) / min(values["plain"]) - 1
            med = statistics.median(values[name]) / statistics.median(values["plain"]) - 1
            paired = statistics.median(ratios) - 1
            result["overhead"].setdefault(name, {})[metric] = {"best": best, "median": med, "paired_median": paired}
            print(f"{name:28} {min(values[name]):7.2f} {statistics.median(values[name]):9.2f} {best * 100:+6.1f}% "
                  f"{med * 100:+6.1f}% {paired * 100:+6.1f}% {statistics.median(wall[name]):10.2f}")
    print("(best: best of N over best of N; median: median over median; paired: median of the per-round ratios; "
          "cmd wall: median wall time of the whole command, start-up and report included)")
    print("\ntop line (last round):")
    for name, top in tops.items():
        extra = ""
        if "loop_share" in top:
            extra = (f"; loop body {top['loop_share']:.0%} of the program; the torch.load line "
                     f"{top['load_line_share']:.0%} of the program = {top['load_line_share_of_loop']:.0%} of the loop")
        print(f"  {name}: line {top['line']} `{top['text']}` {top['share']:.0%} of {top['over']}{extra}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
