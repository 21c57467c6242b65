"""Reading a project's YAML/JSON/TOML configuration files as data, for the config-value resolution.

Files are parsed as data only (`yaml.safe_load`, `json.loads`, `tomllib.loads`); nothing is imported
or run. A file is read only when it lies inside the project root (the nearest folder above the
script that holds `pyproject.toml` or `.git`; the script's own folder when there is none), is at
most `MAX_CONFIG_BYTES`, and parses to a mapping. Anything else is "unknown" (None), never guessed.
"""

from __future__ import annotations

import itertools
import json
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any


try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

try:
    import yaml
except ModuleNotFoundError:  # pragma: no cover - pyyaml is a dependency; without it YAML is unknown
    yaml = None  # type: ignore[assignment]

MAX_CONFIG_BYTES = 1_000_000
CONFIG_SUFFIXES = (".yaml", ".yml", ".json", ".toml")
_ROOT_MARKERS = ("pyproject.toml", ".git")


@lru_cache(maxsize=256)
def project_root(folder: Path) -> Path:
    """The nearest folder at or above `folder` with pyproject.toml or .git; `folder` itself if none."""
    for candidate in (folder, *folder.parents):
        if any((candidate / marker).exists() for marker in _ROOT_MARKERS):
            return candidate
    return folder


def inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except (ValueError, OSError, RuntimeError):
        return False
    return True


def candidates(relative: str, script_folder: Path, root: Path) -> list[Path]:
    """Where a literal config path may point: relative to the script's folder, then to the project
    root (scripts are run from either). Absolute paths and paths leaving the root are dropped."""
    if not relative or "\x00" in relative:
        return []
    given = Path(relative)
    if given.is_absolute():
        return [given] if inside(given, root) else []
    found = []
    for base in (script_folder, root):
        path = base / given
        if inside(path, root) and path not in found:
            found.append(path)
    return found


def locate(relative: str, script_folder: Path, root: Path) -> Path | None:
    for path in candidates(relative, script_folder, root):
        if path.is_file():
            return path
    return None


@dataclass(frozen=True)
class ConfigFile:
    path: Path
    shown: str  # the path as messages show it (relative to the project root)
    data: Any
    text: str


def load_config(path: Path, root: Path) -> ConfigFile | None:
    """The parsed contents of a config file inside `root`, or None (missing, huge, unparsable)."""
    try:
        stat = path.stat()
    except OSError:
        return None
    if not inside(path, root) or stat.st_size > MAX_CONFIG_BYTES:
        return None
    parsed = _parse(str(path), stat.st_mtime_ns, stat.st_size)
    if parsed is None:
        return None
    data, text = parsed
    try:
        shown = path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        shown = path.name
    return ConfigFile(path, shown, data, text)


