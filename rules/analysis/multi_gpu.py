"""Does the module's run use several GPUs in one process? The question GL408 (DataParallel instead
of DDP) needs before a detected long run may show it (session 16).

`nn.DataParallel` on one GPU calls the module directly: no replication, nothing DDP would save.
Over every blind verdict GL408 was worth acting on where the project runs on several GPUs (README
commands with `--gpu_ids 0,1,2,3`, configs with `gpu_ids: [0, 1]`, `--n-gpu 2`) and not where it
runs on one (a `device_count() > 1` guard, `--gpu_ids 0` by default, inference utilities): 24 of 83.
Positive evidence only, read from the module (argparse defaults and the values the project's
launches pass, literals): a GPU-list option with two or more ids, a GPU-count option of two or
more, `DataParallel(device_ids=[0, 1])`, a launch on several processes, or the project's Markdown
saying its runs use two or more GPUs ("with 4 gpus", "on four NVidia A100"; session 17, blind32's
Landmark solution and blind36's StyleTTS2).
"""

from __future__ import annotations

import re

import libcst as cst

from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.config_argparse import option_strings
from greenlint.rules.analysis.literals import argument, literal_value, resolved_value

# options that list GPU ids (`--gpu_ids 0,1,2,3`, `-d 0,1`, `--devices 0,1`) and ones that count GPUs
_ID_OPTION = re.compile(r"^-{1,2}(gpu_?ids?|gpus?|devices?|device_ids|cuda|d)$", re.IGNORECASE)
_COUNT_OPTION = re.compile(r"^-{1,2}(n[-_]?gpus?|num[-_]?gpus?|gpu[-_]?num|ngpus?|world[-_]?size)$", re.IGNORECASE)
_IDS = re.compile(r"^\s*\d+\s*(,\s*\d+\s*)+$")


def multi_gpu_evidence(analysis: ModuleAnalysis) -> str:
    """A phrase naming the evidence that the run uses two or more GPUs, "" when none is seen."""
    context = analysis.facts.context
    if context.launch_processes is not None:
        return f"launched on {context.launch_processes[0]} processes"
    if context.stated_gpu_count:
        return context.stated_gpu_count
    for site in analysis.facts.calls:
        if site.attr == "add_argument" and site.node.args:
            found = _option_evidence(site.node, context.launch_options)
            if found:
                return found
        if (site.qualname or "").endswith("DataParallel"):
            ids = literal_value(argument(site.node, "device_ids", 1))
            if isinstance(ids, (list, tuple)) and len(ids) >= 2:
                return f"`DataParallel(device_ids={list(ids)})`"
    return ""


def _option_evidence(call: cst.Call, launched: dict[str, tuple[str, str]]) -> str:
    for option in option_strings(call):
        ids, count = _ID_OPTION.match(option), _COUNT_OPTION.match(option)
        if not ids and not count:
            continue
        text, where = launched.get(option, (None, ""))
        value = text if text is not None else resolved_value(argument(call, "default"))
        said = f"`{option} {value}`" + (f" in {where}" if where else " by default")
        if ids and isinstance(value, str) and _IDS.match(value):
            return said
        if ids and isinstance(value, (list, tuple)) and len(value) >= 2:
            return said
        if count and str(value).strip().isdigit() and int(str(value).strip()) >= 2:
            return said
    return ""
