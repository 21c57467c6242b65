"""The config-file half of `ConfigValues` (config_values.py): the values of YAML/JSON/TOML files a
module opens by a path it spells out, and of a `@hydra.main` function's config tree.

A mixin, not a separate object: it follows names through the same module index (`_resolve`,
`index`, `path`) as the rest of the lookup, and keeps the same private state (`_dependencies`,
`_text`). Split out of config_values.py only to keep each module readable.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import libcst as cst
from greenlint.rules.analysis.config_hydra import hydra_layers
from greenlint.rules.analysis.config_index import Key, _walk_returns, expression_key, parameter_arguments
from greenlint.rules.analysis.literals import NOT_LITERAL, literal_value
from greenlint.rules.config_data import (
    HERE,
    ConfigFile,
    config_dependencies,
    data_text,
    dirname,
    inside,
    join,
    key_line,
    load_config,
    locate,
    named_configs,
    navigate,
    project_root,
)

if TYPE_CHECKING:
    from greenlint.rules.analysis.config_index import ConfigIndex
    from greenlint.rules.project_context import ProjectContext

# How far names, paths and nested configs are followed (config_values.py uses the same bound).
MAX_DEPTH = 10  # 6 until session 14: a config-loading function adds four steps
# Calls that parse a config file's text or stream into data.
CONFIG_LOADERS = frozenset(
    {
        "yaml.safe_load", "yaml.load", "yaml.full_load", "json.load", "json.loads", "tomllib.load",
        "tomllib.loads", "tomli.load", "tomli.loads", "toml.load", "toml.loads", "omegaconf.OmegaConf.load",
    }
)


@dataclass(frozen=True)
class ConfigValue:
    value: Any
    source: str


@dataclass(frozen=True)
class _Scope:
    """The names of a config-loading function of the module while its return is read: its locals
    bound once (`f` in `with open(path) as f`, resolved inside it) and its parameters (the call's
    arguments, resolved where the call is)."""

    local: dict[str, cst.BaseExpression]
    arguments: dict[str, cst.BaseExpression]


@dataclass(frozen=True)
class LaunchedConfigs:
    """The value of an option the project's launches pass different config files to (`--config
    configs/small.yaml` here, `configs/large.yaml` there): ((path, where), ...). Only a config
    loader reads it (`_file_value`); to every other lookup it is no literal."""

    choices: tuple[tuple[str, str], ...]
    option: str
    # how messages name the choices when they are not launch options ("the 41 `config.yaml` files
    # of the project"); "" for launches
    described: str = ""


class ConfigFileReading:
    """Methods of ConfigValues that read config files; see config_values.py for the rest."""

    module: cst.Module
    _text: str | None
    _dependencies: set[Path] | None
    _context: ProjectContext
    # `lookup` of a bare Hydra config parameter (`cfg`) is unknown: rules ask for keys. `mapping`
    # (config_values.py) sets this to get the whole composed tree instead.
    _whole_trees: bool = False

    if TYPE_CHECKING:
        @property
        def path(self) -> Path | None: ...
        @property
        def index(self) -> ConfigIndex: ...
        def _resolve(self, key: Key, depth: int) -> ConfigValue | None: ...

    # the config-loading functions being read, innermost last (`_loaded_by_function`)
    _scopes: tuple[_Scope, ...] = ()

    # -- config files ---------------------------------------------------------------------------
    def _loaded_by_function(self, name: str, call: cst.Call, rest: Key, depth: int) -> ConfigValue | None:
        """`cfg = load_config(args.config)` where the module's one `load_config(path)` returns a
        loader's result (`with open(path) as f: return yaml.safe_load(f)`, or a local bound to
        one): the file the call's argument names."""
        functions = self.index.functions.get(name, [])
        if len(functions) != 1 or depth > MAX_DEPTH:
            return None
        function = functions[0]
        local = _bound_once(function)
        returned = [node.value for node in _walk_returns(function) if node.value is not None]
        value = returned[0] if len(returned) == 1 else None
        if isinstance(value, cst.Name):
            value = local.get(value.value)
        if not isinstance(value, cst.Call) or self.index.imports.resolve(value.func) not in CONFIG_LOADERS:
            return None
        arguments = {}
        for param in [*function.params.posonly_params, *function.params.params, *function.params.kwonly_params]:
            passed = parameter_arguments(function, param.name.value, [call])
            if passed:
                arguments[param.name.value] = passed[0]
        with self._using((*self._scopes, _Scope(local, arguments))):
            return self._file_value(value, rest, depth + 1)

    def _in_scope(self, name: str) -> tuple[cst.BaseExpression, tuple[_Scope, ...]] | None:
        """(the expression `name` stands for, the scopes to read it in) inside a config-loading
        function; None outside one or for a name it does not bind."""
        if not self._scopes:
            return None
        innermost = self._scopes[-1]
        if name in innermost.local:
            return innermost.local[name], self._scopes
        if name in innermost.arguments:
            return innermost.arguments[name], self._scopes[:-1]
        return None

    @contextmanager
    def _using(self, scopes: tuple[_Scope, ...]) -> Iterator[None]:
        saved = self._scopes
        self._scopes = scopes
        try:
            yield
        finally:
            self._scopes = saved

    def _file_value(self, call: cst.Call, rest: Key, depth: int) -> ConfigValue | None:
        if self.path is None or not call.args or call.args[0].star:
            return None
        relative = self._path_of(call.args[0].value, depth + 1)
        if isinstance(relative, LaunchedConfigs):
            return self._launched_file_value(relative, rest)
        if relative is None:
            return None
        config = self._config_at(relative)
        if config is None:
            return None
        return _file_entry(config, rest)

    def _launched_file_value(self, launched: LaunchedConfigs, rest: Key) -> ConfigValue | None:
        """A key read from whichever config file the launch passes: the one value every file
        agrees on, else the least when every file holds a number (the shortest launched run, as
        the launch options' numbers are read), else unknown."""
        found = []
        for relative, where in launched.choices:
            config = self._config_at(relative)
            entry = _file_entry(config, rest) if config is not None else None
            if entry is None:
                return None
            found.append((entry, where))
        values = [entry.value for entry, _ in found]
        files = launched.described or f"{len(found)} config files the launches pass to `{launched.option}`"
        if all(value == values[0] for value in values):
            entry, where = found[0]
            return ConfigValue(entry.value, f"{entry.source}, in each of the {files}")
        if all(isinstance(value, (int, float)) and not isinstance(value, bool) for value in values):
            entry, where = min(found, key=lambda pair: pair[0].value)
            return ConfigValue(entry.value, f"{entry.source}, the least of the {files}" + (f" ({where})" if not launched.described else ""))
        return None

    def _config_at(self, relative: str) -> ConfigFile | None:
        """The config file a path names, relative to the script's folder or the project root;
        None when missing, unreadable or not one the result cache keys on."""
        assert self.path is not None
        folder = self.path.parent
        root = project_root(folder)
        if relative.startswith(HERE):
            here = folder / relative[len(HERE):].lstrip("/")
            found = here if inside(here, root) and here.is_file() else None
        else:
            found = locate(relative, folder, root)
        return load_config(found, root) if found is not None and self._covered(found, root) else None

    def _covered(self, path: Path, root: Path) -> bool:
        """Only files the result cache keys on (advisor/config_files.py) may change a finding:
        a path assembled from pieces the scan does not see is left unknown."""
        if self._dependencies is None:
            assert self.path is not None
            text = self._text if self._text is not None else self.module.code
            launched = self._context.launched_config_paths()
            self._dependencies = {p.resolve() for p in config_dependencies(self.path, text, root, launched)}
        return path.resolve() in self._dependencies

    def _path_of(self, node: cst.BaseExpression, depth: int) -> str | LaunchedConfigs | None:
        """The literal path an expression opens: `"c.yaml"`, `open(P)`, `Path(P).read_text()`,
        `os.path.join(os.path.dirname(__file__), "c.yaml")`, a name bound once to one of those,
        or a value this module resolves (`args.config` with a literal default or launch value).
        LaunchedConfigs when the launches pass the option different files; only the wrappers that
        open a path unchanged (`open`, `Path`, `str`) pass it on."""
        if depth > MAX_DEPTH:
            return None
        value = literal_value(node)
        if isinstance(value, str):
            return value
        if isinstance(node, cst.Name):
            scoped = self._in_scope(node.value)
            if scoped is not None:
                expression, scopes = scoped
                with self._using(scopes):
                    return self._path_of(expression, depth + 1)
            if node.value == "__file__":
                return HERE + "/" + (self.path.name if self.path is not None else "")
            bound = self.index.bindings.get(node.value, [])
            if len(bound) == 1 and bound[0] is not None and node.value not in self.index.hydra_params:
                return self._path_of(bound[0], depth + 1)
        chosen = self._in_a_chosen_folder(node, depth)
        if chosen is not None:
            return chosen
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Divide):
            left, right = self._path_of(node.left, depth + 1), self._path_of(node.right, depth + 1)
            return join(left, right) if isinstance(left, str) and isinstance(right, str) else None
        if isinstance(node, cst.Attribute) and node.attr.value == "parent":
            inner = self._path_of(node.value, depth + 1)
            return dirname(inner) if isinstance(inner, str) else None
        if isinstance(node, cst.Call):
            func = node.func
            name = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
            args = [a.value for a in node.args if a.keyword is None and not a.star]
            if name in ("read", "read_text", "read_bytes", "open", "resolve", "absolute", "expanduser") and isinstance(func, cst.Attribute) and not (name == "open" and args):
                return self._path_of(func.value, depth + 1)
            if name in ("open", "Path", "PurePath", "abspath", "realpath", "normpath", "expanduser", "str") and args:
                return self._path_of(args[0], depth + 1)
            if name == "dirname" and len(args) == 1:
                inner = self._path_of(args[0], depth + 1)
                return dirname(inner) if isinstance(inner, str) else None
            if name == "join" and args:
                parts = [self._path_of(a, depth + 1) for a in args]
                if not all(isinstance(p, str) for p in parts):
                    return None
                joined = parts[0]
                for part in parts[1:]:
                    joined = join(joined, part)  # type: ignore[arg-type]
                return joined
        found = self._resolve(expression_key(node), depth + 1) if expression_key(node) else None
        return found.value if found is not None and isinstance(found.value, (str, LaunchedConfigs)) else None

    def _in_a_chosen_folder(self, node: cst.BaseExpression, depth: int) -> LaunchedConfigs | None:
        """`args.work_path + "/config.yaml"`, `f"{folder}/config.yaml"`, `os.path.join(folder,
        "config.yaml")` with a folder this module cannot resolve: any of the project's files of that
        name (config_data.named_configs), read as launch choices are (each must hold the key; the
        least number counts). BIGBALLON/CIFAR-ZOO (blind56): 41 `config.yaml` files of 250-1800
        epochs, one per `--work-path`."""
        name = _chosen_folder_file(node)
        if name is None or self.path is None:
            return None
        folder = self._path_of(_folder_part(node), depth + 1)
        if isinstance(folder, str):
            return None  # the folder is known: the ordinary join reads the one file
        root = project_root(self.path.parent)
        files = named_configs(root, name)
        if not files:
            return None
        shown = [path.relative_to(root).as_posix() for path in files]
        return LaunchedConfigs(tuple((s, s) for s in shown), name, f"{len(shown)} `{name}` files of the project")

    # -- Hydra ----------------------------------------------------------------------------------
    def _hydra(self, decorator: tuple[str, str], rest: Key) -> ConfigValue | None:
        if self.path is None or not rest and not self._whole_trees:
            return None
        config_path, config_name = decorator
        root = project_root(self.path.parent)
        directory = (self.path.parent / config_path).resolve()
        if not inside(directory, root):
            return None
        layers = hydra_layers(directory, config_name, root)
        if not all(self._covered(config.path, root) for _, config in layers):
            return None  # the cache would not see an edit of the uncovered file
        if not rest:
            return _composed(layers)
        for prefix, config in reversed(layers):
            if rest[: len(prefix)] != prefix:
                continue
            found = _file_entry(config, rest[len(prefix):], rest)
            if found is not None:
                dotted = ".".join(str(p) for p in rest)
                return ConfigValue(found.value, f"{found.source} (Hydra: override with `{dotted}=...`)")
        return None


def _chosen_folder_file(node: cst.BaseExpression) -> str | None:
    """The config file name of `folder + "/name.yaml"`, `f"{folder}/name.yaml"` or
    `os.path.join(folder, "name.yaml")`, else None."""
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
        tail = literal_value(node.right)
        return tail[1:] if isinstance(tail, str) and tail.startswith("/") and _CONFIG_NAME.match(tail[1:]) else None
    if isinstance(node, cst.FormattedString) and len(node.parts) == 2 and isinstance(node.parts[0], cst.FormattedStringExpression) \
            and isinstance(node.parts[1], cst.FormattedStringText):
        tail = node.parts[1].value
        return tail[1:] if tail.startswith("/") and _CONFIG_NAME.match(tail[1:]) else None
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "join" \
            and len(node.args) == 2 and not any(a.keyword or a.star for a in node.args):
        tail = literal_value(node.args[1].value)
        return tail if isinstance(tail, str) and _CONFIG_NAME.match(tail) else None
    return None


def _folder_part(node: cst.BaseExpression) -> cst.BaseExpression:
    """The folder half of what _chosen_folder_file recognised."""
    if isinstance(node, cst.BinaryOperation):
        return node.left
    if isinstance(node, cst.FormattedString):
        part = node.parts[0]
        return part.expression if isinstance(part, cst.FormattedStringExpression) else node
    return node.args[0].value if isinstance(node, cst.Call) else node


_CONFIG_NAME = re.compile(r"^[\w.-]{1,100}\.(ya?ml|json|toml)$", re.IGNORECASE)


def _file_entry(config: ConfigFile, rest: Key, full: Key | None = None) -> ConfigValue | None:
    value = navigate(config.data, rest)
    if value is NOT_LITERAL or isinstance(value, str) and (value.startswith("${") or value == "???"):
        return None
    shown_key = ".".join(str(p) for p in (full or rest)) or "the whole file"
    line = key_line(config, str(rest[-1])) if rest else None
    where = f"{config.shown}:{line}" if line else config.shown
    return ConfigValue(value, f"`{shown_key}: {data_text(value)}` in {where}")


def _composed(layers: list[tuple[Key, ConfigFile]]) -> ConfigValue | None:
    """The tree Hydra composes from its layers (later layers win, mappings merge key by key);
    interpolations stay as written (a length written as `${...}` is simply not a number)."""
    if not layers:
        return None
    tree: dict[str, Any] = {}
    for prefix, config in layers:
        if not isinstance(config.data, dict):
            continue
        target = tree
        for part in prefix:
            nested = target.get(part)
            target = target.setdefault(part, {}) if isinstance(nested, dict) or nested is None else {}
        _merge(target, config.data)
    primary = next((config for prefix, config in reversed(layers) if prefix == ()), layers[-1][1])
    return ConfigValue(tree, f"the Hydra config composed from {primary.shown}")


def _merge(into: dict[str, Any], data: dict[Any, Any]) -> None:
    for key, value in data.items():
        if key == "defaults":
            continue
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = copy.deepcopy(value)  # the loaded data is cached: never merge into it


def _bound_once(function: cst.FunctionDef) -> dict[str, cst.BaseExpression]:
    """The names the function (not a nested one) binds exactly once, to a plain assignment or a
    `with ... as name`: the locals a config-loading function reads its file through."""
    bound: dict[str, list[cst.BaseExpression]] = {}

    class _Locals(cst.CSTVisitor):
        def visit_Assign(self, node: cst.Assign) -> None:
            for target in node.targets:
                if isinstance(target.target, cst.Name):
                    bound.setdefault(target.target.value, []).append(node.value)

        def visit_WithItem(self, node: cst.WithItem) -> None:
            if node.asname is not None and isinstance(node.asname.name, cst.Name):
                bound.setdefault(node.asname.name.value, []).append(node.item)

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            if isinstance(node.target, cst.Name):
                bound.setdefault(node.target.value, []).extend([node.value, node.value])  # never once

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return node is function

    function.visit(_Locals())
    return {name: values[0] for name, values in bound.items() if len(values) == 1}
