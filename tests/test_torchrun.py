"""greenlint profile under torchrun: which rank reads which device, the merge of the ranks' results,
the torchrun command line, `greenlint merge`, and real two-process gloo DDP runs on CPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from greenlint.cli import main
from greenlint.merging import MergeError, merge_documents
from greenlint.profiler.recorder import Recorder, StopProfiling
from greenlint.profiler.launch import (
    CHILD_CODE,
    LAUNCHER_CODE,
    LaunchError,
    launch_command,
    parse_torchrun,
    standalone,
    torchrun_argv,
)
from greenlint.profiler.merge import (
    job_exit_code,
    merge_rank_results,
    profile_from_json,
)
from greenlint.profiler.ranks import RankInfo, owned_gpu_positions, rank_sources

# ------------------------------------------------------------------------------ fakes


class FakeNvml:
    """The slice of pynvml that nvml_sources uses: a few GPUs with constant counters."""

    NVML_TOTAL_POWER_SAMPLES = 0

    def __init__(self, count: int) -> None:
        self.count = count

    def nvmlInit(self):
        pass

    def nvmlDeviceGetCount(self):
        return self.count

    def nvmlDeviceGetHandleByIndex(self, i):
        return i

    def nvmlDeviceGetUUID(self, h):
        return f"GPU-{h:04d}".encode()

    def nvmlDeviceGetName(self, h):
        return b"Fake GPU"

    def nvmlDeviceGetTotalEnergyConsumption(self, h):
        return 1_000_000

    def nvmlDeviceGetSamples(self, h, kind, since_us):
        return 0, []


def _rapl(root: Path, uj: int = 0) -> Path:
    zone = root / "intel-rapl:0"
    zone.mkdir(parents=True)
    (zone / "name").write_text("package-0\n")
    (zone / "energy_uj").write_text(f"{uj}\n")
    (zone / "max_energy_range_uj").write_text("1000000000000\n")
    return root


def _info(rank: int, local_rank: int | None = None, local_world_size: int = 2) -> RankInfo:
    local = rank if local_rank is None else local_rank
    return RankInfo(rank, local, local_world_size, local_world_size, 0, "node-a", 0)


def _gpus(sources) -> list[int]:
    return [s.index for s in sources if s.kind == "gpu"]


def _methods(sources) -> list[str]:
    return [s.method for s in sources]


# --------------------------------------------------------------------------- which rank reads what


@pytest.mark.parametrize(("visible", "local_rank", "world", "expected"), [
    (2, 0, 2, [0]), (2, 1, 2, [1]),  # one GPU per rank: cuda:LOCAL_RANK
    (4, 0, 2, [0, 2, 3]), (4, 1, 2, [1]),  # spare GPUs: local rank 0
    (1, 0, 2, [0]), (1, 1, 2, []),  # ranks share a GPU: local rank 0 reads it
    (0, 0, 2, []), (3, 0, 1, [0, 1, 2]),  # no GPU; one process reads every visible GPU
])
def test_gpu_ownership(visible, local_rank, world, expected):
    assert owned_gpu_positions(visible, local_rank, world) == expected


def test_each_gpu_and_the_node_cpu_are_read_by_one_rank(tmp_path, monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    rapl, claims = _rapl(tmp_path / "rapl"), tmp_path / "claims"
    claims.mkdir()
    rank0, _ = rank_sources(_info(0), str(claims), rapl_root=rapl, nvml=FakeNvml(2))
    rank1, _ = rank_sources(_info(1), str(claims), rapl_root=rapl, nvml=FakeNvml(2))
    assert (_gpus(rank0), _gpus(rank1)) == ([0], [1])
    # RAPL is the whole node's: local rank 0 only; the other rank adds no CPU source at all
    assert _methods(rank0) == ["nvml-energy-counter", "rapl"] and _methods(rank1) == ["nvml-energy-counter"]


def test_without_rapl_every_rank_estimates_its_own_process(tmp_path, monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    rank0, _ = rank_sources(_info(0), str(tmp_path), rapl_root=tmp_path / "absent", nvml=FakeNvml(0))
    rank1, _ = rank_sources(_info(1), str(tmp_path), rapl_root=tmp_path / "absent", nvml=FakeNvml(0))
    # process CPU seconds are disjoint between processes: summing the ranks counts each once
    assert _methods(rank0) == _methods(rank1) == ["estimate"]


def test_virtual_local_rank_each_rank_its_own_gpu_and_one_rapl_reader(tmp_path, monkeypatch):
    # torchrun --virtual-local-rank: LOCAL_RANK 0 everywhere, each rank sees only its own GPU
    rapl = _rapl(tmp_path / "rapl")
    read = []
    for rank in (0, 1):
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", str(rank))
        sources, _ = rank_sources(_info(rank, local_rank=0), str(tmp_path), rapl_root=rapl, nvml=FakeNvml(2))
        read.append(sources)
    assert (_gpus(read[0]), _gpus(read[1])) == ([0], [1])
    assert [_methods(s).count("rapl") for s in read] == [1, 0]  # the first to claim the node's RAPL
    # the same GPU seen by two ranks that both think they own it: the claim keeps it to one
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    again, _ = rank_sources(_info(2, local_rank=0), str(tmp_path), rapl_root=rapl, nvml=FakeNvml(2))
    assert _gpus(again) == [] and "rapl" not in _methods(again)


def test_rank_info_from_torchrun_environment():
    info = RankInfo.from_env({"RANK": "5", "LOCAL_RANK": "1", "WORLD_SIZE": "8", "LOCAL_WORLD_SIZE": "4",
                              "GROUP_RANK": "1", "TORCHELASTIC_RESTART_COUNT": "2"})
    assert (info.rank, info.local_rank, info.world_size, info.local_world_size, info.group_rank, info.restart) == \
        (5, 1, 8, 4, 1, 2)
    assert RankInfo.from_env({}).rank == 0


# --------------------------------------------------------------------------- --duration under torchrun


def test_duration_stops_every_rank_at_the_step_rank_zero_names(tmp_path):
    config = {"warmup": 1, "steps": None, "duration": 0.0, "gpu_trace_steps": 0,
              "stop_path": str(tmp_path / "stop.json")}
    leader = Recorder(config, [], [])
    follower = Recorder({**config, "decides_stop": False}, [], [])
    for recorder in (leader, follower):
        recorder.on_step()  # the warm-up step opens the window
    follower.on_step()  # step 2: the follower is ahead and nothing is decided yet
    leader.on_step()  # step 2: rank 0's duration is over; every rank stops at step 3
    assert json.loads((tmp_path / "stop.json").read_text()) == {"stop_at": 3}
    for recorder in (leader, follower):
        with pytest.raises(StopProfiling):
            recorder.on_step()
        assert recorder.step_count == 3 and recorder.stop_reason == "duration"


# --------------------------------------------------------------------------- merging the ranks


def _raw(rank: int, sources: list[dict], begin: list, end: list, window_begin: list, window_end: list,
         step_cpu: list[list], lines=(), t0: float = 1000.0, outcome: str = "stopped", exit_code: int = 0,
         notices=()) -> dict:
    """A rank's raw result, as bootstrap.main writes it: 2 warm-up steps, then len(step_cpu) steps."""
    steps = len(step_cpu)
    return {
        "version": 1, "outcome": outcome, "exit_code": exit_code,
        "config": {"warmup": 2, "steps": steps, "duration": None, "full": False},
        "sources": sources, "cheap_index": [i for i, s in enumerate(sources) if s["cheap"]],
        "notices": list(notices), "hook_installed": True, "steps_seen": steps + 2,
        "run": {"t_begin": t0, "t_end": t0 + 10.0, "begin": begin, "end": end},
        "window": {"t_begin": t0 + 2.0, "begin": window_begin, "step_count_at_begin": 2,
                   "t_end": t0 + 2.0 + steps, "end": window_end, "steps": steps},
        "step_times": [t0 + 3.0 + k for k in range(steps)], "step_cpu": step_cpu,
        "lines_window": [list(x) for x in lines], "lines_all": [list(x) for x in lines],
        "samples": 100, "sample_interval_s": 0.005, "unattributed_s": 0.0, "unattributed_window_s": 0.0,
        "timelines": {}, "cumulative": [],
        "rank": {"rank": rank, "local_rank": rank, "world_size": 2, "local_world_size": 2, "group_rank": 0,
                 "node": "node-a", "restart": 0},
    }


