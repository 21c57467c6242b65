"""Where a module names its run's length: the settings long_run_evidence.py reads as steps or
epochs. Module constants and attribute assignments (`N_ITERS = 200000`, `cfg.max_iter = 90000`),
annotated class fields (tyro's and HfArgumentParser's dataclasses), argparse options at the value
the project's shell scripts launch them with (advisor/launch_scripts.py) or else at their default,
absl flags, string keyword arguments, and configured references (`cfg.optim.total_steps`) a config
file or argparse default gives a value. Split from long_run_evidence.py to keep it readable.
"""

from __future__ import annotations

import re

import libcst as cst
from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.config_argparse import option_strings
from greenlint.rules.analysis.experiment_facts import int_value
from greenlint.rules.analysis.literals import argument, resolved_value, string_value, value_source
from greenlint.rules.analysis.memo import once_per_module
from greenlint.rules.analysis.tree import walk

# setting names, compared lower-case with `-` as `_`
STEP_NAME = re.compile(r"^(n_|num_|max_|total_|train_|training_|nb_|num_train_|num_training_)?"
                        r"(iters?|itrs?|iterations?|steps|updates|train_steps|training_steps)$|"
                        r"^(max|total)_?(steps?|iters?|itrs?|iterations?)$")
EPOCH_NAME = re.compile(r"^(n_|num_|max_|total_|train_|training_|nb_|num_train_)?epochs?$|^n?epochs$|^epoch_?num$")
_ENVSTEP_NAME = re.compile(r"^(total_|num_|max_)?(env_)?(timesteps|env_steps|frames|total_frames)$")
KIMG_NAME = re.compile(r"^(total_)?kimg$")
# a cheap prefilter for _configured_references: any of the names above
_LENGTH_NAME = re.compile(r"iter|itr|step|update|epoch|timesteps|frames|kimg")


def settings(analysis: ModuleAnalysis) -> list[tuple[str, cst.BaseExpression | None, str]]:
    """(name, value, how the finding says it is set) for the module's named settings: assignments
    (`N_ITERS = 200000`, `cfg.max_iter = 90000`), annotated class fields (`total_timesteps: int =
    10000000` in an `Args` dataclass, tyro's and HfArgumentParser's style, `field(default=...)`
    too), argparse options (`--epochs`, default 300) and keyword arguments (`strategy="ddp"`)."""
    found: list[tuple[str, cst.BaseExpression | None, str]] = [
        (name, value, f"`{name}` is set to") for name, value in analysis.facts.assignments]
    found += [(name, value, f"`{name}` defaults to") for name, value in _annotated_fields(analysis)]
    aliases = _add_argument_aliases(analysis)
    for site in analysis.facts.calls:
        if (site.attr == "add_argument" or site.attr in aliases and not site.is_method_call) and site.node.args:
            flag = string_value(site.node.args[0].value) or ""
            if flag.startswith("-"):
                found.append(_launched(site.node, flag, analysis) or
                             (flag.lstrip("-"), argument(site.node, "default"), f"`{flag}` defaults to"))
        elif (site.attr or "").startswith("DEFINE_") and (site.qualname or "").startswith("absl.flags."):
            # absl: `flags.DEFINE_integer("total_steps", 800000, "...")`
            name = string_value(argument(site.node, "name", 0))
            if name:
                found.append(_launched_as((f"--{name}", f"-{name}"), name, analysis) or
                             (name, argument(site.node, "default", 1), f"flag `--{name}` defaults to"))
        for arg in site.node.args:
            if arg.keyword is not None and isinstance(arg.value, (cst.SimpleString, cst.ConcatenatedString)):
                found.append((arg.keyword.value, arg.value, f"`{arg.keyword.value}=`"))
    if any((site.qualname or "").endswith("HfArgumentParser") for site in analysis.facts.calls):
        found += _hf_launched(analysis)
    found += _configured_references(analysis)
    return found


def _hf_launched(analysis: ModuleAnalysis) -> list[tuple[str, cst.BaseExpression | None, str]]:
    """A script that parses `TrainingArguments` with `HfArgumentParser` takes its length from the
    command line: the length options its launches pass (`--max_steps 52000` in a README command,
    mymusise/ChatGLM-Tuning), whose fields live in the library's dataclass, not in the module."""
    context = analysis.facts.context
    found: list[tuple[str, cst.BaseExpression | None, str]] = []
    for option in [*context.launch_options, *context.launch_least]:
        if option.startswith("--") and unit_of(option[2:]):
            launched = _launched_as((option,), option[2:], analysis)
            if launched is not None:
                found.append(launched)
    return found


