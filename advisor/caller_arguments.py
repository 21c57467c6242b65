"""The command-line namespace a module's functions receive from the script that calls them.

A common layout parses the options in `main.py` (`args = parser.parse_args()`) and hands the
namespace to a function or class of another module: `train(args)`, `Trainer(model, args)`. That
module reads `args.epochs`, `args.num_workers` ... but defines no option, so its own analysis
cannot know them (share020/dl: main.py's `--epochs` default 500; sotopia-lab/sotopia-rl: the
trainer class built with the namespace of scripts/train_sft.py, launched with `--num_epochs 500`).

For a linted file that parses nothing itself, this module reads (with `ast`, nothing is run) the
project files that import names from it and parse a command line; in each, it finds the calls of
those names that pass the parsed namespace (a name bound to `<parser>.parse_args()` or to a local
function returning it), and the value of every option as argparse would give it: the value every
launch of that script passes in the project's shell scripts (launch_scripts.py), else the
`add_argument` default. The result is keyed by the receiving parameter's name; a parameter that
two callers fill with different values for an option leaves that option out. Deliberately narrow:
`required=True`, a converter other than int/float/str, `parse_args([...])` with arguments, and any
option defined twice are unknown; at most _MAX_IMPORTERS callers are read.
"""

from __future__ import annotations

import ast
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from greenlint.project_index import ProjectIndex

_MAX_IMPORTERS = 8
_MAX_BYTES = 500_000
_CONVERTERS = {"int": int, "float": float, "str": str}
_UNKNOWN = object()
# parameter -> option dest -> (value, phrase naming where it is set)
Namespaces = dict[str, dict[str, tuple[Any, str]]]
# a caller's tree, the names it calls with its namespace, the namespace's names, its dispatch tables
_ParsedCaller = tuple[ast.Module, set[str], set[str], dict[str, list[str]]]


def caller_namespaces(index: ProjectIndex, path: Path, text: str) -> Namespaces:
    """What the callers' parsed namespaces hold, by the parameter of `path`'s function or class
    that receives them; {} when no caller passes one."""
    importers = [(importer, names) for importer, names in index.importers_of(path) if importer != path]
    stars = [importer for importer in index.star_importers_of(path) if importer != path]
    # only callers that parse a command line; each is read and parsed once per run (`_parsed_caller`)
    callers = []
    for importer, names in [*importers, *((s, None) for s in stars)][:_MAX_IMPORTERS]:
        parsed = _parsed_caller(index, importer)
        if parsed is None:
            continue
        caller, called, namespaces, dispatch = parsed
        # a caller that passes its namespace to none of this module's names needs no parse of it
        if any((name in names) if names is not None else (f"def {name}" in text or f"class {name}" in text) for name in called):
            callers.append((importer, names, caller, namespaces, dispatch))
    if not callers:
        return {}
    tree = _parse(text)
    if tree is None:
        return {}
    signatures = _signatures(tree)
    found: dict[str, list[dict[str, tuple[Any, str]]]] = {}
    for importer, imported, caller, namespaces, dispatch in callers:
        names = imported if imported is not None else {name for name in signatures if not name.startswith("_")}
        shown = index.relative_path(importer) or importer.name
        receivers = _receiving_parameters(caller, names, signatures, namespaces, dispatch)
        if not receivers:
            continue
        options = _options(caller, shown, index.launch_options_of(importer))
        for parameter, dest in receivers:
            if dest is None:
                found.setdefault(parameter, []).append(options)
            else:  # `train(model, args.epochs)`: the parameter is one option's value, keyed ""
                found.setdefault(parameter, []).append({"": options[dest]} if dest in options else {})
    namespaces: Namespaces = {}
    for parameter, option_sets in found.items():
        agreed = {
            dest: value for dest, value in option_sets[0].items()
            if all(dest in other and other[dest][0] == value[0] and type(other[dest][0]) is type(value[0]) for other in option_sets[1:])
        }
        if agreed:
            namespaces[parameter] = agreed
    return namespaces


def _parsed_caller(index: ProjectIndex, importer: Path) -> _ParsedCaller | None:
    """The tree of a project file that parses a command line and the names it calls with the parsed
    namespace or one of its options (None for any other file), memoised on the index: a script
    that imports ten modules is read once, not ten times."""
    memo: dict[Path, _ParsedCaller | None] = index.__dict__.setdefault("_caller_trees", {})
    if importer not in memo:
        found = None
        try:
            if importer.stat().st_size <= _MAX_BYTES:
                text = importer.read_text(encoding="utf-8", errors="replace")
                tree = _parse(text) if "parse_args" in text and "add_argument" in text else None
                if tree is not None:
                    namespaces = _namespace_names(tree)
                    # the dispatch tables once per caller: every module it imports asks about them
                    dispatch = _dispatch_tables(tree) if namespaces else {}
                    found = (tree, _namespace_calls(tree, namespaces, dispatch), namespaces, dispatch)
        except OSError:
            pass
        memo[importer] = found
    return memo[importer]