RAPL = {"kind": "cpu", "name": "package-0", "method": "rapl", "cheap": True, "tolerance": 0.1, "basis": ""}
EST = {"kind": "cpu", "name": "process CPU time", "method": "estimate", "cheap": True, "tolerance": 0.5, "basis": ""}


def test_merge_counts_the_node_once_and_sums_per_step_energy():
    # rank 0 read the node's RAPL: 100 J over the run, 3 steps of 10, 20, 30 J; rank 1 read nothing
    rank0 = _raw(0, [RAPL], [0.0], [100.0], [20.0], [80.0], [[30.0], [50.0], [80.0]],
                 lines=[("/t.py", 5, 2.0), ("/t.py", 6, 2.0)])
    rank1 = _raw(1, [], [], [], [], [], [[], [], []], lines=[("/t.py", 5, 4.0)], t0=1000.5)
    prof = merge_rank_results([rank1, rank0], total_steps=10, total_steps_basis=None, exit_code=0,
                              expected_ranks=[0, 1])
    assert prof.energy_j == pytest.approx(100.0) and prof.window_energy_j == pytest.approx(60.0)
    assert [d.name for d in prof.devices] == ["rank 0: package-0"] and prof.energy_how == "measured"
    assert prof.steps == 3 and prof.j_per_step == pytest.approx(20.0)
    assert prof.step_energy_j == pytest.approx([10.0, 20.0, 30.0])
    assert [(r.rank, r.steps, r.energy_j, r.devices) for r in prof.ranks] == \
        [(0, 3, 100.0, ["rank 0: package-0"]), (1, 3, 0.0, [])]
    # projection: rank 0's start-up (20 J) + 20 J/step x 8 remaining; rank 1 adds nothing
    assert prof.projection.energy_j == pytest.approx(20.0 + 20.0 * 8)
    # lines: the same file and line summed over ranks; shares of all the ranks' samples
    line5 = next(l for l in prof.lines if l.line == 5)
    assert line5.time_s == pytest.approx(6.0) and line5.share == pytest.approx(6.0 / 8.0)
    assert line5.cpu_j == pytest.approx(30.0)  # rank 0's 60 J x its share 2/4; rank 1 read no CPU
    assert not any("wrote no result" in n for n in prof.notices)


