"""Which GPUs a project's job scripts ask for, when all of them lack tensor cores.

Mixed precision speeds training up through tensor cores, which NVIDIA GPUs have from Volta (V100,
2017) on. A project whose batch jobs run on a Kepler K20X (Blue Waters' XK nodes), a K80 or a
P100 gains nothing from autocast there, and GL101's advice would be wrong for it. Research code
says where it runs in its scheduler scripts: `#PBS -l nodes=1:ppn=16:xk`, `#SBATCH --gres=gpu:k80:1`,
`#SBATCH -C p100`, `sbatch --partition=gpu_v100 ...`.

Deliberately narrow, so that one stray file cannot silence a project:
- only scheduler directives (`#PBS`, `#SBATCH`, `#BSUB`, `#$`) and `sbatch`/`qsub`/`srun`/`salloc`
  command lines in job and shell scripts are read (as text; nothing is run);
- the hint holds only when every GPU named in any of them is pre-Volta: a project that also names
  a V100, T4, A100, H100 or RTX card anywhere (two kinds of jobs) gets no hint;
- bounded like launch_scripts.py: at most MAX_SCRIPTS files of at most MAX_SCRIPT_BYTES each.

Projects without job scripts often say in prose where they run, and the blind labels follow it
("no mixed-precision label where the stated GPU has no tensor cores"): a line of a Markdown/reST
file or a notebook (its JSON text: code comments, markdown cells, outputs) that names a pre-Volta
GPU after a word saying it trains or runs there ("trained on", "works on", "tested") is the hint
when no file of those kinds names a GPU with tensor cores anywhere (session 17, Super-SloMo's
"This configuration works on GTX 1080 Ti", blind37 post hoc). Job scripts come first.
"""

from __future__ import annotations

import re
from pathlib import Path

from greenlint.launch_scripts import ScriptWalk

_SUFFIXES = (".pbs", ".sbatch", ".slurm", ".sh", ".job", ".qsub", ".bsub", ".lsf")
_DIRECTIVE = re.compile(r"^\s*(#PBS|#SBATCH|#BSUB|#\$|(\S*/)?(sbatch|qsub|srun|salloc|bsub)\s)", re.IGNORECASE)
_EDGE_L, _EDGE_R = r"(?<![a-z0-9])", r"(?![a-z0-9])"
# Blue Waters' XK7 nodes carry one NVIDIA Tesla K20X each (the PBS node feature `xk`)
_XK_NODES = re.compile(r"-l\s+\S*nodes=\S*:xk" + _EDGE_R, re.IGNORECASE)
_PRE_VOLTA = re.compile(
    _EDGE_L + r"(k20x?m?|k40[mc]?|k80|m40|m60|m2050|m2070|m2090|p100|p40|gtx[ _-]?(9[5-8]0|10[5-8]0)([ _-]?ti)?|"
    r"(gtx[ _-]?)?1080[ _-]?ti|titan[ _-]?xp?)" + _EDGE_R,
    re.IGNORECASE,
)
_TENSOR_CORES = re.compile(
    _EDGE_L + r"(v100\w*|t4|a100\w*|a10g?|a30|a40|a[456]000|l4|l40s?|h100\w*|h200|gh200|b200|"
    r"rtx[ _-]?\d{4}\w*|(rtx[ _-]?)?(20[6-8]0|30[5-9]0|40[6-9]0)(ti)?|titan[ _-]?(v|rtx)|volta|turing|ampere|hopper|"
    r"blackwell)" + _EDGE_R,
    re.IGNORECASE,
)


def read_gpu_hint(root: Path) -> str:
    """A phrase naming the first pre-Volta GPU request when the project's job scripts name no
    other kind of GPU ("" otherwise): "the job scripts request Blue Waters XK nodes (one NVIDIA
    K20X each; `#PBS -l nodes=1:ppn=16:xk` in utils/run.pbs:2)". Failing that, a statement of the
    project's documentation or notebooks that it runs on a pre-Volta GPU ("This configuration works
    on GTX 1080 Ti", avinashpaliwal/Super-SloMo train.ipynb), when they name no other kind."""
    first = ""
    walk = ScriptWalk(root, _SUFFIXES)
    for script in walk:
        found = hint_in(script.text, script.shown)
        if found is None:
            return ""  # a GPU with tensor cores is named: two kinds of jobs, no hint
        first = first or found
    if walk.not_a_project:
        return ""  # not a project: say nothing
    prose = _stated_gpu(root)
    return "" if prose is None else first or prose


