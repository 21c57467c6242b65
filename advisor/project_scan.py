"""One read of every project file, for the questions that need the whole project rather than one
file's imports: which module stems are imported anywhere (is this script imported?), which files
import names from which module (who trains with a module-level DataLoader?), and which file
compiles a model (GL413). Each question used to read the whole project on its own; one pass,
made lazily the first time any of them is asked, answers all three.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from greenlint.rules.compile_words import compiles_model

if TYPE_CHECKING:
    from greenlint.project_index import ProjectIndex


@dataclass
class ProjectScan:
    # the last component of every module any project file imports, and every name imported from a
    # module (`from scripts import train`): a crude but conservative over-approximation
    imported_stems: set[str] = field(default_factory=set)
    # resolved module file -> (importing file, the names it imports from it); star imports left out
    importers: dict[str, list[tuple[Path, set[str]]]] = field(default_factory=dict)
    # resolved module file -> the files that star-import it (`from utils import *`)
    star_importers: dict[str, list[Path]] = field(default_factory=dict)
    # the first project file (sorted) that compiles a model; "" when none does
    compiling_file: str = ""
    # resolved module file -> the files that import the module itself (`import data_utils`,
    # `import utils.data_utils`, `from utils import data_utils`), which `importers` leaves out
    # (it holds names imported *from* a module); training_importers.py asks it
    module_importers: dict[str, list[Path]] = field(default_factory=dict)


def scan_project(index: ProjectIndex) -> ProjectScan:
    from greenlint.import_scan import scan_imports

    scan = ProjectScan()
    for relative in sorted(index.project_files()):
        path = index.root / relative
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for statement in scan_imports(text, ""):
            scan.imported_stems.add(statement.module.rsplit(".", 1)[-1])
            scan.imported_stems.update(statement.names)
        package = index.package_of(path) or ""
        for statement in scan_imports(text, package):
            _add_module_imports(index, scan, statement, path, package)
            if not statement.names:
                continue
            target = index.module_file(statement.module, path, package)
            if target is not None and statement.names == ("*",):
                scan.star_importers.setdefault(str(target), []).append(path)
            elif target is not None:
                scan.importers.setdefault(str(target), []).append((path, set(statement.names)))
        if not scan.compiling_file and compiles_model(text):
            scan.compiling_file = relative
    return scan


def _add_module_imports(index: ProjectIndex, scan: ProjectScan, statement, path: Path, package: str) -> None:
    """Record `path` as an importer of each project module it imports whole: the module of a
    plain `import a.b`, and each name of `from a import b` that is a module file of its own."""
    if statement.names == ("*",):
        return
    modules = [statement.module] if not statement.names else [f"{statement.module}.{name}" for name in statement.names]
    for module in modules:
        target = index.module_file(module, path, package)
        if target is not None and (statement.names or target.name != "__init__.py"):
            importers = scan.module_importers.setdefault(str(target), [])
            if path not in importers:
                importers.append(path)
