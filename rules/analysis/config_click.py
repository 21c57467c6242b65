"""click's own rules for `@click.option(...)` decorators read statically: which option fills a
parameter of the decorated command, and its default. The click counterpart of config_argparse.py
(databrickslabs/dolly's trainer: `@click.option("--input-model", default=DEFAULT_INPUT_MODEL)` on
`main(**kwargs)` -> `train(input_model=...)`, blind27). Nothing is run: flags, `multiple=True` and
callbacks are unknown."""

from __future__ import annotations

import libcst as cst
from greenlint.rules.analysis.config_argparse import option_strings
from greenlint.rules.analysis.literals import keyword_arg

_UNKNOWN_KEYWORDS = ("is_flag", "multiple", "callback", "count", "nargs", "required", "prompt")


def click_option(function: cst.FunctionDef, parameter: str, resolve) -> tuple[cst.Call, list[str]] | None:  # noqa: ANN001 - ImportTable.resolve
    """The `@click.option(...)` call that fills `parameter` of `function`, with its option strings
    (`["--input-model"]`); None when no such decorator, or it is one whose value is unknown here."""
    for decorator in function.decorators:
        call = decorator.decorator
        if not isinstance(call, cst.Call) or resolve(call.func) != "click.option":
            continue
        names = option_strings(call)  # click's option strings are written as argparse's
        if names and _parameter_name(names) == parameter:
            if any(keyword_arg(call, name) is not None for name in _UNKNOWN_KEYWORDS):
                return None
            return call, [n for n in names if n.startswith("-")]
    return None


def _parameter_name(names: list[str]) -> str:
    """click's rule: a name without dashes is the parameter's; else the first long option, else the
    first short one, dashes stripped, `-` -> `_`, lower case."""
    plain = [n for n in names if not n.startswith("-")]
    if plain:
        return plain[0]
    long = [n for n in names if n.startswith("--")]
    chosen = (long or names)[0]
    return chosen.lstrip("-").replace("-", "_").lower()


def forwarding_commands(name: str, functions: list[cst.FunctionDef]) -> list[cst.FunctionDef]:
    """The functions among `functions` that take `**kwargs` and hand them on to `name(**kwargs)`:
    the click command whose options fill `name`'s parameters (dolly's `main(**kwargs)` calling
    `train(**kwargs)`)."""
    found = []
    for function in functions:
        star = function.params.star_kwarg
        if star is None:
            continue
        kwargs = star.name.value
        for node in _calls_in(function.body):
            if isinstance(node.func, cst.Name) and node.func.value == name and any(
                    arg.star == "**" and isinstance(arg.value, cst.Name) and arg.value.value == kwargs for arg in node.args):
                found.append(function)
                break
    return found


def _calls_in(node: cst.CSTNode):  # noqa: ANN202 - an iterator of calls
    todo = [node]
    while todo:
        current = todo.pop()
        if isinstance(current, cst.Call):
            yield current
        todo.extend(current.children)