# A line that says what the project trains or runs on: "trained on 4 GTX 1080 Ti", "works on GTX
# 1080 Ti", "tested with a Titan X" (Person_reID's "we accelerate the re-ranking ... with one K40m GPU"
# is not where it trains). Names in other lines (a benchmark table of other people's cards) are not
# read as where the project runs, except that any tensor-core GPU named anywhere cancels the hint.
_STATEMENT = re.compile(r"\b(train(ed|ing|s)?|tested|works?|ran|runs?|running)\b", re.IGNORECASE)
_PROSE_SUFFIXES = (".md", ".rst", ".ipynb")


def _stated_gpu(root: Path) -> str | None:
    """The phrase for the first pre-Volta GPU the project's Markdown, reST or notebooks say it runs
    on ("" when none is stated), or None when they name a GPU with tensor cores anywhere."""
    first = ""
    walk = ScriptWalk(root, _PROSE_SUFFIXES)
    for document in walk:
        if _TENSOR_CORES.search(document.text):
            return None
        if first:
            continue
        for number, line in enumerate(document.text.splitlines(), 1):
            match = _PRE_VOLTA.search(line)
            # the verb comes before the card: "works on GTX 1080 Ti", not "re-ranking ... with one K40m GPU"
            if match and _STATEMENT.search(line, 0, match.start()):
                stated = line.strip().rstrip(",").strip('"').removesuffix("\\n").strip()  # a notebook's JSON line
                stated = stated if len(stated) <= 60 else stated[:57] + "..."
                first = f"the project says it runs on {match.group(1).upper()} GPUs (`{stated}` in {document.shown}:{number})"
                break
    return "" if walk.not_a_project else first


def hint_in(text: str, shown: str) -> str | None:
    """The phrase for the first pre-Volta request in one script ("" if it names no GPU), or None
    when it names a GPU with tensor cores."""
    first = ""
    for number, line in enumerate(text.splitlines(), 1):
        if not _DIRECTIVE.match(line):
            continue
        if _TENSOR_CORES.search(line):
            return None
        if first:
            continue
        directive = line.strip()
        if len(directive) > 60:
            directive = directive[:57] + "..."
        if _XK_NODES.search(line):
            first = (f"the project's job scripts request Blue Waters XK nodes, whose GPU is an NVIDIA K20X "
                     f"(`{directive}` in {shown}:{number})")
            continue
        match = _PRE_VOLTA.search(line)
        if match:
            first = f"the project's job scripts request {match.group(1).upper()} GPUs (`{directive}` in {shown}:{number})"
    return first


# "with 4 gpus", "on four NVidia A100", "8x V100", "a 4xA4000 cluster": the number of GPUs the
# documentation says a run uses (two or more), for DataParallel (GL408) and scaled-out runs
_COUNT_WORDS = {"two": 2, "three": 3, "four": 4, "six": 6, "eight": 8, "sixteen": 16, "dual": 2}
_GPU_COUNT = re.compile(
    r"\b(\d{1,2}|two|three|four|six|eight|sixteen|dual)\s*(?:x|×|\*)?\s*(?:nvidia\s+)?(?:tesla\s+)?(?:geforce\s+)?"
    r"(gpus\b|(?:v100|a100|h100|a6000|a4000|a5000|p100|k80|titan\s?(?:xp?|v|rtx)|(?:rtx|gtx)\s?\d{4}(?:\s?ti)?|\d{4}\s?ti)s?\b)",
    re.IGNORECASE,
)


def read_stated_gpu_count(root: Path) -> str:
    """A phrase naming the first statement of the project's Markdown/reST files that its runs use
    two or more GPUs ("README.md:40 says `trained with 4 gpus`"), "" when none says so
    (lyakaap/Landmark2019's "with 4 gpus (each training is done with 2 gpus)", yl4579/StyleTTS2's
    "on four NVidia A100", blind32/36)."""
    walk = ScriptWalk(root, (".md", ".rst"))
    documents = iter(walk)
    for document in documents:
        stated = _stated_count(document.text)
        if stated:
            # the rest of the walk only says whether the root is a project at all (as read_gpu_hint):
            # a home folder's or a data tree's READMEs say nothing about this code's runs
            for _ in documents:
                pass
            return "" if walk.not_a_project else f"{document.shown}:{stated}"
    return ""


def _stated_count(text: str) -> str:
    """'40 says `trained with 4 gpus`' for the first line of `text` that states 2-64 GPUs, "" if none."""
    for number, line in enumerate(text.splitlines(), 1):
        for match in _GPU_COUNT.finditer(line):
            word = match.group(1).lower()
            count = int(word) if word.isdigit() else _COUNT_WORDS[word]
            if 2 <= count <= 64:
                return f"{number} says `{match.group(0).strip()}`"
    return ""
