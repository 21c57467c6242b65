"""The project index: which local modules a linted file imports, and what they export.

Built in the parent process before the rules run (runner.lint_files), cheaply:
- a linted file's imports are found with one regex scan of its text (no parse; import_scan.py);
- an import is *local* when it resolves to a file under the project root, searched as Python
  would for a script: the file's own folder first, then each folder above it up to the root, then
  `root/src` (`from config import *` next to train.py, `from tools.config import DEVICE`,
  `from .model import Net` inside a package);
- each local module that is imported is parsed once with `ast` (module_exports.py) and its
  exports are cached by content hash (`project-index.json` in the cache directory), so a warm
  run parses nothing;
- whether a script is imported by any other module is answered from one regex scan of the
  project's files, made only when a linted file is a script.
How deep facts travel: one import level for devices, precision and autograd wrappers (the facts
of a module you import, not of the modules it imports), except star imports, which are followed
up to three levels (`from common import *` where common.py does `from config import *`).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Callable

from greenlint.caller_arguments import caller_namespaces
from greenlint.cache import content_hash
from greenlint.caller_workload import heavy_model_in_callers, shown_callers
from greenlint.gpu_hints import read_gpu_hint, read_stated_gpu_count
from greenlint.launch_scripts import LaunchValues, ProjectLaunches, options_for
from greenlint.pinned_versions import read_pinned_versions
from greenlint.loader_consumers import gpu_training_consumers
from greenlint.training_importers import training_importer
from greenlint.import_scan import _looks_like_script, scan_imports
from greenlint.imported_facts import ImportedFacts
from greenlint.module_exports import ModuleExports, extract_exports
from greenlint.project_scan import ProjectScan, scan_project
from greenlint.rules.compile_words import compiles_model
from greenlint.rules.project_context import EMPTY_CONTEXT, ProjectContext
from greenlint.training_callers import calling_files, cnn_training_caller, cudnn_setting_caller, gpu_training_caller, training_callers

ROOT_MARKERS = ("pyproject.toml", ".git", "setup.py", "setup.cfg", "greenlint.toml")
# A module bigger than this is not parsed for exports (generated code, vendored bundles).
MAX_EXPORT_BYTES = 2_000_000
_INDEX_FORMAT = 15  # 15: heavy model classes; 14: small model classes; 13: file datasets through helper functions; 12: training-step methods of classes; 11: convolutional model classes; 10: per-item work and batch generators; 9: fixed-size transforms; 2: autocast_functions; 3: step and loop functions; 4: class and instance constants; 5: gpu_trainers; 6-7: validating classes; 8: config-object attributes


def find_project_root(paths: list[Path]) -> Path:
    """The nearest folder at or above the common folder of `paths` that holds a project marker;
    the common folder itself when none does."""
    folders = [p if p.is_dir() else p.parent for p in (path.resolve() for path in paths)]
    if not folders:
        return Path.cwd().resolve()
    common = Path(os.path.commonpath([str(f) for f in folders]))
    for folder in (common, *common.parents):
        if any((folder / marker).exists() for marker in ROOT_MARKERS):
            return folder
    return common


class ProjectIndex:
    def __init__(self, root: Path, cache_dir: Path | None = None) -> None:
        self.root = root.resolve()
        self._root_text = str(self.root)
        self.cache_path = cache_dir / "project-index.json" if cache_dir is not None else None
        self._exports_by_hash: dict[str, ModuleExports] = {}
        self._exports_memo: dict[str, ModuleExports | None] = {}
        self._dirty = False
        self._files: set[str] | None = None  # the project's .py files, relative posix paths
        self._file_memo: dict[tuple[str, str], str | None] = {}
        self._relative_memo: dict[Path, str | None] = {}
        self._scan: ProjectScan | None = None  # one read of every project file, made when first asked
        self._launches = ProjectLaunches(root)  # the project's launch commands, read when first asked
        self._pins: dict[str, tuple[str, str]] | None = None  # framework pins, read when first asked
        self._gpu_hint: str | None = None  # pre-Volta GPUs named by the job scripts, read when first asked
        self._gpu_count: str | None = None  # two or more GPUs stated by the documentation, read when first asked
        self._load()

    # ---- the persistent export cache ------------------------------------------------------
    def _load(self) -> None:
        if self.cache_path is None:
            return
        try:
            data = json.loads(self.cache_path.read_bytes())
        except (OSError, ValueError, RecursionError):
            return
        if not isinstance(data, dict) or data.get("format") != _INDEX_FORMAT or not isinstance(data.get("modules"), dict):
            return
        for digest, entry in data["modules"].items():
            exports = ModuleExports.from_json(entry)
            if exports is not None:
                self._exports_by_hash[digest] = exports

    def save(self) -> None:
        if self.cache_path is None or not self._dirty:
            return
        directory = self.cache_path.parent
        try:
            if not directory.is_dir():
                return  # the result cache creates (and guards) the directory; never create it here
            fd, temporary = tempfile.mkstemp(dir=directory, prefix=".tmp-index-", suffix=".json")
            try:
                with os.fdopen(fd, "w") as handle:
                    json.dump({"format": _INDEX_FORMAT, "modules": {k: v.to_json() for k, v in self._exports_by_hash.items()}}, handle)
                os.replace(temporary, self.cache_path)
            except BaseException:
                os.unlink(temporary)
                raise
        except OSError:
            pass

    # ---- resolution (strings and one directory walk: no stat per candidate) ------------------
    def _relative(self, path: Path) -> str | None:
        """`path` relative to the root, as a posix string; None outside it."""
        prefix = self._root_text.rstrip(os.sep) + os.sep
        text = os.path.abspath(path)
        if text != self._root_text and not text.startswith(prefix):
            text = os.path.realpath(path)  # a symlinked path to a file inside the root
        if text == self._root_text:
            return ""
        if text.startswith(prefix):
            return text[len(prefix):].replace(os.sep, "/")
        return None

    def package_of(self, path: Path) -> str | None:
        """Dotted folder of `path` below the root ("" at the root), None outside it."""
        relative = self._relative(path)
        if relative is None:
            return None
        folder = relative.rpartition("/")[0]
        return folder.replace("/", ".")

    def project_files(self) -> set[str]:
        if self._files is None:
            self._files = {self._relative(p) or "" for p in _project_python_files(self.root)}
        return self._files

    def module_file(self, module: str, importer: Path, package: str) -> Path | None:
        """The project file a module string names, searched as a script's sys.path would: the
        importer's folder, each folder above it up to the root, then root/src."""
        importer_rel = self._relative_memo.get(importer)
        if importer_rel is None:
            importer_rel = self._relative_memo[importer] = self._relative(importer)
        if importer_rel is None:
            return None
        folder = importer_rel.rpartition("/")[0]
        key = (folder, module)
        if key not in self._file_memo:
            self._file_memo[key] = self._search(folder, module)
        found = self._file_memo[key]
        if found is None or found == importer_rel:
            return None
        return self.root / found

    def _search(self, folder: str, module: str) -> str | None:
        files = self.project_files()
        tail = module.replace(".", "/")
        bases = []
        while True:
            bases.append(folder)
            if not folder:
                break
            folder = folder.rpartition("/")[0]
        bases.append("src")
        for base in bases:
            stem = f"{base}/{tail}" if base else tail
            for candidate in (stem + ".py", stem + "/__init__.py"):
                if candidate in files:
                    return candidate
        return None

    def exports_of(self, path: Path) -> ModuleExports | None:
        key = str(path)
        if key in self._exports_memo:
            return self._exports_memo[key]
        exports = self._read_exports(path)
        self._exports_memo[key] = exports
        return exports

    def _read_exports(self, path: Path) -> ModuleExports | None:
        source = self._export_source(path)
        if source is None:
            return None
        digest, text, package = source
        exports = self._exports_by_hash.get(digest)
        if exports is None:
            exports = extract_exports(text, package)
            self._exports_by_hash[digest] = exports
            self._dirty = True
        return exports

    def _export_source(self, path: Path) -> tuple[str, str, str] | None:
        """(cache key, text, package) of a module whose exports can be read; None if too large."""
        try:
            if path.stat().st_size > MAX_EXPORT_BYTES:
                return None
            data = path.read_bytes()
        except OSError:
            return None
        package = self.package_of(path) or ""
        return content_hash(data) + ":" + package, data.decode("utf-8", errors="replace"), package

    def _want_exports(self, path: Path, wanted: dict[str, tuple[str, str]], seen: dict[str, bool]) -> bool:
        """Adds the module to `wanted` unless its exports are known; False if it is too large
        (or unreadable) to have any."""
        key = str(path)
        if key in self._exports_memo:
            return self._exports_memo[key] is not None
        if key not in seen:
            source = self._export_source(path)
            if source is not None and source[0] not in self._exports_by_hash:
                wanted.setdefault(source[0], source[1:])
            seen[key] = source is not None
        return seen[key]

    def prefetch_exports(self, files: list[tuple[Path, str]], map_function: Callable[[Callable, list], list]) -> None:
        """Read, with `map_function` (the worker pool), the exports of every local module that
        `context_for` will read directly for these (path, text) files, and that the cache does not
        hold: the same modules `ImportedFacts.add_import` reads at the first level, so the contexts that follow
        find them here. Star chains deeper down are still read when `context_for` reaches them."""
        wanted: dict[str, tuple[str, str]] = {}
        seen: dict[str, bool] = {}
        for path, text in files:
            package = self.package_of(path)
            if package is None:
                continue
            for statement in scan_imports(text, package):
                target = self.module_file(statement.module, path, package)
                if target is not None and not self._want_exports(target, wanted, seen):
                    continue  # too large to read: `ImportedFacts.add_import` stops there too
                for name in statement.names:
                    sub = self.module_file(f"{statement.module}.{name}", path, package) if name != "*" else None
                    if sub is not None and sub != target:
                        self._want_exports(sub, wanted, seen)
        if not wanted:
            return
        found = map_function(_extract_exports, list(wanted.values()))
        for digest, exports in zip(wanted, found):
            if exports is not None:  # None: the worker died; `context_for` reads it here instead
                self._exports_by_hash[digest] = exports
                self._dirty = True

    # ---- the context of one linted file ---------------------------------------------------
    def context_for(self, path: Path, text: str, notebook: bool = False) -> ProjectContext:
        package = self.package_of(path)
        if package is None:
            return EMPTY_CONTEXT
        builder = ImportedFacts()
        builder.text = text
        for statement in scan_imports(text, package):
            builder.add_import(self, statement, path, package, depth=0)
        not_imported = notebook or (_looks_like_script(text) and not self._is_imported(path))
        words = []
        if builder.devices:
            words.append("cuda")
        if builder.autocast:
            words.append("autocast")
        if builder.grad_off:
            words.append("no_grad")
        if builder.step_functions or builder.loop_functions:
            words.append("backward( step(")  # the imported function trains: its words count here
        if builder.validating_classes:
            words.append("validation_step")  # the imported module validates (GL502)
        if builder.gpu_trainers:
            words.append("cuda")  # the imported training function's device counts here (GL306)
        if builder.file_datasets:
            words.append("__getitem__")  # the imported dataset's per-item reading counts here (GL306)
        if builder.conv_classes:
            words.append("Conv2d")  # the imported model's convolutions count here (GL403)
        if any(q.split(".", 1)[0] == "torch" for q in builder.star_bindings.values()):
            words.append("import torch")
        loader_consumers = gpu_training_consumers(self, path, text) if text else {}
        if loader_consumers:
            words.append("cuda backward( step(")  # the importing module's training words count here
        # GL413: a file that trains and compiles nothing asks whether another project file does
        compiled_in = self._compiled_in() if "backward(" in text and not compiles_model(text) else ""
        if compiled_in:
            words.append("torch.compile")
        # a script with argparse, absl, HfArgumentParser or click options: the values the project's shell scripts,
        # READMEs and notebooks launch it with; an entry script: the processes a launcher starts it on
        parses_options = any(word in text for word in ("add_argument", "DEFINE_", "HfArgumentParser", "click.option", "Fire("))
        launched = self._launches.values_for(self._relative(path)) if parses_options else LaunchValues({}, {}, {})
        entry = not notebook and ("__main__" in text or parses_options)
        launch_processes = self._launches.processes_for(self._relative(path)) if entry else None
        # a module that parses no options but receives a namespace: the callers' options (`train(args)`)
        caller_args = caller_namespaces(self, path, text) if text and "parse_args" not in text and not notebook else {}
        # GL101: a training module that names no GPU may be run on one by the script that calls it
        # the project files that import and call this module's training functions, read once here
        callers = calling_files(self, path, text) if "backward(" in text else []
        gpu_caller = gpu_training_caller(self, callers) if "cuda" not in text else ""
        if gpu_caller:
            words.append("cuda")
        # GL403: a training module that leaves cuDNN alone may be run by a script that does not
        cudnn_caller = cudnn_setting_caller(self, callers) if "cudnn." not in text else ""
        cnn_caller = cnn_training_caller(self, callers) if not cudnn_caller and "cudnn." not in text and "Conv" not in text else ""
        if cnn_caller:
            words.append("Conv2d")  # the caller's convolutional model counts here (GL403's prefilter)
        # GL101: the job scripts may say the GPUs have no tensor cores (read once per run)
        gpu_hint = self._gpu_without_tensor_cores() if "backward(" in text else ""
        # GL408: the documentation may say the runs use several GPUs (read once per run)
        gpu_count = self._stated_gpu_count() if "DataParallel" in text or "backward(" in text else ""
        # GL101: a training module whose model is built by the script that calls it
        heavy_caller = heavy_model_in_callers(shown_callers(training_callers(callers), self._relative))
        # GL305: a data module whose fixed-length padding a training script of the project imports
        padding_trainer = training_importer(self, path, text) if text and not notebook else ""
        return ProjectContext(
            training_importer=padding_trainer,
            gpu_without_tensor_cores=gpu_hint,
            stated_gpu_count=gpu_count,
            heavy_caller=heavy_caller,
            launch_options=launched.options,
            launch_least=launched.least,
            launch_configs=launched.configs,
            launch_processes=launch_processes,
            package=package,
            local_modules=frozenset(builder.local_modules),
            star_bindings=builder.star_bindings,
            star_names=builder.star_names,
            devices=builder.devices,
            autocast=builder.autocast,
            autocast_functions=frozenset(builder.autocast_functions),
            step_functions=frozenset(builder.step_functions),
            loop_functions=frozenset(builder.loop_functions),
            grad_off=builder.grad_off,
            constants=builder.constants,
            file_datasets=builder.file_datasets,
            conv_classes=builder.conv_classes,
            small_models={**builder.small_models, **(self._own_small_models(path) if "backward(" in text else {})},
            heavy_models=builder.heavy_models,
            gpu_trainers=builder.gpu_trainers,
            fixed_size_inputs=builder.fixed_size_inputs,
            per_item_work=builder.per_item_work,
            batch_generators=frozenset(builder.batch_generators),
            pinned_versions=self._pinned_versions() if "torch" in text or "tensorflow" in text else {},
            caller_args=caller_args,
            validating_classes=frozenset(builder.validating_classes),
            not_imported=not_imported,
            notebook=notebook,
            extra_words=" ".join(words),
            loader_consumers=loader_consumers,
            compiled_in=compiled_in,
            gpu_caller=gpu_caller,
            cudnn_caller=cudnn_caller,
            cnn_caller=cnn_caller,
        )

    # ---- questions about the whole project (one read of every file: project_scan.py) -------
    def project_scan(self) -> ProjectScan:
        if self._scan is None:
            self._scan = scan_project(self)
        return self._scan

    def launch_options_of(self, path: Path) -> dict[str, tuple[str, str]]:
        relative = self._relative(path)
        return options_for(self._launches.launches, relative) if relative else {}

    def _pinned_versions(self) -> dict[str, tuple[str, str]]:
        if self._pins is None:
            self._pins = read_pinned_versions(self.root)
        return self._pins

    def _own_small_models(self, path: Path) -> dict[str, str]:
        """The module's own small model classes, by their bare name (a call of one has no qualname)."""
        exports = self.exports_of(path)
        return dict(exports.small_models) if exports is not None else {}

    def _stated_gpu_count(self) -> str:
        if self._gpu_count is None:
            self._gpu_count = read_stated_gpu_count(self.root)
        return self._gpu_count

    def _gpu_without_tensor_cores(self) -> str:
        if self._gpu_hint is None:
            self._gpu_hint = read_gpu_hint(self.root)
        return self._gpu_hint

    def _compiled_in(self) -> str:
        """The first project file (sorted) that compiles a model, "" if none (GL413)."""
        return self.project_scan().compiling_file

    def _is_imported(self, path: Path) -> bool:
        return path.stem in self.project_scan().imported_stems

    def importers_of(self, path: Path) -> list[tuple[Path, set[str]]]:
        """(project file, the names it imports from `path`) for every file that imports from it."""
        importers = self.project_scan().importers
        return importers.get(str(path.resolve()), []) or importers.get(str(path), [])

    def star_importers_of(self, path: Path) -> list[Path]:
        found = self.project_scan().star_importers
        return found.get(str(path.resolve()), []) or found.get(str(path), [])

    def module_importers_of(self, path: Path) -> list[Path]:
        """The project files that import `path` whole (`import utils.data`, `from utils import data`)."""
        found = self.project_scan().module_importers
        return found.get(str(path.resolve()), []) or found.get(str(path), [])

    def relative_path(self, path: Path) -> str | None:
        return self._relative(path)


def _extract_exports(source: tuple[str, str]) -> ModuleExports:
    return extract_exports(*source)


_SKIPPED_FOLDERS = frozenset(
    {".git", ".hg", ".svn", ".venv", "venv", "env", "__pycache__", "node_modules", "build", "dist",
     "site-packages", ".tox", ".nox", ".mypy_cache", ".pytest_cache", ".greenlint_cache", ".eggs"}
)
MAX_PROJECT_FILES = 50_000


def _project_python_files(root: Path) -> list[Path]:
    found: list[Path] = []
    for folder, subfolders, files in os.walk(root, onerror=lambda _error: None):
        subfolders[:] = [d for d in subfolders if d not in _SKIPPED_FOLDERS and not d.startswith(".")]
        found.extend(Path(folder, name) for name in files if name.endswith(".py"))
        if len(found) > MAX_PROJECT_FILES:
            break
    return found
