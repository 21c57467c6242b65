"""What a file gets from the project modules it imports: their devices, autocast, training
functions, constants, datasets ... (advisor/module_exports.py reads them per module), collected by
following the file's imports the way Python would resolve them: `from m import x`, `from pkg import
submodule`, star imports (MAX_STAR_DEPTH levels) and names a package `__init__.py` re-exports.

Split from project_index.py, which owns the index (files, module resolution, caches) and asks this
module for one file's imported facts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from greenlint.module_exports import ModuleExports
    from greenlint.project_index import ProjectIndex

MAX_STAR_DEPTH = 3


@dataclass(frozen=True)
class ImportStatement:
    module: str  # absolute module string, as the importing module's import table will write it
    names: tuple[str, ...]  # imported names; ("*",) for a star import; () for `import module`


@dataclass
class ImportedFacts:
    """The facts of the project modules a file imports, keyed as that file names them
    (`utils.train_one_epoch`, `config.DEVICE`): gathered by following its imports, star chains
    and package re-exports (one level); the project index turns them into a ProjectContext."""

    star_bindings: dict[str, str] = field(default_factory=dict)
    star_names: dict[str, str] = field(default_factory=dict)
    devices: dict[str, str] = field(default_factory=dict)
    autocast: dict[str, str] = field(default_factory=dict)
    autocast_functions: set[str] = field(default_factory=set)
    step_functions: set[str] = field(default_factory=set)
    loop_functions: set[str] = field(default_factory=set)
    grad_off: dict[str, str] = field(default_factory=dict)
    constants: dict[str, object] = field(default_factory=dict)
    file_datasets: dict[str, str] = field(default_factory=dict)
    conv_classes: dict[str, str] = field(default_factory=dict)
    small_models: dict[str, str] = field(default_factory=dict)
    heavy_models: dict[str, str] = field(default_factory=dict)
    gpu_trainers: dict[str, str] = field(default_factory=dict)
    validating_classes: set[str] = field(default_factory=set)
    # (phrase, side): the first imported transform or dataset that gives images one size
    fixed_size_inputs: tuple[str, int] | None = None
    per_item_work: dict[str, str] = field(default_factory=dict)
    batch_generators: set[str] = field(default_factory=set)
    local_modules: set[str] = field(default_factory=set)
    text: str = ""  # the importing file's text: a fact whose name it never writes is left out

    def add_import(self, index: ProjectIndex, statement: ImportStatement, importer: Path, package: str, depth: int) -> None:
        target = index.module_file(statement.module, importer, package)
        exports = self._add_module(index, statement.module, target) if target is not None else None
        if target is not None and exports is None:
            return  # a module too large (or unreadable) to read exports from
        for name in statement.names:
            # `from pkg import submodule`: each name may be a module of its own
            if name != "*":
                sub = index.module_file(f"{statement.module}.{name}", importer, package)
                if sub is not None and sub != target:
                    self._add_module(index, f"{statement.module}.{name}", sub)
        if exports is not None and statement.names != ("*",):
            self._add_reexports(index, statement, target, exports)
        if exports is not None and statement.names == ("*",) and depth < MAX_STAR_DEPTH:
            for name in exports.public:
                if name in exports.bindings:
                    self.star_bindings.setdefault(name, exports.bindings[name])
                else:
                    self.star_names.setdefault(name, f"{statement.module}.{name}")
            for inner in exports.star_modules:
                self._add_star_chain(index, inner, target, depth + 1)

    def _add_reexports(self, index: ProjectIndex, statement: ImportStatement, target: Path, exports: ModuleExports) -> None:
        """`from utils import train_one_epoch` where utils/__init__.py only re-exports it (`from
        .engine import *` or `from .engine import train_one_epoch`): the facts of the module that
        defines the name, keyed as the importing file names them (`utils.train_one_epoch`). One
        level: the package's own star imports and explicit imports, not theirs."""
        wanted = {name for name in statement.names if name != "*"}
        package = index.package_of(target) or ""
        sources: dict[str, set[str]] = {}  # defining module -> names it gives the package
        for name in wanted:
            bound = exports.bindings.get(name)
            if bound is not None and bound.rsplit(".", 1)[-1] == name and "." in bound:
                sources.setdefault(bound.rsplit(".", 1)[0], set()).add(name)
        for inner in exports.star_modules:
            sources.setdefault(inner, set()).update(wanted - set(exports.bindings))
        for inner, names in sources.items():
            path = index.module_file(inner, target, package) if names else None
            if path is None or path == target:
                continue
            sub = index.exports_of(path)
            if sub is not None and inner in exports.star_modules:
                names = names & set(sub.public)
            if sub is not None and names:
                self._add_module(index, statement.module, path, names)

    def _add_star_chain(self, index: ProjectIndex, module: str, importer: Path, depth: int) -> None:
        package = index.package_of(importer) or ""
        self.add_import(index, ImportStatement(module, ("*",)), importer, package, depth)

    def _add_module(self, index: ProjectIndex, module: str, path: Path, only: set[str] | None = None) -> ModuleExports | None:
        """The facts of the module at `path`, keyed under `module`; with `only`, just the facts whose
        first name is one of those (a package re-exporting part of a module)."""
        exports = index.exports_of(path)
        self.local_modules.add(module)
        if exports is None:
            return None
        shown = index.relative_path(path) or str(path)
        # Only facts whose name the importing file writes somewhere: smaller contexts, and an edit
        # to a fact nobody here uses does not re-lint this file (a substring test, so a false
        # match only keeps a fact, it never drops a used one).
        text = self.text

        def keep(name: str) -> bool:
            return _written(name, text) and (only is None or name.split(".", 1)[0] in only)

        for name, phrase in exports.devices.items():
            # `Config.device` also where only `Config` is written: a module that uses the project's
            # config class runs where it says (rules/analysis/device.py)
            if keep(name) or (name[:1].isupper() and "." in name and keep(name.split(".", 1)[0])):
                self.devices[f"{module}.{name}"] = f"`{name}`, a CUDA device set in {shown} (`{phrase}`)"
        for name, phrase in exports.autocast.items():
            if keep(name):
                self.autocast[f"{module}.{name}"] = f"{phrase} in {shown}"
                if name in exports.autocast_functions:
                    self.autocast_functions.add(f"{module}.{name}")
        for name in exports.step_functions:
            if keep(name):
                self.step_functions.add(f"{module}.{name}")
        for name in exports.loop_functions:
            if keep(name):
                self.loop_functions.add(f"{module}.{name}")
        for name, phrase in exports.grad_off.items():
            if keep(name):
                self.grad_off[f"{module}.{name}"] = f"{phrase} ({shown})"
        for name, value in exports.constants.items():
            if keep(name):
                self.constants[f"{module}.{name}"] = value
        for name, phrase in exports.file_datasets.items():
            if keep(name):
                self.file_datasets[f"{module}.{name}"] = f"{phrase} in {shown}"
        for name in exports.conv_classes:
            if keep(name):
                self.conv_classes[f"{module}.{name}"] = shown
        for name, phrase in exports.small_models.items():
            if keep(name):
                self.small_models[f"{module}.{name}"] = f"{phrase} in {shown}"
        for name, phrase in exports.heavy_models.items():
            if keep(name):
                self.heavy_models[f"{module}.{name}"] = f"{phrase} in {shown}"
        for name in exports.validating_classes:
            if keep(name):
                self.validating_classes.add(f"{module}.{name}")
        for name, phrase in exports.gpu_trainers.items():
            if keep(name):
                self.gpu_trainers[f"{module}.{name}"] = f"{phrase} ({shown})"
        for name, phrase in exports.per_item_work.items():
            if keep(name):
                self.per_item_work[f"{module}.{name}"] = f"{phrase} ({shown})"
                if name in exports.batch_generators:
                    self.batch_generators.add(f"{module}.{name}")
        for name, (call, side) in exports.fixed_size_inputs.items():
            if keep(name) and self.fixed_size_inputs is None:
                self.fixed_size_inputs = (f"uses `{name}` from {shown}, which gives inputs one size ({call})", side)
        return exports


def _written(name: str, text: str) -> bool:
    """Does the importing file write the fact's last name (`DEVICE`, `device` of `cfg.device`)?"""
    return name.rsplit(".", 1)[-1] in text
