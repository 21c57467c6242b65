"""Which module trains on the GPU with a DataLoader that another module builds.

A common project layout builds its loaders at module level in `data_loader.py` and trains with
them in `train.py` (`from data_pipeline.data_loader import train_loader`), on a device chosen in
`config.py`. Linting `data_loader.py` alone, nothing says the loaders feed a GPU training loop, so
the input-pipeline rules (GL306, GL307) stayed silent there. This module answers it for the
project index: for a file that binds `name = DataLoader(...)` at module level, the project files
that import `name` from it, train (a function of theirs holds a training step or loop) and name a
CUDA device (their own, or one bound in a project module they import).

Only text scans and the exports the index already caches: no file is parsed here twice, and the
reverse import table comes from the index's one read of the project (project_scan.py), made only
when some question about the whole project is first asked.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from greenlint.module_exports import ModuleExports
    from greenlint.project_index import ProjectIndex

# `train_loader = DataLoader(` / `val_dl = torch.utils.data.DataLoader(` at column 0.
_MODULE_LEVEL_LOADER = re.compile(r"^([A-Za-z_]\w*)\s*=\s*(?:[\w.]+\.)?DataLoader\(", re.MULTILINE)
_MAX_IMPORTERS = 8  # read the exports of at most this many importers per loader module


def module_level_loaders(text: str) -> list[str]:
    return sorted(set(_MODULE_LEVEL_LOADER.findall(text))) if "DataLoader(" in text else []


def gpu_training_consumers(index: ProjectIndex, path: Path, text: str) -> dict[str, str]:
    """Loader name -> phrase ("`src/train.py` trains with it on a CUDA device") for the
    module-level loaders of `path` that a GPU training module of the project imports."""
    names = module_level_loaders(text)
    if not names:
        return {}
    found: dict[str, str] = {}
    for importer, imported in index.importers_of(path)[:_MAX_IMPORTERS]:
        wanted = [name for name in names if name in imported and name not in found]
        if not wanted or not _trains_on_gpu(index, importer):
            continue
        shown = index.relative_path(importer) or str(importer)
        for name in wanted:
            found[name] = f"`{shown}` trains with it on a CUDA device"
    return found


def _trains_on_gpu(index: ProjectIndex, importer: Path) -> bool:
    exports = index.exports_of(importer)
    if exports is None or not (exports.step_functions or exports.loop_functions):
        return False
    return binds_cuda_device(index, importer, exports)


def binds_cuda_device(index: ProjectIndex, importer: Path, exports: ModuleExports) -> bool:
    """The module binds a CUDA device, or imports one from a project module (also used by
    training_callers.py)."""
    if exports.devices:
        return True
    package = index.package_of(importer) or ""
    for qualname in set(exports.bindings.values()):
        module = qualname
        while module:
            target = index.module_file(module, importer, package)
            if target is not None:
                inner = index.exports_of(target)
                if inner is not None and inner.devices:
                    return True
                break
            module = module.rpartition(".")[0]
    return False
