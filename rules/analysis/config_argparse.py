"""argparse's own rules, applied to `add_argument(...)` calls read statically: the dest an argument
gets, its option strings, and its default (`store_true` -> False, `type=int` applied to a string
default, `required=True` -> unknown). Nothing is run: a `type=` other than int/float/str applied to a
string default is unknown, because argparse would call the user's function.
"""

from __future__ import annotations

from typing import Any

import libcst as cst
from greenlint.rules.analysis.literals import NOT_LITERAL, keyword_arg, literal_value


def option_strings(call: cst.Call) -> list[str]:
    options = []
    for arg in call.args:
        if arg.keyword is not None or arg.star:
            break
        value = literal_value(arg.value)
        if not isinstance(value, str):
            return []
        options.append(value)
    return options


def argparse_dest(call: cst.Call) -> str | None:
    """argparse's dest: `dest=`, else the first long option without its dashes and with `-` -> `_`,
    else the first short option, else the positional name."""
    explicit = keyword_arg(call, "dest")
    if explicit is not None:
        value = literal_value(explicit.value)
        return value if isinstance(value, str) else None
    options = option_strings(call)
    if not options:
        return None
    if not options[0].startswith("-"):
        return options[0]
    long = [o for o in options if o.startswith("--")]
    chosen = long[0] if long else options[0]
    return chosen.lstrip("-").replace("-", "_")


def argument_default(call: cst.Call) -> Any:
    def kw(name: str) -> Any:
        arg = keyword_arg(call, name)
        return None if arg is None else literal_value(arg.value)

    if any(a.star for a in call.args) or kw("required") is True:
        return NOT_LITERAL
    options = option_strings(call)
    if options and not options[0].startswith("-") and kw("nargs") not in ("?", "*"):
        return NOT_LITERAL  # a required positional
    default_arg = keyword_arg(call, "default")
    action = kw("action")
    if default_arg is None:
        if action == "store_true":
            return False
        if action == "store_false":
            return True
        return NOT_LITERAL  # None: argparse's default, never a useful setting
    value = literal_value(default_arg.value)
    if value is NOT_LITERAL or value is None:
        return NOT_LITERAL
    type_arg = keyword_arg(call, "type")
    if isinstance(value, str) and type_arg is not None:
        converter = type_arg.value.value if isinstance(type_arg.value, cst.Name) else None
        if converter not in ("int", "float", "str"):
            return NOT_LITERAL  # argparse would run the user's function on the default
        try:
            return {"int": int, "float": float, "str": str}[converter](value)
        except ValueError:
            return NOT_LITERAL
    return value


def launched_value(call: cst.Call, text: str) -> Any:
    """The value argparse gives an option passed as `text` on a command line (a shell script's
    launch): `type=int/float/str` applied, a missing `type` keeps the string; NOT_LITERAL for
    actions, `nargs` and any other converter."""
    if any(a.star for a in call.args):
        return NOT_LITERAL
    action = keyword_arg(call, "action")
    if text == "" and action is not None and isinstance(action.value, cst.SimpleString):
        # a flag passed without a value (`--fp16`): what its action stores
        return {"store_true": True, "store_false": False}.get(action.value.evaluated_value, NOT_LITERAL)
    if text == "":
        return NOT_LITERAL
    for name in ("action", "nargs"):
        if keyword_arg(call, name) is not None:
            return NOT_LITERAL
    type_arg = keyword_arg(call, "type")
    converter = "str" if type_arg is None else type_arg.value.value if isinstance(type_arg.value, cst.Name) else None
    if converter not in ("int", "float", "str"):
        return NOT_LITERAL
    try:
        return {"int": int, "float": float, "str": str}[converter](text)
    except ValueError:
        return NOT_LITERAL
