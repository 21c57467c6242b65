"""Run a function on a module right after it is first imported, without importing it ourselves.

The child uses this to install the optimizer step hook when `torch.optim.optimizer` executes and
to wrap `DataLoader.__iter__` when `torch.utils.data.dataloader` does: a script that never imports
torch pays one string comparison per import and nothing else. The finder removes itself once it
has fired, and a failing callback never breaks the user's import.
"""

from __future__ import annotations

import importlib.abc
import sys
from typing import Any, Callable


class _AfterImport(importlib.abc.MetaPathFinder):
    def __init__(self, name: str, then: Callable[[Any], None]) -> None:
        self.name = name
        self.then = then

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname != self.name:
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        spec = None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            if find is not None:
                spec = find(fullname, path, target)
                if spec is not None:
                    break
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        original = spec.loader.exec_module
        then = self.then

        def exec_module(module: Any) -> None:
            original(module)
            try:
                then(module)
            except Exception:  # noqa: BLE001 - the script's import must succeed regardless
                pass

        spec.loader.exec_module = exec_module  # this spec's own loader instance only
        return spec


def after_import(name: str, then: Callable[[Any], None]) -> None:
    """`then(module)` now if `name` is already imported, else right after its first import."""
    module = sys.modules.get(name)
    if module is not None:
        then(module)
    else:
        sys.meta_path.insert(0, _AfterImport(name, then))
