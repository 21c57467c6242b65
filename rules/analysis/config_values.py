"""The values a module's configuration gives its expressions, read statically (issue 13).

`args.num_workers` (argparse `add_argument` default), `cfg.num_workers` (dataclass/attrs field or
class attribute default), `NUM_WORKERS` / `CONFIG["amp"]` (a name bound once to a literal),
`cfg["data"]["num_workers"]` (a YAML/JSON/TOML file opened by a path the module spells out), `amp`
in `def train(amp=False)` when every call in the module passes the same known value, and
`cfg.data.num_workers` in a `@hydra.main(config_path=..., config_name=...)` function. Each resolved
value carries a phrase saying where it comes from, for messages.

Deliberate limits, so that nothing is guessed:
- a name is followed only when the module binds it exactly once (function parameters of the same
  name are taken to be that object: `def train(args)` in the script that parses `args`);
- an object passed to a function that changes it is not noticed (only changes written in the
  module at the object's own name: the common config-object idioms);
- any assignment to the key or to a part of it (`args.amp = True`, `cfg["data"] = ...`,
  `cfg.update(...)`, `setattr(cfg, ...)`, `vars(args)`) makes it unknown;
- `parse_args([...])` with arguments, `required=True`, a `type=` other than int/float/str applied to
  a string default, interpolations (`${...}`) and Hydra's `???` are unknown;
- Hydra: the primary config plus its defaults list (`- group: option`, `- name`), `_self_` last;
  packages other than the group's own or `_global_` are unknown.
Nothing is computed until a rule asks: most files never pay for this index. Reading config files
and Hydra trees is in config_file_values.py (a mixin of ConfigValues).
"""

from __future__ import annotations

import os
import traceback
from pathlib import Path

import libcst as cst
from greenlint.rules.config_data import navigate, short, subscripts
from greenlint.rules.analysis.config_file_values import CONFIG_LOADERS, MAX_DEPTH, ConfigFileReading, ConfigValue, LaunchedConfigs
from greenlint.rules.analysis.config_argparse import launched_value, option_strings
from greenlint.rules.analysis.config_click import click_option, forwarding_commands
from greenlint.rules.analysis.config_fire import fire_entry, fire_options, fired_value, parameter_default
from greenlint.rules.analysis.config_index import (
    ConfigIndex,
    Key,
    expression_key,
    parameter_arguments,
)
from greenlint.rules.linting_path import CURRENT_PATH, linting_path  # noqa: F401 (re-exported)
from greenlint.rules.project_context import EMPTY_CONTEXT, ProjectContext
from greenlint.rules.analysis.literals import NOT_LITERAL, keyword_arg, literal_value

# Objects that wrap a loaded mapping and give attribute access to the same values.
_WRAPPERS = frozenset(
    {"EasyDict", "edict", "Munch", "munchify", "DefaultMunch", "AttrDict", "Box", "ConfigDict", "DictConfig",
     "SimpleNamespace", "create", "Namespace", "dict", "deepcopy", "copy"}
)


# The file being linted, set by the engine around one file (the worker knows its path; the rules
# only see the module).
_CURRENT_PATH = CURRENT_PATH  # set by the engine around each file (linting_path.py)