def test_merge_of_per_rank_estimates_adds_them_and_shifts_timelines():
    rank0 = _raw(0, [EST], [0.0], [12.0], [2.0], [8.0], [[4.0], [6.0], [8.0]])
    rank1 = _raw(1, [EST], [0.0], [9.0], [1.0], [7.0], [[3.0], [5.0], [7.0]], t0=1001.0)
    prof = merge_rank_results([rank0, rank1], total_steps=None, total_steps_basis=None, exit_code=0)
    assert prof.energy_j == pytest.approx(21.0) and prof.energy_how == "estimated"
    assert [d.name for d in prof.devices] == ["rank 0: process CPU time", "rank 1: process CPU time"]
    assert prof.step_energy_j == pytest.approx([4.0, 4.0, 4.0]) and prof.j_per_step == pytest.approx(4.0)
    # rank 1 started a second later: its device's timeline is on the job's clock
    assert prof.devices[1].timeline[0][0] == pytest.approx(1.0)
    assert prof.duration_s == pytest.approx(11.0)
    assert prof.projection.energy_j is None  # no total steps known


def test_ranks_that_disagree_on_steps_or_fail_are_said():
    rank0 = _raw(0, [EST], [0.0], [5.0], [1.0], [4.0], [[2.0], [3.0], [4.0]], notices=["same everywhere"])
    rank1 = _raw(1, [EST], [0.0], [5.0], [1.0], [3.0], [[2.0], [3.0]], outcome="failed", exit_code=3,
                 notices=["same everywhere", "only rank 1"])
    prof = merge_rank_results([rank0, rank1], None, None, exit_code=job_exit_code(1, [rank0, rank1]),
                              expected_ranks=[0, 1, 2])
    assert prof.outcome == "failed" and prof.exit_code == 3 and prof.steps == 3
    assert any("different numbers of steps (rank 0: 3, rank 1: 2)" in n for n in prof.notices)
    assert "same everywhere" in prof.notices and "rank 1: only rank 1" in prof.notices
    assert any(n.startswith("rank(s) 2 wrote no result") for n in prof.notices)


