"""Settings: `[tool.greenlint]` in pyproject.toml or a `greenlint.toml`, then command-line overrides.

A broken file, an unknown key, a value of the wrong type or an unknown rule code is a
ConfigError that names the file and the key; the CLI turns it into exit status 2.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from greenlint.impact_filter import DEFAULT_MIN_IMPACT, InvalidLevel, validate_level
from greenlint.selection import RuleSelection, UnknownSelector, validate_selector

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

# Directories nobody wants linted (ruff's list, plus the caches of ML tooling).
DEFAULT_EXCLUDE = (
    ".bzr", ".direnv", ".eggs", ".git", ".git-rewrite", ".hg", ".ipynb_checkpoints", ".mypy_cache",
    ".nox", ".pants.d", ".pyenv", ".pytest_cache", ".pytype", ".ruff_cache", ".svn", ".tox",
    ".venv", ".vscode", "__pypackages__", "_build", "buck-out", "build", "dist", "node_modules",
    "site-packages", "venv", "__pycache__", ".greenlint_cache", "wandb", "mlruns", "lightning_logs",
)
CONFIG_FILENAMES = ("greenlint.toml", ".greenlint.toml")

_LIST_KEYS = ("select", "extend-select", "ignore", "exclude", "extend-exclude")
_KNOWN_KEYS = frozenset({*_LIST_KEYS, "per-file-ignores", "respect-gitignore", "cache-dir", "preview", "grid-intensity", "pue",
                         "min-impact", "long-runs", "detect-long-runs"})


class ConfigError(Exception):
    pass


@dataclass(frozen=True)
class Settings:
    selection: RuleSelection = field(default_factory=RuleSelection)
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    extend_exclude: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    respect_gitignore: bool = True
    cache_dir: Path | None = None  # None: <project root>/.greenlint_cache
    cache_dir_source: str | None = None  # where cache_dir was set: a configuration file or "--cache-dir"
    project_root: Path = field(default_factory=Path.cwd)
    config_file: Path | None = None
    # `greenlint profile`: grid carbon intensity (gCO2e/kWh; None: carbon.py's cited default) and PUE
    grid_intensity: float | None = None
    pue: float = 1.0
    # findings whose estimated impact is below this level are not shown (impact_filter.py); not
    # part of the fingerprint: the cache holds every finding and the threshold applies after it
    min_impact: str = DEFAULT_MIN_IMPACT
    # files the user says run for hours: the run-length rules report there (long_runs.py)
    long_runs: tuple[str, ...] = ()
    # files whose own code shows a long run (long_run_evidence.py) count as named in long-runs
    detect_long_runs: bool = True

    @property
    def all_excludes(self) -> tuple[str, ...]:
        return self.exclude + self.extend_exclude

    @property
    def resolved_cache_dir(self) -> Path:
        return self.cache_dir if self.cache_dir is not None else self.project_root / ".greenlint_cache"

    def fingerprint(self) -> str:
        """What a cached result depends on besides the file's bytes and greenlint's version."""
        data = {
            "enabled": sorted(self.selection.enabled_codes()),
            "per_file_ignores": [list(p) for p in self.per_file_ignores],
            "root": str(self.project_root),
        }
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def find_config_file(start: Path) -> tuple[Path, dict[str, Any]] | None:
    """The closest greenlint.toml, or pyproject.toml with a [tool.greenlint] table, at or above `start`."""
    directory = start if start.is_dir() else start.parent
    for candidate_dir in (directory, *directory.parents):
        for name in CONFIG_FILENAMES:
            path = candidate_dir / name
            if path.is_file():
                return path, _read_toml(path)
        pyproject = candidate_dir / "pyproject.toml"
        if pyproject.is_file():
            data = _read_toml(pyproject)
            table = data.get("tool", {}).get("greenlint")
            if table is not None:
                if not isinstance(table, dict):
                    raise ConfigError(f"{pyproject}: `tool.greenlint` must be a table")
                return pyproject, table
    return None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None


def settings_from_table(table: dict[str, Any], path: Path) -> Settings:
    prefix = "tool.greenlint." if path.name == "pyproject.toml" else ""
    unknown = sorted(set(table) - _KNOWN_KEYS)
    if unknown:
        known = ", ".join(sorted(_KNOWN_KEYS))
        raise ConfigError(f"{path}: unknown key `{prefix}{unknown[0]}` (known keys: {known})")
    values: dict[str, Any] = {}
    for key in _LIST_KEYS:
        if key in table:
            values[key] = _string_list(table[key], f"{prefix}{key}", path)
    selection = RuleSelection(
        select=tuple(_selectors(values.get("select", ["ALL"]), f"{prefix}select", path)),
        extend_select=tuple(_selectors(values.get("extend-select", []), f"{prefix}extend-select", path)),
        ignore=tuple(_selectors(values.get("ignore", []), f"{prefix}ignore", path)),
        preview=_boolean(table, "preview", False, prefix, path),
    )
    per_file = table.get("per-file-ignores", {})
    if not isinstance(per_file, dict):
        raise ConfigError(f"{path}: `{prefix}per-file-ignores` must be a table of pattern = [codes]")
    per_file_ignores = tuple(
        (pattern, tuple(_selectors(_string_list(codes, f"{prefix}per-file-ignores.{pattern}", path),
                                   f"{prefix}per-file-ignores.{pattern}", path)))
        for pattern, codes in per_file.items()
    )
    respect = _boolean(table, "respect-gitignore", True, prefix, path)
    cache_dir = table.get("cache-dir")
    if cache_dir is not None and not isinstance(cache_dir, str):
        raise ConfigError(f"{path}: `{prefix}cache-dir` must be a string")
    grid = _positive_number(table, "grid-intensity", None, prefix, path)
    pue = _positive_number(table, "pue", 1.0, prefix, path)
    if pue is not None and pue < 1.0:
        raise ConfigError(f"{path}: `{prefix}pue` must be at least 1.0 (facility energy / IT energy)")
    try:
        min_impact = validate_level(table.get("min-impact", DEFAULT_MIN_IMPACT), f"`{prefix}min-impact`")
    except InvalidLevel as exc:
        raise ConfigError(f"{path}: {exc}") from None
    long_runs = tuple(_patterns(table.get("long-runs", []), f"{prefix}long-runs", path))
    root = path.parent.resolve()
    return Settings(
        long_runs=long_runs,
        detect_long_runs=_boolean(table, "detect-long-runs", True, prefix, path),
        min_impact=min_impact,
        grid_intensity=grid,
        pue=pue if pue is not None else 1.0,
        selection=selection,
        exclude=tuple(values.get("exclude", DEFAULT_EXCLUDE)),
        extend_exclude=tuple(values.get("extend-exclude", ())),
        per_file_ignores=per_file_ignores,
        respect_gitignore=respect,
        cache_dir=(root / cache_dir) if cache_dir else None,
        cache_dir_source=str(path) if cache_dir else None,
        project_root=root,
        config_file=path,
    )


def _boolean(table: dict[str, Any], key: str, default: bool, prefix: str, path: Path) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{path}: `{prefix}{key}` must be true or false")
    return value


def _positive_number(table: dict[str, Any], key: str, default: float | None, prefix: str, path: Path) -> float | None:
    value = table.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigError(f"{path}: `{prefix}{key}` must be a positive number")
    return float(value)


def _string_list(value: Any, key: str, path: Path) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{path}: `{key}` must be a list of strings")
    return value


def _patterns(value: Any, key: str, path: Path | None) -> list[str]:
    """A list of file patterns; an empty or blank pattern is an error (it would match nothing)."""
    where = f"{path}: `{key}`" if path else f"`{key}`"
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{where} must be a list of file patterns (strings)")
    if any(not item.strip() for item in value):
        raise ConfigError(f"{where}: an empty pattern matches no file")
    return value


def _selectors(values: list[str], key: str, path: Path | None) -> list[str]:
    result = []
    for value in values:
        try:
            result.append(validate_selector(value))
        except UnknownSelector:
            where = f"{path}: `{key}`" if path else f"`{key}`"
            raise ConfigError(f"{where}: unknown rule code or prefix `{value}` (see `greenlint rules`)") from None
    return result


@dataclass(frozen=True)
class Overrides:
    """Command-line options that override the configuration file."""

    select: list[str] | None = None
    extend_select: list[str] | None = None
    ignore: list[str] | None = None
    exclude: list[str] | None = None
    extend_exclude: list[str] | None = None
    respect_gitignore: bool | None = None
    cache_dir: str | None = None
    preview: bool | None = None
    min_impact: str | None = None
    long_runs: list[str] | None = None  # --long-run, added to the configured patterns
    detect_long_runs: bool | None = None


def load_settings(
    config_path: str | None, isolated: bool, overrides: Overrides, cwd: Path | None = None
) -> Settings:
    cwd = cwd or Path.cwd()
    if isolated:
        settings = Settings(project_root=cwd.resolve())
    elif config_path is not None:
        path = Path(config_path)
        if not path.is_file():
            raise ConfigError(f"{path}: configuration file not found")
        data = _read_toml(path)
        table = data.get("tool", {}).get("greenlint", {}) if path.name == "pyproject.toml" else data
        settings = settings_from_table(table, path)
    else:
        found = find_config_file(cwd.resolve())
        if found:
            path, table = found
            settings = settings_from_table(table, path)
        else:
            settings = Settings(project_root=cwd.resolve())
    return apply_overrides(settings, overrides)


def apply_overrides(settings: Settings, overrides: Overrides) -> Settings:
    selection = settings.selection
    if overrides.select is not None:
        selection = replace(selection, select=tuple(_selectors(overrides.select, "--select", None)), extend_select=())
    if overrides.extend_select:
        selection = replace(
            selection, extend_select=selection.extend_select + tuple(_selectors(overrides.extend_select, "--extend-select", None))
        )
    if overrides.ignore:
        selection = replace(selection, ignore=selection.ignore + tuple(_selectors(overrides.ignore, "--ignore", None)))
    if overrides.preview is not None:
        selection = replace(selection, preview=overrides.preview)
    changes: dict[str, Any] = {"selection": selection}
    if overrides.exclude is not None:
        changes["exclude"] = tuple(overrides.exclude)
    if overrides.extend_exclude:
        changes["extend_exclude"] = settings.extend_exclude + tuple(overrides.extend_exclude)
    if overrides.respect_gitignore is not None:
        changes["respect_gitignore"] = overrides.respect_gitignore
    if overrides.min_impact is not None:
        try:
            changes["min_impact"] = validate_level(overrides.min_impact, "--min-impact")
        except InvalidLevel as exc:
            raise ConfigError(str(exc)) from None
    if overrides.long_runs:
        changes["long_runs"] = settings.long_runs + tuple(_patterns(overrides.long_runs, "--long-run", None))
    if overrides.detect_long_runs is not None:
        changes["detect_long_runs"] = overrides.detect_long_runs
    if overrides.cache_dir is not None:
        changes["cache_dir"] = Path(overrides.cache_dir).resolve()
        changes["cache_dir_source"] = "--cache-dir"
    return replace(settings, **changes)
