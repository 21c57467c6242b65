"""The settings of a configuration a module hands over whole, where no line of the module names
them: a Hydra entry point's composed tree (`@hydra.main(...) def main(cfg)`), a config section
splatted into a call (`Trainer(**config["trainer_params"])`) or instantiated
(`hydra.utils.instantiate(config.trainer)`). The long-run detection (long_run_evidence.py) reads
run lengths from them: `trainer.max_steps: 1000000` in configs/trainer/default.yaml."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import libcst as cst
from greenlint.rules.analysis import ModuleAnalysis
from greenlint.rules.analysis.literals import resolved_mapping
from greenlint.rules.analysis.tree import walk


def handed_over_settings(analysis: ModuleAnalysis) -> Iterator[tuple[tuple[str, ...], Any, str]]:
    """(key path, value, the file it is in) for every leaf setting of every handed-over config,
    sections that are not the training run's (evaluation, sampling, warm-up, logging) left out."""
    for mapping, source, section in _handed_over_configs(analysis):
        for path, value in _length_entries(mapping, section):
            yield path, value, source


def _handed_over_configs(analysis: ModuleAnalysis) -> list[tuple[dict, str, tuple[str, ...]]]:
    """(mapping, the file it is in, the section's key path) for each whole config handed over."""
    found = []
    for node in walk(analysis.module):
        if isinstance(node, cst.FunctionDef) and node.params.params and any(
                _is_hydra_main(decorator.decorator) for decorator in node.decorators):
            found.append(_config_of(cst.Name(node.params.params[0].name.value)))
    for site in analysis.facts.calls:
        for arg in site.node.args:
            if arg.star == "**" or (site.attr == "instantiate" and arg is site.node.args[0] and not arg.star):
                found.append(_config_of(arg.value))
    return [entry for entry in found if entry[0]]


def _config_of(node: cst.BaseExpression) -> tuple[dict, str, tuple[str, ...]]:
    resolved = resolved_mapping(node)
    if resolved is None or not resolved[1]:
        return {}, "", ()  # unknown, or a dict literal (its keys are the module's own settings)
    mapping, source = resolved
    # a section of a file: "`trainer_params: {...}` in configs/vae.yaml:3"
    section = re.match(r"`([\w.\-]+): .*` in (\S+)$", source, re.DOTALL)
    if section:
        return mapping, section.group(2), tuple(section.group(1).split("."))
    return mapping, source, ()


def _is_hydra_main(decorator: cst.BaseExpression) -> bool:
    func = decorator.func if isinstance(decorator, cst.Call) else decorator
    return isinstance(func, cst.Attribute) and func.attr.value == "main" and isinstance(func.value, cst.Name) \
        and func.value.value == "hydra"


# Sections of a configuration whose lengths are not the training run's.
_NOT_TRAINING_SECTION = re.compile(r"eval|valid|^val|test|sampl|infer|predict|warmup|generat|callback|logg",
                                   re.IGNORECASE)


def _length_entries(mapping: dict, path: tuple[str, ...]):  # noqa: ANN202 - (key path, value) pairs
    if len(path) > 4:
        return
    for key, value in mapping.items():
        if not isinstance(key, str) or _NOT_TRAINING_SECTION.search(key):
            continue
        if isinstance(value, dict):
            yield from _length_entries(value, (*path, key))
        else:
            yield (*path, key), value