def test_job_exit_code_prefers_the_failing_rank():
    assert job_exit_code(1, [{"outcome": "terminated", "exit_code": 143}, {"outcome": "failed", "exit_code": 2}]) == 2
    assert job_exit_code(1, [{"outcome": "interrupted", "exit_code": 130}]) == 130
    assert job_exit_code(0, [{"outcome": "stopped", "exit_code": 0}]) == 0
    assert job_exit_code(137, []) == 137


# --------------------------------------------------------------------------- the torchrun command line


def test_torchrun_command_lines_are_recognised():
    assert torchrun_argv(["torchrun", "--nproc-per-node", "2", "t.py"], None) == ["--nproc-per-node", "2", "t.py"]
    assert torchrun_argv(["/usr/bin/torchrun", "t.py"], None) == ["t.py"]
    assert torchrun_argv(["python", "-m", "torch.distributed.run", "t.py", "-x"], None) == ["t.py", "-x"]
    assert torchrun_argv(["--nproc_per_node=2", "t.py"], "torch.distributed.run") == ["--nproc_per_node=2", "t.py"]
    assert torchrun_argv(["t.py", "torchrun"], None) is None and torchrun_argv(["x"], "pkg.train") is None


def test_torchrun_options_are_parsed_by_torchrun_and_the_bootstrap_inserted():
    cmd = parse_torchrun(["--nnodes=2", "--nproc_per_node", "4", "--rdzv-endpoint", "h:29400", "train.py",
                          "--lr", "0.1", "-m", "x"])
    assert cmd.launcher_args == ["--nnodes=2", "--nproc_per_node", "4", "--rdzv-endpoint", "h:29400"]
    assert (cmd.script, cmd.module, cmd.args, cmd.nproc_per_node, cmd.max_nodes) == \
        ("train.py", None, ["--lr", "0.1", "-m", "x"], "4", 2)
    module = parse_torchrun(["--standalone", "-m", "pkg.train", "--epochs", "1"])
    assert (module.launcher_args, module.module, module.args) == (["--standalone"], "pkg.train", ["--epochs", "1"])
    assert launch_command(["--standalone"], "/tmp/c.json", ["-m", "pkg.train"], ["--epochs", "1"]) == [
        sys.executable, "-c", LAUNCHER_CODE, "--standalone", "--no-python", sys.executable, "-u", "-c", CHILD_CODE,
        "/tmp/c.json", "-m", "pkg.train", "--epochs", "1"]
    assert standalone(2) == ["--standalone", "--nproc-per-node", "2"]
    with pytest.raises(LaunchError, match="not Python"):
        parse_torchrun(["--no-python", "./train.sh"])


def test_profile_refuses_duration_across_nodes(tmp_path, capsys):
    script = tmp_path / "t.py"
    script.write_text("pass\n")
    code = main(["profile", "--duration", "5", "torchrun", "--nnodes", "2", "--nproc-per-node", "1", str(script)])
    assert code == 2 and "--duration cannot stop several nodes" in capsys.readouterr().err


# --------------------------------------------------------------------------- greenlint merge