def _add_argument_aliases(analysis: ModuleAnalysis) -> frozenset[str]:
    """Names bound to a parser's `add_argument` (`arg = parser.add_argument`, then `arg("--n-epochs",
    type=int, default=100)`: lopuhin's Kaggle scripts)."""
    return frozenset(name for name, value in analysis.facts.assignments
                     if isinstance(value, cst.Attribute) and value.attr.value == "add_argument")


def _launched(call: cst.Call, flag: str, analysis: ModuleAnalysis) -> tuple[str, cst.BaseExpression, str] | None:
    """The number the project's shell scripts launch an option with (advisor/launch_scripts.py): the
    value every launch agrees on, else the smallest when every launch passes a different number (a
    lower bound on the run: `--max_train_steps=30000` in one script, `10000` in another)."""
    return _launched_as(option_strings(call), flag.lstrip("-"), analysis)


def _launched_as(options: tuple[str, ...] | list[str], name: str,
                 analysis: ModuleAnalysis) -> tuple[str, cst.BaseExpression, str] | None:
    context = analysis.facts.context
    for option in options:
        for known, phrase in ((context.launch_options, ""), (context.launch_least, " at least")):
            if option in known:
                text, where = known[option]
                try:
                    float(text)
                except ValueError:
                    return None
                return name, cst.parse_expression(text), f"`{option}` in the project's launch commands ({where}) is{phrase}"
    return None


@once_per_module
def _configured_references(analysis: ModuleAnalysis) -> list[tuple[str, cst.BaseExpression, str]]:
    """`cfg.optim.total_steps`, `config["trainer"]["max_steps"]` read anywhere in the module: the
    configuration (a YAML file, a Hydra tree, an argparse default; config_values.py) may give
    them a value, although no `range(...)` or trainer call uses them here."""
    found = []
    for node in walk(analysis.module):
        name = None
        if isinstance(node, cst.Attribute):
            name = node.attr.value
        elif isinstance(node, cst.Subscript) and len(node.slice) == 1:
            index = node.slice[0].slice
            name = string_value(index.value) if isinstance(index, cst.Index) else None
        if name and _LENGTH_NAME.search(name.lower()) and value_source(node):
            found.append((name, node, f"`{name}` is"))
    return found


@once_per_module
def _annotated_fields(analysis: ModuleAnalysis) -> list[tuple[str, cst.BaseExpression]]:
    fields = []
    for statement in analysis.module.body:
        if not isinstance(statement, cst.ClassDef):
            continue
        for line in statement.body.body:
            for small in line.body if isinstance(line, cst.SimpleStatementLine) else ():
                if isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name) and small.value is not None:
                    value = small.value
                    if isinstance(value, cst.Call) and (getattr(value.func, "value", None) == "field"
                                                        or getattr(getattr(value.func, "attr", None), "value", None) == "field"):
                        value = argument(value, "default")
                    if value is not None:
                        fields.append((small.target.value, value))
    return fields


def unit_of(name: str) -> str:
    """What a setting of this name counts: "steps", "epochs", "environment steps", "kimg" or ""."""
    key = name.lower().replace("-", "_")
    return ("steps" if STEP_NAME.match(key) else "epochs" if EPOCH_NAME.match(key) else
            "environment steps" if _ENVSTEP_NAME.match(key) else "kimg" if KIMG_NAME.match(key) else "")


def named_lengths(analysis: ModuleAnalysis):  # noqa: ANN202
    """Length settings by name: module constants (`N_ITERS = 200000`), attribute assignments
    (`cfg.max_iter = 90000`), argparse options (`--epochs`, default 300)."""
    for name, value, said in settings(analysis):
        unit = unit_of(name)
        if not unit or value is None:
            continue
        count = count_of(value, analysis)
        if count is not None and count > 0:
            yield count, unit, f"{said} {count:,}" + _line_of(value, analysis)


def count_of(node: cst.BaseExpression | None, analysis: ModuleAnalysis) -> int | None:
    """An int written out or configured (`10e6` too: a float count of environment steps; `"200"`:
    argparse applies `type=int` to a string default)."""
    if node is None:
        return None
    count = int_value(node, analysis.facts)
    if count is None:
        value = resolved_value(node)
        if isinstance(value, float) and value.is_integer():
            count = int(value)
        elif isinstance(value, str) and value.strip().isdigit():
            count = int(value.strip())
    return count if count is None or count < 10**12 else None


def _line_of(node: cst.BaseExpression, analysis: ModuleAnalysis) -> str:
    source = value_source(node)
    return f" ({source})" if source else ""
