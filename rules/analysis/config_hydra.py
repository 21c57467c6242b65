"""Which files Hydra composes for `@hydra.main(config_path=..., config_name=...)`, read as data.

The primary config and its defaults list: `- group: option` (merged under `group`, or at the root
with `# @package _global_`), `- name` (merged at the root), `_self_` where listed, else last (Hydra
1.1+). Package overrides (`group@pkg: option`), optional and list options, and packages other than
the group's own or `_global_` are left out: their values stay unknown.
"""

from __future__ import annotations

from pathlib import Path

from greenlint.rules.config_data import ConfigFile, inside, load_config

Key = tuple[str, ...]


def hydra_layers(directory: Path, config_name: str, root: Path) -> list[tuple[Key, ConfigFile]]:
    """The files Hydra merges, in merge order (later wins): the defaults list, then the primary."""
    primary = _hydra_file(directory, config_name, root)
    if primary is None:
        return []
    layers: list[tuple[Key, ConfigFile]] = []
    defaults = primary.data.get("defaults")
    self_seen = False
    for entry in defaults if isinstance(defaults, list) else []:
        if entry == "_self_":
            layers.append(((), primary))
            self_seen = True
        elif isinstance(entry, str):
            found = _hydra_file(directory, entry, root)
            if found is not None:
                layers.append(((), found))
        elif isinstance(entry, dict) and len(entry) == 1:
            group, option = next(iter(entry.items()))
            group = str(group).removeprefix("override ").strip()
            if "@" in group or not isinstance(option, str):
                continue  # a package override or an optional/list option: unknown
            found = _hydra_file(directory, f"{group}/{option}", root)
            if found is None:
                continue
            header = found.text.lstrip().splitlines()[0] if found.text.strip() else ""
            if header.startswith("# @package"):
                package = header.split("@package", 1)[1].strip()
                if package == "_global_":
                    layers.append(((), found))
                elif package == "_group_" or package == group.replace("/", "."):
                    layers.append((tuple(group.split("/")), found))
                continue
            layers.append((tuple(group.split("/")), found))
    if not self_seen:
        layers.append(((), primary))
    return layers


def _hydra_file(directory: Path, name: str, root: Path) -> ConfigFile | None:
    base = name if name.endswith((".yaml", ".yml")) else f"{name}.yaml"
    path = directory / base
    if not inside(path, root) or not path.is_file():
        return None
    return load_config(path, root)