def _node_doc(ranks: list[int], energy: float, steps: int = 5, saving: float = 10.0, projection: float = 1000.0,
              t0: float = 1000.0) -> dict:
    devices = [{"kind": "gpu", "name": f"rank {r}: GPU {r}", "method": "nvml-energy-counter", "energy_j": energy / len(ranks),
                "window_energy_j": energy / len(ranks) / 2, "tolerance": 0.05, "basis": "measured", "timeline": [[0.0, 100.0]]}
               for r in ranks]
    return {
        "profile": {
            "outcome": "stopped", "exit_code": 0, "steps": steps, "steps_seen": steps + 3, "warmup_steps": 3,
            "energy_j": energy, "energy_how": "measured", "duration_s": 10.0, "window_energy_j": energy / 2,
            "window_time_s": 5.0, "j_per_step": energy / 2 / steps, "j_per_step_p10": None, "j_per_step_p90": None,
            "step_time_s": 1.0, "devices": devices,
            "lines": [{"filename": "/job/train.py", "line": 7, "energy_j": energy / 2, "time_s": 1.0, "share": 0.5,
                       "cpu_j": 0.0, "gpu_active_j": energy / 2, "gpu_idle_j": 0.0}],
            "lines_basis": "estimated: ...", "notices": [], "gpu_trace": None,
            "projection": {"total_steps": 100, "energy_j": projection, "low_j": projection * 0.9,
                           "high_j": projection * 1.1, "time_s": 100.0, "basis": "projected: ...",
                           "total_steps_basis": "--total-steps"},
            "step_energy_j": [], "step_bounds_s": [], "step_group": 1,
            "ranks": [{"rank": r, "local_rank": i, "node": f"node-{ranks[0]}", "steps": steps, "steps_seen": steps + 3,
                       "energy_j": energy / len(ranks), "j_per_step": None, "devices": [f"rank {r}: GPU {r}"],
                       "outcome": "stopped", "exit_code": 0, "t_begin": t0} for i, r in enumerate(ranks)],
        },
        "advice": [{"rank": 1, "code": "GL101", "name": "mixed-precision-missing", "message": "m",
                    "filename": "/job/train.py", "line": 7, "quantified": True, "estimated_savings_j": saving,
                    "estimated_savings_pct": 1.0, "low_j": saving / 2, "high_j": saving * 2, "confidence": "high",
                    "basis": "b", "fix_applicability": None}],
        "carbon": {"energy_kwh": 0.0, "low_kwh": 0.0, "high_kwh": 0.0, "grid_g_per_kwh": 100.0,
                   "grid_source": "given by the user", "pue": 1.2, "co2e_g": 0.0, "low_g": 0.0, "high_g": 0.0,
                   "basis": ""},
        "advice_notices": [],
    }


def test_merge_documents_adds_nodes_and_sums_repeated_advice():
    doc = merge_documents([_node_doc([0, 1], 400.0), _node_doc([2, 3], 600.0, saving=30.0, t0=1002.0)])
    profile = doc["profile"]
    assert profile["energy_j"] == pytest.approx(1000.0) and len(profile["devices"]) == 4
    assert [r["rank"] for r in profile["ranks"]] == [0, 1, 2, 3] and profile["steps"] == 5
    assert profile["projection"]["energy_j"] == pytest.approx(2000.0)
    assert profile["devices"][2]["timeline"][0][0] == pytest.approx(2.0)  # node 2 started 2 s later
    assert profile["lines"][0]["energy_j"] == pytest.approx(500.0)
    [advice] = doc["advice"]
    assert advice["estimated_savings_j"] == pytest.approx(40.0) and advice["low_j"] == pytest.approx(20.0)
    assert advice["estimated_savings_pct"] == pytest.approx(2.0) and advice["basis"].startswith("summed over 2")
    # carbon again from the job's projection, with the user's grid figure and PUE
    assert doc["carbon"]["grid_g_per_kwh"] == 100.0 and doc["carbon"]["pue"] == 1.2
    assert doc["carbon"]["energy_kwh"] == pytest.approx(2000.0 * 1.2 / 3.6e6)


def test_merge_documents_checks_its_input():
    with pytest.raises(MergeError, match="at least two"):
        merge_documents([_node_doc([0], 1.0)])
    with pytest.raises(MergeError, match="share ranks"):
        merge_documents([_node_doc([0], 1.0), _node_doc([0], 1.0)])
    doc = merge_documents([_node_doc([0], 1.0, steps=5), _node_doc([1], 1.0, steps=6)])
    assert any("different numbers of steps" in n for n in doc["profile"]["notices"])


def test_merge_command_writes_the_job_document(tmp_path, capsys):
    paths = []
    for i, ranks in enumerate(([0, 1], [2, 3])):
        paths.append(tmp_path / f"node{i}.json")
        paths[-1].write_text(json.dumps(_node_doc(ranks, 100.0)))
    out = tmp_path / "all.json"
    assert main(["merge", *map(str, paths), "--output", str(out)]) == 0
    merged = json.loads(out.read_text())
    assert merged["profile"]["energy_j"] == pytest.approx(200.0) and len(merged["profile"]["ranks"]) == 4
    assert profile_from_json(merged["profile"]).ranks[3].node == "node-2"
    assert main(["merge", str(paths[0]), str(tmp_path / "missing.json")]) == 2
    assert "cannot read" in capsys.readouterr().err


# --------------------------------------------------------------------------- real runs (gloo, CPU)

