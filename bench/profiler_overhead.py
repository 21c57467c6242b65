"""Overhead of `greenlint profile` on a compute-bound CPU training loop.

    python bench/profiler_overhead.py [--mode both|process|in-process] [--rounds 7] [--steps 300]
                                      [--pairs 30] [--segment-steps 40] [--threads 1] [--json FILE]

Two measurements, both on the same compute-bound MLP loop:

**process** (what a user sees):
The loop times itself (perf_counter and process_time around the training loop only, so interpreter
start-up, torch's import and greenlint's own start and report are not counted), plain and under
`greenlint profile --full`. Wall time is what a user waits for; CPU time (all threads of the
process, so greenlint's sampler thread is in it) is what the energy estimate charges and is far
less disturbed by other processes on a shared machine. Built for a noisy shared machine:

- the two variants run interleaved, in alternating order (plain first in odd rounds, profiled
  first in even rounds), so drift and order effects hit both alike;
- it reports best-of-N and median of each variant, and the median of the per-round ratios
  (profiled / plain of the same round), which is the least sensitive to load that changes
  between rounds;
- torch runs one intra-op thread by default (`--threads`): with two threads on two shared cores
  every barrier spins while another process holds a core, and the loop time swung 5x between runs;
- it checks that the profiled runs really counted every optimizer step (the hook was live), and
  prints the load average before and after.

**in-process** (the per-step machinery only, far less noisy): see `in_process()`. Separate
processes started seconds apart see different load on a shared machine (the plain runs alone
spread 20-60 %), so a 3 % difference is invisible there; adjacent segments of one process are not.
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

WARMUP_STEPS = 5  # in the script, the same in both modes

LOOP = textwrap.dedent("""
    import sys, time, torch
    torch.manual_seed(0)
    steps, out, threads = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    if threads:
        torch.set_num_threads(threads)
    model = torch.nn.Sequential(torch.nn.Linear(512, 1024), torch.nn.ReLU(), torch.nn.Linear(1024, 512),
                                torch.nn.ReLU(), torch.nn.Linear(512, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x, y = torch.randn(256, 512), torch.randint(0, 10, (256,))
    loss_fn = torch.nn.CrossEntropyLoss()
    for _ in range(WARMUP):  # the same warm-up in both modes
        opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step()
    start, cpu_start = time.perf_counter(), time.process_time()
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    open(out, "w").write(repr((elapsed, cpu)))
""").replace("WARMUP", str(WARMUP_STEPS))


def _time_once(cmd: list[str], out: str) -> tuple[float, float]:
    if os.path.exists(out):
        os.remove(out)
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"exit {done.returncode} from {' '.join(cmd)}\n{done.stderr[-3000:]}")
    with open(out) as fh:
        wall, cpu = ast.literal_eval(fh.read())
    return float(wall), float(cpu)


def in_process(pairs: int, steps: int, threads: int, workload: str = "mlp", interval: float = 0.005) -> dict:
    """The profiler's per-step machinery (recorder.Recorder: the 5 ms sampler thread walking the
    main thread's stack, the optimizer step hook with its clock and CPU-time reads) switched on and
    off in alternating segments of one process, so the two sides of each pair are a fraction of a
    second apart and see the same load. Not included: the child's start (runpy, the import
    finder), the run-length probe (first step and once per epoch only), the once-a-second status
    file of the live display."""
    import torch
    from greenlint.profiler import recorder as recorder_module
    from greenlint.profiler.sources import select_sources

    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(512, 1024), torch.nn.ReLU(), torch.nn.Linear(1024, 512),
                                torch.nn.ReLU(), torch.nn.Linear(512, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x, y = torch.randn(256, 512), torch.randint(0, 10, (256,))
    loss_fn = torch.nn.CrossEntropyLoss()
    from torch.optim.optimizer import register_optimizer_step_post_hook as register
    tmp = tempfile.mkdtemp(prefix="gl-overhead-")
    data_path = os.path.join(tmp, "train.pt")
    if workload == "reload":  # examples/profile_demo.py's waste: unpickling holds the GIL most of the step
        torch.save({"x": torch.randn(200_000, 64), "y": torch.randint(0, 2, (200_000,))}, data_path)
        model = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 2))
        opt = torch.optim.SGD(model.parameters(), lr=0.05)

    def segment() -> tuple[float, float]:
        start, cpu_start = time.perf_counter(), time.process_time()
        for step in range(steps):
            if workload == "reload":
                data = torch.load(data_path)
                xb, yb = data["x"][step * 256:(step + 1) * 256], data["y"][step * 256:(step + 1) * 256]
            else:
                xb, yb = x, y
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
        return time.perf_counter() - start, time.process_time() - cpu_start

    def profiled() -> tuple[float, float, int, int]:
        sources, notices = select_sources(None, use_nvml=False)
        recorder = recorder_module.Recorder({"warmup": 0, "steps": None, "full": True, "sample_interval_s": interval,
                                            "gpu_trace_steps": 0}, sources, notices)
        handle = register(recorder.on_step)
        recorder.start()
        # The sampler thread's own CPU clock: splits the overhead into the sampler's work and the
        # main thread's slowdown (GIL hand-offs, caches).
        sampler = getattr(recorder, "_sampler", None)
        clock = time.pthread_getcpuclockid(sampler.ident) if sampler is not None and sampler.ident else None
        sampler_cpu0 = time.clock_gettime(clock) if clock is not None else 0.0
        samples0 = recorder.samples
        try:
            wall, cpu = segment()
            sampler_cpu = time.clock_gettime(clock) - sampler_cpu0 if clock is not None else float("nan")
            samples = recorder.samples - samples0
        finally:
            recorder.finish(0, "completed")
            handle.remove()
        return wall, cpu, recorder.step_count, samples, sampler_cpu

    segment()  # warm-up
    rows = []
    for i in range(pairs):
        if i % 2 == 0:
            off = segment()
            on = profiled()
        else:
            on = profiled()
            off = segment()
        if on[2] != steps:
            raise SystemExit(f"the hook counted {on[2]} steps of {steps}")
        rows.append({"off_wall": off[0], "off_cpu": off[1], "on_wall": on[0], "on_cpu": on[1], "samples": on[3],
                     "sampler_cpu": on[4]})
    if os.path.exists(data_path):
        os.remove(data_path)
    os.rmdir(tmp)
    out = {"workload": workload, "interval_s": interval, "pairs": pairs, "steps_per_segment": steps, "rows": rows}
    for metric in ("wall", "cpu"):
        ratios = [r[f"on_{metric}"] / r[f"off_{metric}"] for r in rows]
        mean = statistics.fmean(ratios)
        sem = statistics.stdev(ratios) / len(ratios) ** 0.5 if len(ratios) > 1 else float("nan")
        total = sum(r[f"on_{metric}"] for r in rows) / sum(r[f"off_{metric}"] for r in rows)
        out[metric] = {"median": statistics.median(ratios) - 1, "mean": mean - 1, "ci95": 1.96 * sem,
                       "sum_ratio": total - 1}
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", "--runs", type=int, default=7, help="interleaved rounds (default 7)")
    parser.add_argument("--steps", type=int, default=300, help="timed optimizer steps per run (default 300)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads in the loop (default 1; 0 = torch's default). On a "
                             "shared 2-core machine two threads spin at every barrier whenever another "
                             "process holds a core, and the loop time swings 5x")
    parser.add_argument("--mode", choices=("both", "process", "in-process"), default="both",
                        help="process: plain vs `greenlint profile --full` runs; in-process: the recorder "
                             "switched on and off in alternating segments of one process (default both)")
    parser.add_argument("--pairs", type=int, default=30, help="in-process on/off pairs (default 30)")
    parser.add_argument("--segment-steps", type=int, default=40, help="steps per in-process segment (default 40)")
    parser.add_argument("--interval", type=float, default=0.005,
                        help="in-process: the sampler's interval in seconds (default 0.005, greenlint's own)")
    parser.add_argument("--workload", choices=("mlp", "reload"), default="mlp",
                        help="in-process loop: mlp (compute-bound, the default) or reload (torch.load of a 51 MB "
                             "file every step, as in examples/profile_demo.py: Python-heavy, holds the GIL)")
    parser.add_argument("--json", help="also write the raw numbers to this file")
    args = parser.parse_args()
    result: dict = {"steps": args.steps, "rounds": args.rounds, "threads": args.threads, "cpus": os.cpu_count()}
    if args.mode in ("both", "in-process"):
        load = os.getloadavg()[0]
        ip = in_process(args.pairs, args.segment_steps, args.threads, args.workload, args.interval)
        result["in_process"] = ip
        samples = statistics.median(r["samples"] for r in ip["rows"])
        print(f"in-process ({args.workload}, sampling every {args.interval * 1000:g} ms), {args.pairs} alternating pairs of {args.segment_steps}-step segments "
              f"(median {statistics.median(r['off_wall'] for r in ip['rows']):.3f} s off, {samples:.0f} samples "
              f"per profiled segment; load average {load:.2f} -> {os.getloadavg()[0]:.2f}):")
        sampler_cpu = sum(r["sampler_cpu"] for r in ip["rows"])
        n_samples = sum(r["samples"] for r in ip["rows"])
        off_cpu = sum(r["off_cpu"] for r in ip["rows"])
        ip["sampler_cpu_per_sample_us"] = sampler_cpu / n_samples * 1e6 if n_samples else None
        ip["sampler_cpu_share_of_off_cpu"] = sampler_cpu / off_cpu
        print(f"  the sampler thread's own CPU time: {ip['sampler_cpu_per_sample_us']:.1f} µs per sample, "
              f"{ip['sampler_cpu_share_of_off_cpu'] * 100:.2f} % of the unprofiled segments' CPU time")
        for metric, label in (("wall", "wall time"), ("cpu", "CPU time (all threads)")):
            o = ip[metric]
            print(f"  {label}: overhead median {o['median'] * 100:+.2f} %, mean {o['mean'] * 100:+.2f} % "
                  f"± {o['ci95'] * 100:.2f} % (95 % CI of the mean), total on / total off {o['sum_ratio'] * 100:+.2f} %",
                  flush=True)
        if args.mode == "in-process":
            if args.json:
                with open(args.json, "w") as fh:
                    json.dump(result, fh, indent=1)
            return 0
    load_before = os.getloadavg()
    times: dict[str, dict[str, list[float]]] = {m: {"plain": [], "profiled": []} for m in ("wall", "cpu")}
    steps_seen: list[int] = []
    with tempfile.TemporaryDirectory() as tmp:
        script, out = os.path.join(tmp, "loop.py"), os.path.join(tmp, "elapsed")
        report = os.path.join(tmp, "profile.json")
        with open(script, "w") as fh:
            fh.write(LOOP)
        script_args = [script, str(args.steps), out, str(args.threads)]
        plain_cmd = [sys.executable, *script_args]
        profiled_cmd = [sys.executable, "-m", "greenlint", "profile", "--full", "--format", "json",
                        "--output", report, "--no-html", "--no-advice", *script_args]
        started = time.time()
        for i in range(args.rounds):
            order = ["plain", "profiled"] if i % 2 == 0 else ["profiled", "plain"]
            for variant in order:
                wall_s, cpu_s = _time_once(plain_cmd if variant == "plain" else profiled_cmd, out)
                times["wall"][variant].append(wall_s)
                times["cpu"][variant].append(cpu_s)
                if variant == "profiled":
                    with open(report) as fh:
                        steps_seen.append(json.load(fh)["profile"]["steps_seen"])
            w, c = times["wall"], times["cpu"]
            print(f"round {i + 1} ({' then '.join(order)}): wall plain {w['plain'][-1]:.3f} s, profiled "
                  f"{w['profiled'][-1]:.3f} s (x{w['profiled'][-1] / w['plain'][-1]:.3f}); CPU plain "
                  f"{c['plain'][-1]:.3f} s, profiled {c['profiled'][-1]:.3f} s (x{c['profiled'][-1] / c['plain'][-1]:.3f})",
                  flush=True)
        bench_wall = time.time() - started
    load_after = os.getloadavg()
    expected = args.steps + WARMUP_STEPS
    hook_ok = all(s == expected for s in steps_seen)
    print(f"steps counted by greenlint per profiled run: {sorted(set(steps_seen))} (expected {expected}: "
          f"{'ok' if hook_ok else 'MISMATCH'})")
    summary = {}
    for metric, label in (("wall", "loop wall time (perf_counter)"), ("cpu", "loop CPU time (process_time, all threads)")):
        plain, profiled = times[metric]["plain"], times[metric]["profiled"]
        ratios = [b / a for a, b in zip(plain, profiled)]
        summary[metric] = {
            "best": min(profiled) / min(plain) - 1,
            "median": statistics.median(profiled) / statistics.median(plain) - 1,
            "paired_median": statistics.median(ratios) - 1,
            "plain_spread": max(plain) / min(plain) - 1,
        }
        o = summary[metric]
        print(f"{label}: plain best {min(plain):.3f} s / median {statistics.median(plain):.3f} s (spread "
              f"{o['plain_spread'] * 100:.0f} %), profiled best {min(profiled):.3f} s / median "
              f"{statistics.median(profiled):.3f} s -> overhead best-of-{args.rounds} {o['best'] * 100:+.1f} %, "
              f"median {o['median'] * 100:+.1f} %, median of per-round ratios {o['paired_median'] * 100:+.1f} %")
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f}; {os.cpu_count()} CPUs; "
          f"bench wall time {bench_wall:.0f} s")
    result["process"] = {"times": times, "summary": summary, "steps_seen": steps_seen, "hook_ok": hook_ok,
                         "load_before": load_before, "load_after": load_after}
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=1)
    return 0 if hook_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
