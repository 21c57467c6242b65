"""Python Fire command lines: `fire.Fire(train)` makes every parameter of `train` a command-line
option (`--num_epochs 3`, `--num-epochs=3`), whose default is the parameter's default (session 16).

The alpaca-lora family of fine-tuning scripts (AGI-Edgerunners/LLM-Adapters' finetune.py, blind34)
declares its whole run this way: `def train(base_model: str = "", num_epochs: int = 3, ...)` then
`fire.Fire(train)`, launched as `torchrun ... finetune.py --base_model 'yahma/llama-7b-hf'`. Fire
parses a passed value as a Python literal when it can (`3` is an int, `'x'` a string) and keeps
the text otherwise; that is what `fired_value` does with a launch's text.
"""

from __future__ import annotations

import ast
from typing import Any

import libcst as cst

from greenlint.rules.analysis.literals import NOT_LITERAL


def fire_entry(function: cst.FunctionDef, fire_calls: list[cst.Call], resolve) -> bool:  # noqa: ANN001
    """Does the module hand `function` to `fire.Fire(...)`?"""
    for call in fire_calls:
        if resolve(call.func) != "fire.Fire" or not call.args:
            continue
        first = call.args[0].value
        if isinstance(first, cst.Name) and first.value == function.name.value:
            return True
    return False


def fire_options(name: str) -> tuple[str, str]:
    """The spellings a launch may use for parameter `name`."""
    return f"--{name}", f"--{name.replace('_', '-')}"


def fired_value(text: str) -> Any:
    """The value Fire gives a command-line word: a Python literal when it parses as one, else the text."""
    if any(mark in text for mark in "${"):
        return NOT_LITERAL
    if text == "":
        return True  # `--fp16` alone: Fire sets a flag to True
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text


def parameter_default(function: cst.FunctionDef, name: str) -> cst.BaseExpression | None:
    """The default expression of parameter `name` of `function`, if it has one."""
    params = function.params
    for param in [*params.params, *params.kwonly_params]:
        if param.name.value == name:
            return param.default
    return None