def _namespace_calls(tree: ast.Module, namespaces: set[str], dispatch: dict[str, list[str]]) -> set[str]:
    called: set[str] = set()
    for node in ast.walk(tree) if namespaces else ():
        if isinstance(node, ast.Call):
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                root = arg.value if isinstance(arg, ast.Attribute) else arg
                if isinstance(root, ast.Name) and root.id in namespaces:
                    called.update(_called_names(node, dispatch))
                    break
    return called


def _dispatch_tables(tree: ast.Module) -> dict[str, list[str]]:
    """`trainer = {'Synapse': trainer_synapse}`: names bound once to a dict literal whose values are
    all plain names, -> those names. A call `trainer[dataset_name](args, net)` calls one of them
    (Beckschen/TransUNet's train.py hands its namespace to trainer.py this way, blind40)."""
    tables: dict[str, list[str]] = {}
    counts: dict[str, int] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    counts[target.id] = counts.get(target.id, 0) + 1
                    value = node.value
                    if isinstance(value, ast.Dict) and value.values and all(isinstance(v, ast.Name) for v in value.values):
                        tables[target.id] = [v.id for v in value.values if isinstance(v, ast.Name)]
    return {name: called for name, called in tables.items() if counts[name] == 1}


def _called_names(call: ast.Call, dispatch: dict[str, list[str]]) -> list[str]:
    """The names a call may call: `train(...)` -> ["train"]; `trainer[key](...)` through a dispatch
    table -> every name of the table."""
    func = call.func
    if isinstance(func, ast.Name):
        return [func.id]
    if isinstance(func, ast.Subscript) and isinstance(func.value, ast.Name):
        return dispatch.get(func.value.id, [])
    return []


def _parse(text: str) -> ast.Module | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _signatures(tree: ast.Module) -> dict[str, list[str]]:
    """Top-level function name -> its parameters; class name -> its `__init__`'s without `self`."""
    found: dict[str, list[str]] = {}
    for statement in tree.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found[statement.name] = [a.arg for a in [*statement.args.posonlyargs, *statement.args.args]]
        elif isinstance(statement, ast.ClassDef):
            for method in statement.body:
                if isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)) and method.name == "__init__":
                    found[statement.name] = [a.arg for a in [*method.args.posonlyargs, *method.args.args]][1:]
    return found


def _is_parse_call(node: ast.AST) -> bool:
    """`parser.parse_args()` / `parser.parse_known_args()[0]` with no explicit argument list."""
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and node.slice.value == 0:
        node = node.value
    return (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("parse_args", "parse_known_args") and not node.args and not node.keywords
    )


def _namespace_names(tree: ast.Module) -> set[str]:
    """Names bound to the parsed command line: `args = parser.parse_args()`, or `args = get_args()`
    where `get_args` is a function of the module (or a method) returning the parse. One walk."""
    returns: set[int] = set()
    assignments: list[tuple[list[ast.expr], ast.expr]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Return) and node.value is not None and _is_parse_call(node.value):
            returns.add(id(node))
        elif isinstance(node, ast.Assign):
            assignments.append((node.targets, node.value))
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            assignments.append(([node.target], node.value))
    parsing_functions: set[str] = set()
    if returns:
        tops = [*tree.body, *(m for c in tree.body if isinstance(c, ast.ClassDef) for m in c.body)]
        for function in tops:
            if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(id(sub) in returns for sub in ast.walk(function)):
                parsing_functions.add(function.name)
    counts: dict[str, int] = {}
    parsed: set[str] = set()
    for targets, value in assignments:
        for target in targets:
            bound: ast.AST = value
            if isinstance(target, ast.Tuple) and target.elts and isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr == "parse_known_args":
                target, bound = target.elts[0], ast.Call(func=ast.Attribute(value=value.func.value, attr="parse_args"), args=[], keywords=[])
            if not isinstance(target, ast.Name):
                continue
            counts[target.id] = counts.get(target.id, 0) + 1
            if _is_parse_call(bound) or (
                isinstance(bound, ast.Call) and isinstance(bound.func, ast.Name) and bound.func.id in parsing_functions and not bound.args
            ):
                parsed.add(target.id)
    return {name for name in parsed if counts[name] == 1}