class ConfigValues(ConfigFileReading):
    """`lookup(expression)` -> ConfigValue | None, for one module and the config files it reads."""

    def __init__(
        self, module: cst.Module, path: Path | None = None, text: str | None = None,
        context: ProjectContext = EMPTY_CONTEXT,
    ) -> None:
        self.module = module
        self._path = path
        self._text = text
        self._context = context  # other modules' constants, from the project index
        self._index: ConfigIndex | None = None
        self._line_cache: list[str] | None = None
        self._dependencies: set[Path] | None = None

    @classmethod
    def for_current_file(
        cls, module: cst.Module, text: str | None = None, context: ProjectContext = EMPTY_CONTEXT
    ) -> ConfigValues:
        """Without a path (text linted on its own) only in-module values resolve; no files are read."""
        return cls(module, _CURRENT_PATH.get(), text, context)

    @property
    def index(self) -> ConfigIndex:
        if self._index is None:
            context = self._context
            self._index = ConfigIndex.of(self.module, context.package if context.local_modules else None)
        return self._index

    @property
    def path(self) -> Path | None:
        # resolved on first use: most files never ask, and resolve() costs system calls
        if self._path is not None and not self._path.is_absolute():
            self._path = self._path.resolve()
        return self._path

    @property
    def shown(self) -> str:
        return self.path.name if self.path is not None else "this file"

    def lookup(self, node: cst.BaseExpression) -> ConfigValue | None:
        key = expression_key(node)
        if key is None and not _is_concatenation(node):
            return None
        try:
            found = self._resolve(key, 0) if key is not None else self._concatenated(node, 0)
        except Exception as exc:  # noqa: BLE001 - an unresolvable value is unknown, never a crash of the rule
            if os.environ.get("GREENLINT_DEBUG"):
                traceback.print_exception(exc)
            return None
        return found

    def mapping(self, node: cst.BaseExpression) -> ConfigValue | None:
        """`lookup`, where a bare Hydra config parameter (`cfg`) gives the whole composed tree; a
        result that is not a mapping is None. For questions about a whole configuration (how long
        does the run configured here last?), not about one key."""
        self._whole_trees = True
        try:
            found = self.lookup(node)
        finally:
            self._whole_trees = False
        return found if found is not None and isinstance(found.value, dict) else None

    # -- following names -----------------------------------------------------------------------
    def _resolve(self, key: Key, depth: int) -> ConfigValue | None:
        index = self.index
        root = key[0]
        if depth > MAX_DEPTH or not isinstance(root, str) or index.is_mutated(key):
            return None
        scoped = self._in_scope(root)
        if scoped is not None:  # a local or parameter of the config-loading function being read
            expression, scopes = scoped
            with self._using(scopes):
                return self._from_expression(expression, root, key[1:], depth + 1)
        if root in index.imports.bindings or (root in self._context.star_names and root not in index.bindings):
            return self._imported_constant(key)
        bound = index.bindings.get(root, [])
        if root == "self" and len(key) >= 2 and isinstance(key[1], str):
            # `self.config.epochs` where a method set `self.config = config` once: the object bound
            # there (a name, an imported config, a parsed namespace), never a guess between two
            assigned = index.self_bindings.get(key[1], [])
            if len(assigned) != 1 or assigned[0] is None:
                return None
            return self._from_expression(assigned[0], f"self.{key[1]}", key[2:], depth + 1)
        if root in index.hydra_params:
            return self._hydra(index.hydra_params[root], key[1:]) if not bound else None
        if root in index.classes and not bound:
            return self._class_attribute(root, key[1:], depth)
        if not bound and root in index.params:
            return self._parameter(root, key[1:], depth)
        if len(bound) != 1 or bound[0] is None:
            return None
        return self._from_expression(bound[0], root, key[1:], depth + 1)

    def _imported_constant(self, key: Key) -> ConfigValue | None:
        """`config.NUM_WORKERS` or `from config import NUM_WORKERS`: another module's constant, as
        the project index read it (one import level; never guessed)."""
        if not all(isinstance(part, str) for part in key):
            return None
        root = str(key[0])
        base = self.index.imports.bindings.get(root) or self._context.star_names.get(root)
        if base is None:
            return None
        qualified = ".".join([base, *(str(part) for part in key[1:])])
        if qualified not in self._context.constants:
            return None
        value = self._context.constants[qualified]
        if len(key) > 1 and "." in base:
            # `from cfg import Cfg` then `Cfg.TRAIN_EPOCHS`: name the attribute as the config module sets it
            module, name = base.rpartition(".")[0], ".".join(str(part) for part in key)
        else:
            module, _, name = qualified.rpartition(".")
        return ConfigValue(value, f"`{name} = {short(value)}` in module `{module}`")

    def _concatenated(self, expr: cst.BaseExpression, depth: int) -> ConfigValue | None:
        """`path_model + "gemma2-9b-it-bf16"`: two strings, each written out or resolved (a Kaggle
        notebook's model folder joined with a checkpoint name)."""
        if not _is_concatenation(expr) or depth > MAX_DEPTH:
            return None
        parts = []
        for side in (expr.left, expr.right):  # type: ignore[attr-defined]
            literal = literal_value(side)
            if isinstance(literal, str):
                parts.append(ConfigValue(literal, ""))
                continue
            key = expression_key(side)
            found = self._resolve(key, depth + 1) if key is not None else self._concatenated(side, depth + 1)
            if found is None or not isinstance(found.value, str):
                return None
            parts.append(found)
        sources = "; ".join(part.source for part in parts if part.source)
        return ConfigValue(parts[0].value + parts[1].value, sources)

    def _from_expression(self, expr: cst.BaseExpression, name: str, rest: Key, depth: int) -> ConfigValue | None:
        if _is_concatenation(expr) and not rest:
            return self._concatenated(expr, depth + 1)
        literal = literal_value(expr)
        if literal is not NOT_LITERAL:
            value = navigate(literal, rest)
            if value is NOT_LITERAL:
                return None
            where = f"{self.shown}{self._line_suffix(name + ' =', name + ':')}"
            if not rest:
                return ConfigValue(value, f"`{name} = {short(literal)}` ({where})")
            return ConfigValue(value, f"`{name}{subscripts(rest)}` is {value!r} (set in `{name} = ...`, {where})")
        alias = expression_key(expr)
        if alias is not None and alias != (name,):
            return self._resolve(alias + rest, depth + 1)
        if not isinstance(expr, cst.Call):
            return None
        func = expr.func
        terminal = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else None
        if terminal in ("parse_args", "parse_known_args") and isinstance(func, cst.Attribute):
            if expr.args or not isinstance(func.value, cst.Name):
                return None  # explicit arguments: not the command line's defaults
            return self._argparse(func.value.value, rest)
        if terminal in _WRAPPERS and len(expr.args) == 1:
            return self._from_expression(expr.args[0].value, name, rest, depth + 1)
        qualname = self.index.imports.resolve(func)
        if qualname in CONFIG_LOADERS:
            return self._file_value(expr, rest, depth)
        if isinstance(func, cst.Name) and func.value in self.index.classes:
            return self._instance(func.value, expr, rest, depth)
        if qualname and not expr.args and rest and all(isinstance(part, str) for part in rest):
            # `cfg = Config()` with `Config` imported from a project module: its class defaults
            qualified = ".".join([qualname, *(str(part) for part in rest)])
            if qualified in self._context.constants:
                value = self._context.constants[qualified]
                module, _, cls = qualname.rpartition(".")
                return ConfigValue(value, f"`{cls}.{'.'.join(str(p) for p in rest)} = {short(value)}` in module `{module}`")
        if isinstance(func, cst.Name) and expr.args:
            return self._loaded_by_function(func.value, expr, rest, depth)
        if isinstance(func, cst.Name) and not expr.args:
            parse_call = self.index.function_parse_call(func.value)
            if parse_call is not None:
                return self._from_expression(parse_call, name, rest, depth + 1)
        return None

    # -- a function's parameter: the value every call of the module passes ---------------------
    def _parameter(self, name: str, rest: Key, depth: int) -> ConfigValue | None:
        """`enabled=amp` in `def train(..., amp=False)` called as `train(amp=args.amp)`: known when
        the module declares one function with that parameter, calls it, and every call passes
        the same known value (a call that passes nothing uses the default)."""
        functions = self.index.params[name]
        if len(functions) != 1 or depth > MAX_DEPTH:
            return None
        function = functions[0]
        clicked = self._click_default(function, name, rest, depth) or self._fire_default(function, name, rest, depth)
        if clicked is not None:
            return clicked
        calls = self.index.calls_by_name.get(function.name.value, [])
        if not calls and name in self._context.caller_args and len(rest) <= 1:
            # `def train(args)` called from main.py with its parsed command line, or `def train(model,
            # epochs)` called as `train(model, args.epochs)` (project index: caller_arguments.py)
            found = self._context.caller_args[name].get(str(rest[0]) if rest else "")
            return ConfigValue(found[0], found[1]) if found is not None else None
        if len(self.index.functions.get(function.name.value, [])) != 1 or not calls:
            return None  # a method, or a function only called from elsewhere: unknown callers
        passed = parameter_arguments(function, name, calls)
        if not passed:
            return None
        found: list[ConfigValue] = []
        for expr in passed:
            value = self._value_of(expr, rest, depth + 1)
            if value is None:
                return None
            found.append(value)
        if any(v.value != found[0].value or type(v.value) is not type(found[0].value) for v in found):
            return None
        configured = next((v for v in found if v.source), None)
        if configured is not None:
            return configured
        where = f"{self.shown}{self._line_suffix(f'def {function.name.value}(')}"
        return ConfigValue(found[0].value, f"`{function.name.value}({name}={found[0].value!r})` ({where})")

    def _click_default(self, function: cst.FunctionDef, name: str, rest: Key, depth: int) -> ConfigValue | None:
        """`@click.option("--epochs", type=int, default=3)` on the function: the value a launch in
        the project's scripts passes (converted as click would), else the default."""
        resolve = self.index.imports.resolve
        found = click_option(function, name, resolve)
        if found is None and function.params.star_kwarg is None:
            commands = forwarding_commands(function.name.value, [f for fs in self.index.functions.values() for f in fs])
            found = next((c for c in (click_option(command, name, resolve) for command in commands) if c), None)
        if found is None:
            return None
        call, options = found
        for option in options:
            launched = self._context.launch_options.get(option)
            if launched is not None:
                text, where = launched
                value = launched_value(call, text) if not any(c in text for c in "${") else NOT_LITERAL
                if value is NOT_LITERAL or rest:
                    return None
                return ConfigValue(value, f"`{option} {text}` in {where}")
        default = keyword_arg(call, "default")
        if default is None:
            return None
        value = self._value_of(default.value, rest, depth + 1)
        if value is None:
            return None
        shown = options[0] if options else name
        where = f"{self.shown}{self._line_suffix(repr(shown)[1:-1])}"
        return ConfigValue(value.value, f"`{shown}` defaults to {short(value.value)} ({value.source or where})")

    def _fire_default(self, function: cst.FunctionDef, name: str, rest: Key, depth: int) -> ConfigValue | None:
        """`fire.Fire(train)`: the value a launch passes as `--name`, else the parameter's default."""
        if rest or not self.index.fire_calls or not fire_entry(function, self.index.fire_calls, self.index.imports.resolve):
            return None
        for option in fire_options(name):
            launched = self._context.launch_options.get(option)
            if launched is not None:
                value = fired_value(launched[0])
                return None if value is NOT_LITERAL else ConfigValue(value, f"`{option} {launched[0]}` in {launched[1]}")
        default = parameter_default(function, name)
        value = self._value_of(default, rest, depth + 1) if default is not None else None
        if value is None:
            return None
        where = f"{self.shown}{self._line_suffix(f'def {function.name.value}(')}"
        return ConfigValue(value.value, f"`--{name}` defaults to {short(value.value)} ({value.source or where})")

    def _value_of(self, expr: cst.BaseExpression, rest: Key, depth: int) -> ConfigValue | None:
        literal = literal_value(expr)
        if literal is not NOT_LITERAL:
            value = navigate(literal, rest)
            return None if value is NOT_LITERAL else ConfigValue(value, "")
        key = expression_key(expr)
        return self._resolve(key + rest, depth) if key is not None else None

    # -- argparse ---------------------------------------------------------------------------
    def _argparse(self, parser: str, rest: Key) -> ConfigValue | None:
        if len(rest) != 1 or not isinstance(rest[0], str):
            return None
        launched = self._launched(parser, rest[0])
        if launched is not None:
            return launched
        found = self.index.argparse_default(parser, rest[0])
        if found is None:
            return None
        value, option, raw = found
        return ConfigValue(value, f"`{option}` defaults to {value!r} ({self.shown}{self._line_suffix(raw)})")

    def _launched(self, parser: str, dest: str) -> ConfigValue | None:
        """The value the project's shell scripts launch this script with (`-e 1000` in train.sh),
        converted as argparse would (`type=int/float/str`, `store_true`); None when no script
        passes the option or the conversion is not one of those."""
        if not self._context.launch_options and not self._context.launch_configs:
            return None
        call = self.index.argparse_call(parser, dest)
        if call is None:
            return None
        for option in option_strings(call):
            if option in self._context.launch_configs:
                choices = self._context.launch_configs[option]
                shown = ", ".join(f"`{value}`" for value, _ in choices)
                return ConfigValue(LaunchedConfigs(choices, option), f"`{option}` is one of {shown} in the launch commands")
            if option in self._context.launch_options:
                text, where = self._context.launch_options[option]
                value = launched_value(call, text)
                if value is NOT_LITERAL:
                    return None
                return ConfigValue(value, f"`{option} {text}` in {where}")
        return None

    # -- classes: dataclass / attrs fields and plain class attributes -------------------------
    def _class_attribute(self, cls: str, rest: Key, depth: int, call: cst.Call | None = None) -> ConfigValue | None:
        if not rest or not isinstance(rest[0], str):
            return None
        field = self.index.classes[cls].get(rest[0])
        if field is None:
            return None
        node, is_default = field
        if call is not None:
            override = self.index.call_override(cls, call, rest[0])
            if override is NOT_LITERAL:
                return None
            if override is not None:
                value = literal_value(override)
                if value is NOT_LITERAL or len(rest) > 1:
                    return None
                return ConfigValue(value, f"`{cls}({rest[0]}={value!r})` ({self.shown})")
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value in self.index.classes:
            return self._instance(node.func.value, node, rest[1:], depth + 1)
        value = navigate(literal_value(node), rest[1:])
        if value is NOT_LITERAL:
            return None
        verb = "defaults to" if is_default else "is"
        return ConfigValue(value, f"`{cls}.{rest[0]}` {verb} {value!r} ({self.shown}{self._field_line(cls, rest[0])})")

    def _instance(self, cls: str, call: cst.Call, rest: Key, depth: int) -> ConfigValue | None:
        if depth > MAX_DEPTH:
            return None
        return self._class_attribute(cls, rest, depth + 1, call)

    # -- line numbers for messages (found in the text: no PositionProvider) -------------------
    def _lines(self) -> list[str]:
        if self._line_cache is None:
            self._line_cache = (self._text if self._text is not None else self.module.code).splitlines()
        return self._line_cache

    def _line_suffix(self, *needles: str) -> str:
        for row, line in enumerate(self._lines(), start=1):
            if any(needle in line for needle in needles):
                return f":{row}"
        return ""

    def _field_line(self, cls: str, field: str) -> str:
        lines = self._lines()
        start = next((i for i, line in enumerate(lines) if line.lstrip().startswith(f"class {cls}")), None)
        if start is None:
            return ""
        for row in range(start + 1, len(lines)):
            stripped = lines[row].lstrip()
            if stripped.startswith((f"{field}:", f"{field} =", f"{field}=")):
                return f":{row + 1}"
        return ""


def _is_concatenation(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add)