DDP_SCRIPT = """
import fcntl, os, sys, torch, torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP
torch.set_num_threads(1)
dist.init_process_group("gloo")
zone = os.environ.get("FAKE_RAPL_ZONE")

def spend_one_joule():
    # a made-up RAPL counter every rank advances by 1 J per step (atomically, under a lock):
    # the node's true energy is known exactly, whichever rank reads it
    with open(os.path.join(zone, "lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with open(os.path.join(zone, "energy_uj")) as fh:
            value = int(fh.read()) + 1_000_000
        with open(os.path.join(zone, "energy_uj.new"), "w") as fh:
            fh.write(f"{value}\\n")
        os.replace(os.path.join(zone, "energy_uj.new"), os.path.join(zone, "energy_uj"))

torch.manual_seed(0)
model = DDP(torch.nn.Linear(8, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.01)
for step in range(1000):
    if zone:
        spend_one_joule()  # before the step's all-reduce, so rank 0 reads it before it stops
    loss = model(torch.randn(16, 8)).pow(2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
print("loop finished", file=sys.stderr)
dist.destroy_process_group()
"""


def _run(tmp_path: Path, *args: str, env: dict | None = None) -> tuple[subprocess.CompletedProcess, dict]:
    script = tmp_path / "ddp_train.py"
    script.write_text(textwrap.dedent(DDP_SCRIPT).lstrip("\n"))
    out = tmp_path / "profile.json"
    proc = subprocess.run([sys.executable, "-m", "greenlint", "profile", "--format", "json", "--output", str(out),
                           "--no-html", "--no-advice", *args],
                          check=False, capture_output=True, text=True, timeout=180, cwd=tmp_path, env={**os.environ, **(env or {})})
    assert out.exists(), proc.stderr
    return proc, json.loads(out.read_text())["profile"]


def test_two_gloo_ranks_measure_the_node_once(tmp_path):
    rapl = _rapl(tmp_path / "rapl")
    proc, prof = _run(tmp_path, "--nproc-per-node", "2", "--steps", "4", "--warmup", "1", "ddp_train.py",
                      env={"GREENLINT_RAPL_ROOT": str(rapl), "FAKE_RAPL_ZONE": str(rapl / "intel-rapl:0")})
    assert proc.returncode == 0, proc.stderr
    assert "loop finished" not in proc.stderr  # every rank stopped at the same step boundary
    assert prof["outcome"] == "stopped" and prof["steps"] == 4 and prof["steps_seen"] == 5
    assert [(r["rank"], r["local_rank"], r["steps"], r["steps_seen"]) for r in prof["ranks"]] == [(0, 0, 4, 5), (1, 1, 4, 5)]
    # the node's RAPL is read by local rank 0 only ...
    assert [d["name"] for d in prof["devices"]] == ["rank 0: package-0"]
    assert prof["ranks"][0]["devices"] == ["rank 0: package-0"] and prof["ranks"][1]["devices"] == []
    # ... so the total is what the counter advanced: 1 J per rank per step, 2 ranks x 5 steps, not twice that
    assert prof["energy_j"] == pytest.approx(10.0)
    assert prof["ranks"][0]["energy_j"] == pytest.approx(10.0) and prof["ranks"][1]["energy_j"] == 0.0


def test_torchrun_command_line_each_rank_estimates_itself(tmp_path):
    proc, prof = _run(tmp_path, "--steps", "3", "--warmup", "1", "torchrun", "--standalone", "--nproc-per-node", "2",
                      "ddp_train.py", env={"GREENLINT_RAPL_ROOT": str(tmp_path / "no-rapl")})
    assert proc.returncode == 0, proc.stderr
    assert [(r["rank"], r["steps"]) for r in prof["ranks"]] == [(0, 3), (1, 3)] and prof["steps"] == 3
    devices = [(d["name"], d["method"]) for d in prof["devices"]]
    assert devices == [("rank 0: process CPU time", "estimate"), ("rank 1: process CPU time", "estimate")]
    # one estimate per process, summed once: the total is the ranks' own CPU energies added
    assert prof["energy_j"] == pytest.approx(sum(r["energy_j"] for r in prof["ranks"]))
    assert prof["energy_j"] == pytest.approx(sum(d["energy_j"] for d in prof["devices"]))
    assert len(prof["step_energy_j"]) == 3 and prof["j_per_step"] > 0
