"""A fine-tune of a language model of a billion parameters or more: `from_pretrained(
"meta-llama/Llama-2-7b-hf")`, or a model-name setting that defaults to one. Evidence of a long run
for the long-run detection (long_run_evidence.py): such a model's steps take seconds each."""

from __future__ import annotations

import re

from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.literals import NOT_LITERAL, argument, resolved_value, string_value

# a billion parameters: `7b`, `13B`, `1.3b`, `pythia-12b` (not `b` of a version string: `v1b` is rare)
MIN_BILLIONS = 1.0
_BILLIONS = re.compile(r"(?<![a-z0-9.])(\d+(?:\.\d+)?)\s*b(?![a-z0-9])", re.IGNORECASE)
_MODEL_SETTING = re.compile(r"model|checkpoint|base|llm", re.IGNORECASE)


def large_language_model(analysis: ModuleAnalysis, heavy: bool) -> str:
    """`from_pretrained("meta-llama/Llama-2-7b-hf")`, or a model-name setting (argparse, click) that
    defaults to one."""
    names: list[str] = []
    for site in analysis.facts.calls:
        if site.attr == "from_pretrained":
            value = resolved_value(argument(site.node, "pretrained_model_name_or_path", 0))
            if isinstance(value, str):
                names.append(value)
        elif (site.attr == "add_argument" or site.qualname == "click.option") and site.node.args:
            flag = string_value(site.node.args[0].value) or ""
            # a click default is often a constant of the project (`default=DEFAULT_INPUT_MODEL`)
            default = string_value(argument(site.node, "default")) if site.attr == "add_argument" else resolved_value(
                argument(site.node, "default"))
            if isinstance(default, str) and default and _MODEL_SETTING.search(flag):
                names.append(default)
        elif site.attr == "field" and site.qualname == "dataclasses.field":
            default = resolved_value(argument(site.node, "default"))
            if isinstance(default, str) and "/" in default:
                names.append(default)
    for name in names:
        billions = [float(m.group(1)) for m in _BILLIONS.finditer(name.rsplit("/", 1)[-1])]
        if billions and max(billions) >= MIN_BILLIONS and value_is_model_name(name):
            return f"fine-tuning `{name}`, a language model of {max(billions):g} billion parameters"
    return ""


def value_is_model_name(name: str) -> bool:
    """A hub id or checkpoint name, not a sentence that happens to hold `7b`."""
    return " " not in name.strip() and len(name) < 200 and name is not NOT_LITERAL