def _receiving_parameters(
    tree: ast.Module, imported: set[str], signatures: dict[str, list[str]], namespaces: set[str],
    dispatch: dict[str, list[str]],
) -> set[tuple[str, str | None]]:
    """(parameter, None) for the parameters of the imported functions/classes that this caller fills
    with its namespace, (parameter, dest) for those it fills with one option (`args.epochs`)."""
    if not namespaces:
        return set()
    receivers: set[tuple[str, str | None]] = set()

    def passed(node: ast.expr) -> tuple[bool, str | None]:
        if isinstance(node, ast.Name) and node.id in namespaces:
            return True, None
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in namespaces:
            return True, node.attr
        return False, None

    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        for name in _called_names(node, dispatch):
            parameters = signatures.get(name) if name in imported else None
            if parameters is None:
                continue
            for position, arg in enumerate(node.args):
                if isinstance(arg, ast.Starred) or position >= len(parameters):
                    break
                ok, dest = passed(arg)
                if ok:
                    receivers.add((parameters[position], dest))
            for keyword in node.keywords:
                ok, dest = passed(keyword.value) if keyword.arg in parameters else (False, None)
                if ok:
                    receivers.add((str(keyword.arg), dest))
    return receivers


def _options(tree: ast.Module, shown: str, launched: dict[str, tuple[str, str]]) -> dict[str, tuple[Any, str]]:
    """dest -> (value, phrase) for every option of the caller's parsers; an option defined twice
    (two parsers, sub-commands) is left out."""
    found: dict[str, tuple[Any, str]] = {}
    seen: set[str] = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "add_argument"):
            continue
        options = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
        if len(options) != len(node.args) or not options or not options[0].startswith("-"):
            continue
        keywords = {k.arg: k.value for k in node.keywords if k.arg is not None}
        dest = _dest(options, keywords)
        if dest is None:
            continue
        if dest in seen:
            found.pop(dest, None)
            continue
        seen.add(dest)
        value, phrase = _launched(options, keywords, launched)
        if value is _UNKNOWN:
            value = _default(keywords)
            phrase = f"`{options[-1]}` defaults to {value!r} ({shown}:{node.lineno}, which passes its parsed options here)"
        if value is not _UNKNOWN:
            found[dest] = (value, phrase)
    return found


def _dest(options: list[str], keywords: dict[str, ast.expr]) -> str | None:
    explicit = keywords.get("dest")
    if explicit is not None:
        return explicit.value if isinstance(explicit, ast.Constant) and isinstance(explicit.value, str) else None
    long = [o for o in options if o.startswith("--")]
    return (long[0] if long else options[0]).lstrip("-").replace("-", "_")


def _literal(node: ast.expr | None) -> Any:
    if node is None:
        return _UNKNOWN
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _UNKNOWN


def _converter(keywords: dict[str, ast.expr]) -> str | None:
    node = keywords.get("type")
    if node is None:
        return "str"
    return node.id if isinstance(node, ast.Name) and node.id in _CONVERTERS else None


def _default(keywords: dict[str, ast.expr]) -> Any:
    if _literal(keywords.get("required")) is True:
        return _UNKNOWN
    action = _literal(keywords.get("action"))
    if "default" not in keywords:
        return {"store_true": False, "store_false": True}.get(action, _UNKNOWN) if isinstance(action, str) else _UNKNOWN
    value = _literal(keywords["default"])
    if value is _UNKNOWN or value is None or not isinstance(value, (str, int, float, bool)):
        return _UNKNOWN
    if isinstance(value, str) and "type" in keywords:
        converter = _converter(keywords)
        if converter is None:
            return _UNKNOWN
        try:
            return _CONVERTERS[converter](value)
        except ValueError:
            return _UNKNOWN
    return value


def _launched(options: list[str], keywords: dict[str, ast.expr], launched: dict[str, tuple[str, str]]) -> tuple[Any, str]:
    """The value every launch script passes for the option, converted as argparse would."""
    if "action" in keywords or "nargs" in keywords:
        return _UNKNOWN, ""
    converter = _converter(keywords)
    for option in options:
        if option in launched and converter is not None:
            text, where = launched[option]
            try:
                return _CONVERTERS[converter](text), f"`{option} {text}` in {where}"
            except ValueError:
                return _UNKNOWN, ""
    return _UNKNOWN, ""
