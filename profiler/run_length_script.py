"""What one file's source says that the run-length reading needs (``ScriptStructure``): argparse
options and the names bound to ``parse_args()``, simple assignments, and HF / Lightning trainer
calls with their step and epoch keywords. The file is parsed with libcst, never imported or run."""

from __future__ import annotations

import os
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import libcst as cst
from greenlint.profiler.run_length_expr import Expr, ref_text, to_expr
from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.literals import string_value
from greenlint.rules.analysis.names import dotted_name
from libcst.metadata import MetadataWrapper, PositionProvider

MAX_SOURCE_BYTES = 2_000_000
_HF_ARGS_SUFFIXES = ("TrainingArguments", "SFTConfig", "DPOConfig", "GRPOConfig", "RewardConfig", "ORPOConfig", "KTOConfig")
_LIGHTNING_TRAINERS = frozenset({
    "lightning.Trainer", "lightning.pytorch.Trainer", "pytorch_lightning.Trainer",
    "lightning.pytorch.trainer.Trainer", "pytorch_lightning.trainer.Trainer",
    "lightning.pytorch.trainer.trainer.Trainer", "pytorch_lightning.trainer.trainer.Trainer",
})
_HF_KEYWORDS = ("max_steps", "num_train_epochs", "gradient_accumulation_steps")
_LIGHTNING_KEYWORDS = ("max_epochs", "max_steps", "accumulate_grad_batches", "limit_train_batches")


@dataclass
class ArgOption:
    option: str  # "--epochs"
    line: int
    default: Expr | None


@dataclass
class FrameworkCall:
    framework: str  # transformers | lightning
    file: str
    line: int
    call: str  # "TrainingArguments(...)"
    keywords: dict[str, Expr]


@dataclass(eq=False)
class ScriptStructure:
    """What one file's source says that the run-length reading needs."""

    file: str
    module: cst.Module | None
    analysis: ModuleAnalysis | None
    positions: Any = None
    argparse_options: dict[str, ArgOption] = field(default_factory=dict)  # dest -> option
    argparse_vars: set[str] = field(default_factory=set)  # names bound to a parse_args() result
    # name -> [(line, value expression, function name or "<module>")] for every simple assignment
    assignments: dict[str, list[tuple[int, Expr, str]]] = field(default_factory=dict)
    frameworks: list[FrameworkCall] = field(default_factory=list)
    error: str | None = None

    def line(self, node: cst.CSTNode) -> int:
        return self.positions[node].start.line

    def span(self, node: cst.CSTNode) -> tuple[int, int]:
        pos = self.positions[node]
        return pos.start.line, pos.end.line


def read_source(path: str) -> str:
    if os.path.getsize(path) > MAX_SOURCE_BYTES:
        raise ValueError(f"larger than {MAX_SOURCE_BYTES // 1_000_000} MB")
    with tokenize.open(path) as fh:  # honours a coding cookie, as Python does
        return fh.read()


def analyse(source: str, file: str) -> ScriptStructure:
    """Parse one file and collect its facts; a file that does not parse gives an empty structure."""
    try:
        module = cst.parse_module(source)
    except Exception as exc:  # noqa: BLE001 - libcst's ParserSyntaxError and friends
        return ScriptStructure(file, None, None, error=f"does not parse ({type(exc).__name__})")
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    structure = ScriptStructure(file, module, ModuleAnalysis.of(module), positions)
    _collect(structure)
    return structure


def _collect(s: ScriptStructure) -> None:
    module, facts = s.module, s.analysis.facts
    for site in facts.calls:
        call = site.node
        if site.attr == "add_argument":
            _collect_option(s, call)
        qualname = site.qualname or ""
        framework = None
        if qualname.startswith(("transformers.", "trl.")) and qualname.endswith(_HF_ARGS_SUFFIXES):
            framework, wanted = "transformers", _HF_KEYWORDS
        elif qualname in _LIGHTNING_TRAINERS:
            framework, wanted = "lightning", _LIGHTNING_KEYWORDS
        if framework is not None:
            keywords = {a.keyword.value: to_expr(a.value, module) for a in call.args
                        if a.keyword is not None and a.keyword.value in wanted}
            name = (dotted_name(call.func) or qualname).rsplit(".", 1)[-1]
            s.frameworks.append(FrameworkCall(framework, s.file, s.line(call), f"{name}(...)", keywords))
    for target, value, function in _simple_assignments(module):
        parsed = isinstance(value, cst.Call) and (dotted_name(value.func) or "").endswith((".parse_args", ".parse_known_args"))
        if parsed and isinstance(target, (cst.Tuple, cst.List)) and target.elements:
            target = target.elements[0].value  # `args, unknown = parser.parse_known_args()`
        name = ref_text(target)
        if name is None:
            continue
        if parsed:
            s.argparse_vars.add(name)
        s.assignments.setdefault(name, []).append((s.line(target), to_expr(value, module), function))


def _collect_option(s: ScriptStructure, call: cst.Call) -> None:
    strings = [string_value(a.value) for a in call.args if a.keyword is None and not a.star]
    strings = [x for x in strings if x]
    if not strings:
        return
    dest_arg = next((a for a in call.args if a.keyword is not None and a.keyword.value == "dest"), None)
    longs = [x for x in strings if x.startswith("--")]
    option = longs[0] if longs else strings[0]
    dest = string_value(dest_arg.value) if dest_arg is not None else None
    if dest is None:
        dest = option.lstrip("-").replace("-", "_")
    default_arg = next((a for a in call.args if a.keyword is not None and a.keyword.value == "default"), None)
    default = to_expr(default_arg.value, s.module) if default_arg is not None else None
    s.argparse_options[dest] = ArgOption(option, s.line(call), default)


def _simple_assignments(module: cst.Module) -> Iterator[tuple[cst.BaseExpression, cst.BaseExpression, str]]:
    """(target, value, enclosing function's name) for every single-target assignment."""
    stack: list[tuple[cst.CSTNode, str]] = [(module, "<module>")]
    while stack:
        node, function = stack.pop()
        if isinstance(node, cst.FunctionDef):
            function = node.name.value
        if isinstance(node, cst.Assign) and len(node.targets) == 1:
            yield node.targets[0].target, node.value, function
        elif isinstance(node, cst.AnnAssign) and node.value is not None:
            yield node.target, node.value, function
        stack.extend((child, function) for child in reversed(node.children))
