"""Which rank measures what, under torchrun: every device of a node is read by exactly one rank.

torchrun starts one bootstrap per rank, all on the same node sharing greenlint's temporary
directory. Double counting is what CodeCarbon does under `srun` (each process reads the whole
node); here:

- **GPUs**: with at least as many visible GPUs as local ranks, local rank r reads visible GPU r
  (the usual `cuda:LOCAL_RANK`), and local rank 0 also the visible GPUs beyond the local world
  size (idle or used by someone else: the single-process profiler reads every visible GPU too).
  With fewer visible GPUs than local ranks (several ranks per GPU, CPU-only ranks, or torchrun's
  `--virtual-local-rank`, where each rank sees one GPU as device 0 with LOCAL_RANK 0), local
  rank 0 reads every GPU it sees.
- **RAPL** (the node's CPU package and DRAM counters) by local rank 0 only.
- **The CPU estimate** (process CPU time x W per core) by every rank, each its own process: the
  ranks' CPU seconds are disjoint, so their sum is the node's training processes once.

A claim file per device (`O_CREAT | O_EXCL` in the shared directory, per torchrun restart) backs
the rule up: a device already claimed is never read a second time (with `--virtual-local-rank`
every rank has LOCAL_RANK 0; the first to claim the node's RAPL reads it).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from greenlint.profiler.rapl_source import RAPL_ROOT
from greenlint.profiler.sources import EnergySource, select_sources


@dataclass
class RankInfo:
    rank: int
    local_rank: int
    world_size: int
    local_world_size: int
    group_rank: int  # the node's index in the job (torchrun's GROUP_RANK)
    node: str  # host name
    restart: int  # TORCHELASTIC_RESTART_COUNT

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> RankInfo:
        """torchrun's variables; a process started without them is rank 0 of 1."""
        env = os.environ if env is None else env

        def num(name: str, default: int) -> int:
            try:
                return int(env.get(name, default))
            except ValueError:
                return default

        return cls(rank=num("RANK", 0), local_rank=num("LOCAL_RANK", 0), world_size=num("WORLD_SIZE", 1),
                   local_world_size=num("LOCAL_WORLD_SIZE", 1), group_rank=num("GROUP_RANK", 0),
                   node=socket.gethostname(), restart=num("TORCHELASTIC_RESTART_COUNT", 0))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def owned_gpu_positions(visible: int, local_rank: int, local_world_size: int) -> list[int]:
    """Positions in the visible GPU list that this local rank reads (see the module docstring)."""
    if local_world_size <= 1:
        return list(range(visible))
    if visible >= local_world_size:
        if local_rank >= visible:
            return []
        return [local_rank] + (list(range(local_world_size, visible)) if local_rank == 0 else [])
    return list(range(visible)) if local_rank == 0 else []


def claim(claim_dir: str | None, name: str) -> bool:
    """True for the first process of this node to claim `name` (no directory: always True)."""
    if claim_dir is None:
        return True
    try:
        fd = os.open(os.path.join(claim_dir, f"claim.{name}"), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return False
    except OSError:
        return True  # cannot coordinate: measure rather than lose the device
    os.close(fd)
    return True


def rank_sources(info: RankInfo, claim_dir: str | None, cpu_watts_per_core: float | None = None,
                 rapl_root: Path = RAPL_ROOT, nvml: Any | None = None,
                 use_nvml: bool = True) -> tuple[list[EnergySource], list[str]]:
    """This rank's share of the node's sources, plus notices (select_sources with ownership)."""
    prefix = f"r{info.restart}."

    def choose(visible: list[int]) -> list[int]:
        positions = owned_gpu_positions(len(visible), info.local_rank, info.local_world_size)
        # NVML indices are physical (CUDA_VISIBLE_DEVICES does not renumber them), so they name
        # the same GPU in every rank of the node.
        return [visible[p] for p in positions if claim(claim_dir, f"{prefix}gpu{visible[p]}")]

    node_cpu = info.local_rank == 0 and claim(claim_dir, f"{prefix}rapl")
    return select_sources(cpu_watts_per_core, rapl_root=rapl_root, nvml=nvml, use_nvml=use_nvml,
                          choose_gpus=choose, read_node_cpu=node_cpu)
