"""One walk of a module for the config-value resolution (config_values.py): how each name is bound,
which keys are mutated, the argparse arguments, config classes and Hydra entry points."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import libcst as cst
from greenlint.rules.analysis.config_argparse import (
    argparse_dest,
    argument_default,
    option_strings,
)
from greenlint.rules.analysis.literals import NOT_LITERAL, keyword_arg, literal_value
from greenlint.rules.analysis.names import ImportTable, terminal_name
from greenlint.rules.analysis.tree import visit

Key = tuple[Any, ...]  # ("cfg", "data", "num_workers"): a root name, then attribute/subscript keys

# Method calls that change the object they are called on.
_MUTATORS = frozenset(
    {"update", "setdefault", "pop", "popitem", "clear", "merge_with", "merge_from_file", "merge_from_list",
     "merge_from_other_cfg", "__setattr__", "__setitem__", "set_defaults_from", "append", "extend", "insert",
     "remove", "freeze", "defrost", "override", "parse_args_into_dataclasses"}
)
_DATACLASS_DECORATORS = frozenset({"dataclass", "define", "frozen", "mutable", "s", "attrs", "dataclasses"})
_FIELD_CALLS = frozenset({"field", "ib", "attrib", "Field"})


def expression_key(node: cst.BaseExpression | None) -> Key | None:
    """`args.x` -> ("args", "x"); `cfg["a"][0]` -> ("cfg", "a", 0); `cfg.get("a")` -> ("cfg", "a")."""
    parts: list[Any] = []
    while True:
        if isinstance(node, cst.Name):
            parts.append(node.value)
            return tuple(reversed(parts))
        if isinstance(node, cst.Attribute):
            parts.append(node.attr.value)
            node = node.value
        elif isinstance(node, cst.Subscript):
            if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Index):
                return None
            key = literal_value(node.slice[0].slice.value)
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                return None
            parts.append(key)
            node = node.value
        elif (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Attribute)
            and node.func.attr.value == "get"
            and len(node.args) == 1
            and node.args[0].keyword is None
        ):
            key = literal_value(node.args[0].value)
            if not isinstance(key, str):
                return None
            parts.append(key)
            node = node.func.value
        else:
            return None


# calls that make another receiver of a parser's options: argument groups, the subcommands'
# action, and each subcommand's parser
_PARSER_CHILDREN = frozenset({"add_argument_group", "add_mutually_exclusive_group", "add_subparsers", "add_parser"})


@dataclass
class ConfigIndex:
    imports: ImportTable = field(default_factory=ImportTable)
    # every binding of a name: the bound expression, or None when it is not a plain `name = value`
    bindings: dict[str, list[cst.BaseExpression | None]] = field(default_factory=dict)
    mutated: set[Key] = field(default_factory=set)
    # (receiver name, call): `parser.add_argument(...)`, `parser.set_defaults(...)`
    add_argument: list[tuple[str, cst.Call]] = field(default_factory=list)
    set_defaults: list[tuple[str, cst.Call]] = field(default_factory=list)
    # class name -> field name -> (default expression, declared as a field default)
    classes: dict[str, dict[str, tuple[cst.BaseExpression, bool]]] = field(default_factory=dict)
    class_fields: dict[str, list[str]] = field(default_factory=dict)  # declared order, for positional args
    functions: dict[str, list[cst.FunctionDef]] = field(default_factory=dict)
    hydra_params: dict[str, tuple[str, str]] = field(default_factory=dict)  # parameter -> (config_path, config_name)
    # parameter name -> the functions that declare it; function name -> the calls `name(...)`
    params: dict[str, list[cst.FunctionDef]] = field(default_factory=dict)
    calls_by_name: dict[str, list[cst.Call]] = field(default_factory=dict)
    # `fire.Fire(train)` / `Fire(train)` calls: their function's parameters are options (config_fire.py)
    fire_calls: list[cst.Call] = field(default_factory=list)
    # `self.config = config` in any method of any class: attribute -> the assigned expressions
    # (None for an augmented or unpacking assignment); followed only when there is exactly one
    self_bindings: dict[str, list[cst.BaseExpression | None]] = field(default_factory=dict)

    @classmethod
    def of(cls, module: cst.Module, package: str | None = None) -> ConfigIndex:
        """`package`: the module's package when the project index knows it, so that `from .consts
        import DEFAULT_MODEL` resolves as the module facts resolve it (facts.py)."""
        index = cls(imports=ImportTable(package=package))
        visit(module, _Indexer(index))
        return index

    def bind(self, name: str, value: cst.BaseExpression | None) -> None:
        self.bindings.setdefault(name, []).append(value)

    def is_mutated(self, key: Key) -> bool:
        return any(key[: len(m)] == m or m[: len(key)] == key for m in self.mutated)

    # -- argparse ---------------------------------------------------------------------------
    def _receivers(self, parser: str) -> set[str]:
        """The parser, its argument groups (`g = parser.add_argument_group(...)`) and its
        subcommands' parsers (`sub = parser.add_subparsers(...)`, `train = sub.add_parser("train")`:
        `main.py train --early_stop 1000000`, qiuqiangkong/audioset_tagging_cnn). An option that two
        subcommands both define is two matches, so it stays unknown."""
        names = {parser}
        grown = True
        while grown:
            grown = False
            for name, values in self.bindings.items():
                if name in names or len(values) != 1 or not isinstance(values[0], cst.Call) \
                        or not isinstance(values[0].func, cst.Attribute):
                    continue
                func = values[0].func
                if func.attr.value in _PARSER_CHILDREN and terminal_name(func.value) in names:
                    names.add(name)
                    grown = True
        return names

    def argparse_call(self, parser: str, dest: str) -> cst.Call | None:
        """The one `add_argument` call of `parser` whose dest is `dest`, else None."""
        receivers = self._receivers(parser)
        matches = [call for receiver, call in self.add_argument if receiver in receivers and argparse_dest(call) == dest]
        return matches[0] if len(matches) == 1 else None

    def argparse_default(self, parser: str, dest: str) -> tuple[Any, str, str] | None:
        """(default value, the option as users type it, the option's literal as written) for the
        argument of `parser` whose dest is `dest`, or None when unknown."""
        receivers = self._receivers(parser)
        matches = [call for receiver, call in self.add_argument if receiver in receivers and argparse_dest(call) == dest]
        if len(matches) != 1:
            return None
        call = matches[0]
        value = argument_default(call)
        for receiver, defaults in self.set_defaults:
            if receiver == parser:
                if any(a.star for a in defaults.args):
                    return None
                override = keyword_arg(defaults, dest)
                if override is not None:
                    value = literal_value(override.value)
        if value is NOT_LITERAL:
            return None
        options = option_strings(call)
        first = options[0] if options else None
        raw = call.args[0].value.value if isinstance(call.args[0].value, cst.SimpleString) else dest
        return value, (first or dest), raw

    # -- classes -----------------------------------------------------------------------------
    def call_override(self, cls: str, call: cst.Call, name: str) -> Any:
        """The expression a constructor call passes for a field; None when it passes none;
        NOT_LITERAL when it cannot be told (`**kwargs`, `*args`)."""
        if any(a.star for a in call.args):
            return NOT_LITERAL
        arg = keyword_arg(call, name)
        if arg is not None:
            return arg.value
        positional = [a for a in call.args if a.keyword is None]
        order = self.class_fields.get(cls, [])
        if name in order and order.index(name) < len(positional):
            return positional[order.index(name)].value
        return None

    def function_parse_call(self, name: str) -> cst.Call | None:
        """`args = get_args()` where the module's one `get_args` ends in `return parser.parse_args()`
        (directly or through a name bound to it)."""
        defs = self.functions.get(name, [])
        if len(defs) != 1:
            return None
        returned = [n.value for n in _walk_returns(defs[0]) if n.value is not None]
        if len(returned) != 1:
            return None
        value = returned[0]
        if isinstance(value, cst.Name):
            bound = self.bindings.get(value.value, [])
            value = bound[0] if len(bound) == 1 else None
        if isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) and value.func.attr.value == "parse_args":
            return value
        return None


def parameter_arguments(function: cst.FunctionDef, name: str, calls: list[cst.Call]) -> list[cst.BaseExpression] | None:
    """What each call passes for parameter `name` (its default where a call passes nothing), or
    None when a call cannot be read (`*args`, `**kwargs`) or the parameter has no default to fall
    back on. Positional parameters are matched by position."""
    positional = [*function.params.posonly_params, *function.params.params]
    declared = [*positional, *function.params.kwonly_params]
    param = next((p for p in declared if p.name.value == name), None)
    if param is None:
        return None
    position = next((i for i, p in enumerate(positional) if p is param), None)
    passed: list[cst.BaseExpression] = []
    for call in calls:
        if any(a.star for a in call.args):
            return None
        arg = keyword_arg(call, name)
        given = [a for a in call.args if a.keyword is None]
        if arg is not None:
            passed.append(arg.value)
        elif position is not None and position < len(given):
            passed.append(given[position].value)
        elif param.default is not None:
            passed.append(param.default)
        else:
            return None
    return passed


def _walk_returns(function: cst.FunctionDef) -> list[cst.Return]:
    found: list[cst.Return] = []

    class _Returns(cst.CSTVisitor):
        def visit_Return(self, node: cst.Return) -> None:
            found.append(node)

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return node is function  # nested functions return for themselves

    visit(function, _Returns())
    return found


class _Indexer(cst.CSTVisitor):
    def __init__(self, index: ConfigIndex) -> None:
        super().__init__()
        self.index = index
        # innermost scope first: "class" or "function"; names bound directly in a class body are
        # class attributes, not names of the module
        self._scopes: list[str] = []

    @property
    def _class_depth(self) -> int:
        return 1 if self._scopes and self._scopes[-1] == "class" else 0

    def visit_Import(self, node: cst.Import) -> None:
        self.index.imports.add_import(node)
        for alias in node.names:
            name = alias.evaluated_alias or alias.evaluated_name.split(".", 1)[0]
            self.index.bind(name, None)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        self.index.imports.add_import_from(node)
        if not isinstance(node.names, cst.ImportStar):
            for alias in node.names:
                self.index.bind(alias.evaluated_alias or alias.evaluated_name, None)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.index.functions.setdefault(node.name.value, []).append(node)
        self.index.bind(node.name.value, None)
        params = [*node.params.posonly_params, *node.params.params, *node.params.kwonly_params]
        for param in params:
            self.index.params.setdefault(param.name.value, []).append(node)
        for decorator in node.decorators:
            hydra = _hydra_main(decorator.decorator, self.index.imports)
            if hydra is not None and params:
                self.index.hydra_params[params[0].name.value] = hydra
        self._scopes.append("function")

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._scopes.pop()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        if not self._scopes:
            self._collect_class(node)
        self._scopes.append("class")

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self._scopes.pop()

    def _collect_class(self, node: cst.ClassDef) -> None:
        is_data = any(terminal_name(_decorator_callee(d.decorator)) in _DATACLASS_DECORATORS for d in node.decorators)
        fields: dict[str, tuple[cst.BaseExpression, bool]] = {}
        order: list[str] = []
        body = node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
        for statement in body:
            if not isinstance(statement, cst.SimpleStatementLine):
                continue
            for small in statement.body:
                if isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                    order.append(small.target.value)
                    if small.value is not None:
                        fields[small.target.value] = (_field_default(small.value), is_data)
                elif isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name):
                    fields[small.targets[0].target.value] = (_field_default(small.value), is_data)
        for name in _self_assigned(node):  # set per instance: the class default is not the value
            fields.pop(name, None)
        self.index.classes[node.name.value] = fields
        self.index.class_fields[node.name.value] = order if is_data else []

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._target(target.target, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None and self._class_depth == 0:
            self._target(node.target, node.value)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._target(node.target, None)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._target(node.target, None)

    def visit_For(self, node: cst.For) -> None:
        self._target(node.target, None)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            # `with open("c.yaml") as f`: f is the opened file, for `yaml.safe_load(f)`
            self._target(node.asname.name, node.item if _is_open(node.item) else None)

    def visit_Del(self, node: cst.Del) -> None:
        self._target(node.target, None)

    def visit_Global(self, node: cst.Global) -> None:
        for item in node.names:
            self.index.bind(item.name.value, None)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if (func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else "") == "Fire":
            self.index.fire_calls.append(node)
        if isinstance(func, cst.Name):
            self.index.calls_by_name.setdefault(func.value, []).append(node)
            parser = self._add_argument_alias(func.value)
            if parser is not None:
                self.index.add_argument.append((parser, node))  # `arg = parser.add_argument; arg("--n-epochs", ...)`
        if isinstance(func, cst.Attribute):
            receiver = func.value
            attr = func.attr.value
            if attr == "add_argument" and isinstance(receiver, cst.Name):
                self.index.add_argument.append((receiver.value, node))
            elif attr == "set_defaults" and isinstance(receiver, cst.Name):
                self.index.set_defaults.append((receiver.value, node))
            elif attr in _MUTATORS:
                key = _namespace_owner(receiver) or expression_key(receiver)
                if key is not None:
                    self.index.mutated.add(key)
        elif isinstance(func, cst.Name) and func.value in ("setattr", "delattr") and node.args:
            key = expression_key(node.args[0].value)
            if key is not None:
                self.index.mutated.add(key[:1])
        if self.index.imports.resolve(func) in ("omegaconf.OmegaConf.update", "omegaconf.OmegaConf.set_struct") and node.args:
            key = expression_key(node.args[0].value)
            if key is not None:
                self.index.mutated.add(key[:1])

    def _add_argument_alias(self, name: str) -> str | None:
        """The parser of `arg` when the module binds it once, to `parser.add_argument`."""
        bound = self.index.bindings.get(name)
        if bound is None or len(bound) != 1 or not isinstance(bound[0], cst.Attribute):
            return None
        alias = bound[0]
        return alias.value.value if alias.attr.value == "add_argument" and isinstance(alias.value, cst.Name) else None

    def _target(self, target: cst.BaseExpression, value: cst.BaseExpression | None) -> None:
        if isinstance(target, cst.Name):
            owner = _namespace_owner(value) if value is not None else None
            if owner is not None:
                self.index.mutated.add(owner)  # `d = vars(args)`: what is done to `d` is not followed
            if self._class_depth == 0:
                self.index.bind(target.value, value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for position, element in enumerate(target.elements):
                # `args, _ = parser.parse_known_args()`: the first element is the namespace
                first = position == 0 and _is_parse_known_args(value)
                self._target(element.value, value if first else None)
        else:
            owner = _namespace_owner(target.value) if isinstance(target, cst.Subscript) else None
            key = owner or expression_key(target)
            if key is not None and len(key) == 2 and key[0] == "self" and isinstance(key[1], str):
                # `self.config = config`: an alias that `self.config.epochs` follows (config_values)
                self.index.self_bindings.setdefault(key[1], []).append(value)
            elif key is not None:
                self.index.mutated.add(key)


def _self_assigned(node: cst.ClassDef) -> set[str]:
    names: set[str] = set()

    class _SelfTargets(cst.CSTVisitor):
        def _add(self, target: cst.BaseExpression) -> None:
            if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and target.value.value == "self":
                names.add(target.attr.value)

        def visit_AssignTarget(self, target: cst.AssignTarget) -> None:
            self._add(target.target)

        def visit_AugAssign(self, target: cst.AugAssign) -> None:
            self._add(target.target)

        def visit_AnnAssign(self, target: cst.AnnAssign) -> None:
            self._add(target.target)

    visit(node, _SelfTargets())
    return names


def _is_open(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Call) and terminal_name(node.func) == "open"


def _is_parse_known_args(node: cst.BaseExpression | None) -> bool:
    return isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == "parse_known_args" and not node.args


def _decorator_callee(node: cst.BaseExpression) -> cst.BaseExpression:
    return node.func if isinstance(node, cst.Call) else node


def _field_default(value: cst.BaseExpression) -> cst.BaseExpression:
    """`field(default=0)`, `attr.ib(default=0)`, `Field(0)` -> `0`; `field(default_factory=C)` ->
    `C()`; anything else is its own default."""
    if isinstance(value, cst.Call) and terminal_name(value.func) in _FIELD_CALLS:
        default = keyword_arg(value, "default")
        if default is not None:
            return default.value
        factory = keyword_arg(value, "default_factory") or keyword_arg(value, "factory")
        if factory is not None and isinstance(factory.value, cst.Name):
            return cst.Call(func=factory.value)
        positional = [a for a in value.args if a.keyword is None and not a.star]
        if terminal_name(value.func) == "Field" and positional:
            return positional[0].value
        return cst.Name("__no_default__")
    return value


def _hydra_main(node: cst.BaseExpression, imports: ImportTable) -> tuple[str, str] | None:
    if not isinstance(node, cst.Call):
        return None
    name = imports.resolve(node.func) or ""
    if name != "hydra.main":
        return None
    path = keyword_arg(node, "config_path")
    config = keyword_arg(node, "config_name")
    path_value = literal_value(path.value) if path is not None else NOT_LITERAL
    config_value = literal_value(config.value) if config is not None else NOT_LITERAL
    if not isinstance(path_value, str) or not isinstance(config_value, str):
        return None
    return path_value, config_value


def _namespace_owner(node: cst.BaseExpression) -> Key | None:
    """The namespace whose attribute dict `node` is (`vars(opt)`, `opt.__dict__`): a change made
    through it changes every option of `opt`. Reading it (`yaml.dump(vars(opt), f)`, Person_reID's
    saved options) changes nothing, so only a mutation or an alias of it makes `opt` unknown."""
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "vars" and node.args:
        return expression_key(node.args[0].value)
    if isinstance(node, cst.Attribute) and node.attr.value == "__dict__":
        return expression_key(node.value)
    return None