@lru_cache(maxsize=64)
def _parse(path: str, _mtime_ns: int, _size: int) -> tuple[Any, str] | None:
    """Keyed by mtime and size too, so that a worker that lints again after an edit rereads it."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError:
        return None
    if len(raw) > MAX_CONFIG_BYTES:
        return None
    try:
        text = raw.decode("utf-8-sig")
        suffix = Path(path).suffix.lower()
        if suffix in (".yaml", ".yml"):
            if yaml is None:
                return None
            data = yaml.safe_load(text)
        elif suffix == ".json":
            data = json.loads(text)
        elif suffix == ".toml":
            data = tomllib.loads(text)
        else:
            return None
    except Exception:  # noqa: BLE001 - any malformed file (YAMLError, JSONDecodeError, TOMLDecodeError, deep nesting) is unknown
        return None
    return (data, text) if isinstance(data, dict) else None


def key_line(config: ConfigFile, key: str) -> int | None:
    """The line of `key:` / `"key":` / `key =` in the file when the key is written exactly once."""
    rows = []
    for row, line in enumerate(config.text.splitlines(), start=1):
        stripped = line.lstrip().lstrip("-").lstrip()
        for spelling in (f"{key}:", f'"{key}":', f"'{key}':", f"{key} =", f"{key}="):
            if stripped.startswith(spelling):
                rows.append(row)
                break
    return rows[0] if len(rows) == 1 else None


# Scanned only when one of these occurs in the bytes: most files pay one `in` test per marker.
_MARKERS = (b".yaml", b".yml", b".json", b".toml", b"config_path")
# an optional backslash before the closing quote: a notebook's JSON escapes the source's quotes
_CONFIG_LITERAL = re.compile(r"""["']([^"'\n\\]{1,300}\.(?:ya?ml|json|toml))\\?["']""", re.IGNORECASE)
_HYDRA_PATH = re.compile(r"""config_path\s*=\s*\\?["']([^"'\n\\]{1,300})\\?["']""")
_MAX_HYDRA_FILES = 200
_MAX_DEPENDENCIES = 64


def may_read_config(data: bytes) -> bool:
    return any(marker in data for marker in _MARKERS)


def is_config_path(text: str) -> bool:
    """A literal path to a config file, as a launch command passes one (`--config configs/a.yaml`);
    a shell or cmd variable in it (`$CFG`, `%CFG%`) makes it unknown."""
    return text.lower().endswith(CONFIG_SUFFIXES) and not any(mark in text for mark in "$`%")


def config_dependencies(path: Path, text: str, root: Path, launched: tuple[str, ...] = ()) -> list[Path]:
    """Config files (existing or not) inside `root` whose contents may change `path`'s findings:
    the paths its source spells out, and `launched`, the config paths the project's launch
    commands pass it (ProjectContext.launched_config_paths)."""
    folder = path.parent
    found: list[Path] = []
    spelled = (match.group(1) for match in _CONFIG_LITERAL.finditer(text))
    for relative in itertools.chain(launched, spelled):
        for candidate in candidates(relative, folder, root):
            if candidate not in found:
                found.append(candidate)
    for match in _CONFIG_LITERAL.finditer(text):
        # "/config.yaml" after a folder chosen at run time (`args.work_path + "/config.yaml"`):
        # every file of that name in the project may be the one read (named_configs)
        name = match.group(1)
        folder, _, base = name.rpartition("/")
        if folder in ("", "}") or folder.endswith("}"):  # "/config.yaml", f"{folder}/config.yaml", join(folder, "config.yaml")
            found.extend(p for p in named_configs(root, base) if p not in found)
    for match in _HYDRA_PATH.finditer(text):
        for directory in candidates(match.group(1), folder, root):
            if not directory.is_dir():
                continue
            # bounded walk: `config_path="."` must not list a whole repository
            files = sorted(itertools.islice((p for p in directory.rglob("*.y*ml") if p.suffix in (".yaml", ".yml")), _MAX_HYDRA_FILES))
            found.extend(p for p in files if p not in found)
    return found[: _MAX_DEPENDENCIES + _MAX_HYDRA_FILES]


def named_configs(root: Path, name: str) -> list[Path]:
    return list(_named_configs(str(root), name))


def forget_named_configs() -> None:
    """Called at the start of each lint (runner.lint_files): the walk is memoised within one."""
    _named_configs.cache_clear()


@lru_cache(maxsize=32)  # asked once per linted file that spells the name; one walk per lint and name
def _named_configs(root_text: str, name: str) -> tuple[Path, ...]:
    """The project's files called `name` (`config.yaml`), sorted, at most _MAX_HYDRA_FILES, outside
    hidden and virtual-environment folders: the choices of a script that reads `<folder>/name` from
    a folder it is given at run time (BIGBALLON/CIFAR-ZOO's `--work-path experiments/cifar10/lenet`
    and 40 more such folders, each with its `config.yaml`)."""
    found: list[Path] = []
    visited = 0
    for folder, subfolders, files in os.walk(root_text):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith(".") and d not in _NOT_PROJECT_FOLDERS)
        visited += len(files)
        if name in files:
            found.append(Path(folder) / name)
        if len(found) >= _MAX_HYDRA_FILES or visited > _MAX_WALKED_FILES:
            break
    return tuple(sorted(found))


_MAX_WALKED_FILES = 50_000  # the project index's own bound (MAX_PROJECT_FILES)
_NOT_PROJECT_FOLDERS = frozenset({"venv", "env", "node_modules", "site-packages", "__pycache__", "build", "dist"})


# -- small helpers of config_values.py: paths as strings, values as messages show them -----------

HERE = "\x00here"  # marks a path built from the script's own folder (`Path(__file__).parent / ...`)


def navigate(data: Any, rest: tuple[Any, ...]) -> Any:
    # imported here: the parent process reads this module for the cache key without the analysis
    from greenlint.rules.analysis.literals import NOT_LITERAL

    for part in rest:
        if isinstance(data, dict) and part in data or isinstance(data, (list, tuple)) and isinstance(part, int) and -len(data) <= part < len(data):
            data = data[part]
        else:
            return NOT_LITERAL
    return data


def data_text(value: Any) -> str:
    if isinstance(value, (bool, type(None))):
        return json.dumps(value)
    return short(value)


def short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def subscripts(rest: tuple[Any, ...]) -> str:
    return "".join(f"[{part!r}]" for part in rest)


def join(left: str, right: str) -> str:
    if right.startswith("/"):
        return right
    return f"{left.rstrip('/')}/{right}" if left else right


def dirname(path: str) -> str:
    path = path.rstrip("/")
    if path == HERE or path.endswith(".."):
        return f"{path}/.."
    head, _, _ = path.rpartition("/")
    return head
