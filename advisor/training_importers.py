"""Which project file trains with what this module prepares (GL305 across modules).

A common layout tokenises in a data module (`utils/data_utils.py`: `tokenizer(texts,
padding="max_length")` inside `data_preprocess`) and trains in a script that imports it
(`finetune.py`: `from utils import data_utils`, then `Trainer(...).train()`). Linted alone, the
data module trains nothing, so GL305 stayed silent on the padding that every training step then
pays for (yenhao-huang/sentiment-analysis, a development-corpus miss). This module answers, for a
file that pads to a fixed length, whether a project file that imports it (a name from it, or the
module itself) trains: a training step or loop the index already found in it, or, in its text, a
backward pass, a `fit(`, a trainer's `.train()` or a trainer/Lightning constructor.

Test files, the module itself and importers that run on a TPU or through XLA/TensorFlow/JAX
(fixed shapes wanted on purpose, as GL305 itself says) do not count. Only text scans and the exports the project index
already caches; the reverse import tables come from the index's one read of the project
(project_scan.py).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from greenlint.project_index import ProjectIndex

_MAX_IMPORTERS = 8  # read at most this many importers of the module
# a fixed-length padding argument in the module's text: the only question asked of the importers
_STATIC_PADDING = re.compile(r"""padding\s*=\s*["']max_length["']|pad_to_max_length\s*=\s*True""")
# an importer that trains: a backward pass, Keras/Lightning `fit(`, a `.train()` (a trainer's run, or
# a model put in training mode) or a Hugging Face / TRL / Lightning trainer built there
_TRAINS = re.compile(
    r"\.backward\(|\.fit\(|\.train\(\s*\)|\b(Seq2Seq|SFT|DPO|Reward|PPO)?Trainer\(|\bpl\.Trainer\(|"
    r"\bL\.Trainer\(|\blightning\.Trainer\("
)

# an importer that runs on a TPU or through XLA (TensorFlow, JAX/Flax): fixed shapes are wanted there
# on purpose (GL305 is silent in such modules itself), so its padding is not waste
_FIXED_SHAPES = re.compile(r"\btpu|\bxla\b|torch_xla|tensorflow|\bimport jax\b|\bfrom jax\b|\bflax\b", re.IGNORECASE)


def pads_to_fixed_length(text: str) -> bool:
    return "max_length" in text and bool(_STATIC_PADDING.search(text))


def training_importer(index: ProjectIndex, path: Path, text: str) -> str:
    """A phrase naming the first project file that imports from `path` and trains ("`finetune.py`
    imports it and trains"), "" when none does or `path` pads nothing to a fixed length."""
    if not pads_to_fixed_length(text):
        return ""
    for importer in _importers(index, path):
        if importer == path or importer.name.startswith("test_") or "tests" in importer.parts:
            continue
        if _trains(index, importer):
            shown = index.relative_path(importer) or str(importer)
            return f"`{shown}` imports it and trains"
    return ""


def _importers(index: ProjectIndex, path: Path) -> list[Path]:
    scan = index.project_scan()
    found = [importer for importer, _ in index.importers_of(path)]
    for key in (str(path.resolve()), str(path)):
        found += scan.module_importers.get(key, [])
    unique = list(dict.fromkeys(found))
    return unique[:_MAX_IMPORTERS]


def _trains(index: ProjectIndex, importer: Path) -> bool:
    exports = index.exports_of(importer)
    try:
        text = importer.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    if exports is not None and (exports.step_functions or exports.loop_functions):
        return not _FIXED_SHAPES.search(text)
    return bool(_TRAINS.search(text)) and not _FIXED_SHAPES.search(text)
